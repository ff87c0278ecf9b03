// Builds dist/: the kernels with asc (one wasm per instruction-set variant), the JS bundles with
// esbuild (one per kind of runtime, chosen by package.json's `exports` conditions), the type
// declarations with tsc.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, cpSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
mkdirSync(`${root}dist`, { recursive: true });

const run = (script, args) => execFileSync(process.execPath, [`${root}${script}`, ...args], { cwd: root, stdio: 'inherit' });

// One kernel source, one wasm per instruction-set variant (asconfig.json's targets); src/runtime/module.ts
// picks the best that the runtime validates. Built in parallel: each asc run is single-threaded.
const execFileAsync = promisify(execFile);
await Promise.all(
  ['simd', 'relaxed', 'threads', 'relaxed-threads'].map((target) =>
    execFileAsync(process.execPath, [`${root}node_modules/assemblyscript/bin/asc.js`, 'assembly/index.ts', '--target', target], { cwd: root }),
  ),
);
// The default model's tokenizer and config ship next to the wasm (src/tasks/default-model.ts).
cpSync(`${root}assets/albert-base-v2`, `${root}dist/albert-base-v2`, { recursive: true });

/**
 * Browsers and workers have no node:* modules. The library imports them only lazily, on runtimes
 * with a file system, so here each becomes a module that throws if it is ever loaded: bundlers
 * downstream then never see a node:* import.
 */
const withoutNodeBuiltins = {
  name: 'without-node-builtins',
  setup(build) {
    build.onResolve({ filter: /^node:/ }, ({ path }) => ({ path, namespace: 'without-node-builtins' }));
    build.onLoad({ filter: /.*/, namespace: 'without-node-builtins' }, ({ path }) => ({
      contents: `throw new Error(${JSON.stringify(`${path} is not available in this runtime`)});\nexport {};`,
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  // The wasm file ships next to the bundles; src/runtime/module.ts resolves it against import.meta.url.
  define: { __ALBERT_WASM_PATH__: JSON.stringify('./albert.wasm') },
  logLevel: 'warning',
};

await Promise.all([
  // Node, Deno, Bun: the wasm is read from the package's files.
  esbuild.build({ ...common, entryPoints: [`${root}src/index.ts`], outfile: `${root}dist/index.js`, external: ['node:*'] }),
  // Browsers: the wasm is fetched and compiled while it streams in.
  esbuild.build({ ...common, entryPoints: [`${root}src/index.ts`], outfile: `${root}dist/browser.js`, plugins: [withoutNodeBuiltins] }),
  // Cloudflare workers: the wasm is imported as a module, which wrangler or workerd compiles at deploy time.
  esbuild.build({
    ...common,
    entryPoints: [`${root}src/workerd.ts`],
    outfile: `${root}dist/workerd.js`,
    external: ['./albert.wasm'],
    plugins: [withoutNodeBuiltins],
  }),
  esbuild.build({
    ...common,
    entryPoints: [`${root}src/cli.ts`],
    outfile: `${root}dist/cli.js`,
    external: ['node:*'],
    banner: { js: '#!/usr/bin/env node' },
  }),
]);
chmodSync(`${root}dist/cli.js`, 0o755);

run('node_modules/typescript/bin/tsc', ['-p', 'build/tsconfig.types.json']);

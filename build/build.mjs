// Builds dist/: the kernels with asc (one wasm module, SIMD), then the host bundles with esbuild.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
mkdirSync(`${root}dist`, { recursive: true });

execFileSync(process.execPath, [`${root}node_modules/assemblyscript/bin/asc.js`, 'assembly/index.ts', '--target', 'simd'], {
  cwd: root,
  stdio: 'inherit',
});

const common = {
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  // Node built-ins are imported lazily and only on Node-like runtimes.
  external: ['node:*'],
  // In the bundle the wasm file sits next to the JS; from sources it is in dist/.
  define: { __ALBERT_WASM_PATH__: JSON.stringify('./albert.wasm') },
  logLevel: 'warning',
};
await esbuild.build({ ...common, entryPoints: [`${root}src/index.ts`], outfile: `${root}dist/index.js` });
await esbuild.build({
  ...common,
  entryPoints: [`${root}src/cli.ts`],
  outfile: `${root}dist/cli.js`,
  banner: { js: '#!/usr/bin/env node' },
});
chmodSync(`${root}dist/cli.js`, 0o755);

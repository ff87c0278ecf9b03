// The figures of bench/RESULTS.md's "Bundle and cold start" section, printed as Markdown:
// - the size of what each runtime loads, raw and gzipped (level 9), next to onnxruntime-web (from
//   node_modules) and transformers.js (an unpacked `npm pack @huggingface/transformers`, if given);
// - cold starts: runtimes.test.ts records each runtime's timings in its tests' meta; this runs that
//   file `--runs` times (each run starts every runtime afresh) and takes the medians.
//
//   npm run build && CHROMIUM_PATH=/usr/bin/chromium node test/runtimes/measure.mjs [--runs 5] [--transformers dir]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { values: options } = parseArgs({ options: { runs: { type: 'string', default: '5' }, transformers: { type: 'string' } } });
if (!process.env.CHROMIUM_PATH) throw new Error('set CHROMIUM_PATH: the figures include Chromium');

const kib = (bytes) => (bytes / 1024).toFixed(1);
const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function sizeRow(what, files) {
  const bytes = files.map((file) => readFileSync(file));
  const raw = bytes.reduce((sum, b) => sum + b.length, 0);
  const gzip = bytes.reduce((sum, b) => sum + gzipSync(b, { level: 9 }).length, 0);
  return `| ${what} | ${kib(raw)} | ${kib(gzip)} |`;
}

const ort = (file) => join(root, 'node_modules/onnxruntime-web/dist', file);
const ortVersion = JSON.parse(readFileSync(join(root, 'node_modules/onnxruntime-web/package.json'), 'utf8')).version;
const sizes = [
  '| file(s) | raw (KiB) | gzip -9 (KiB) |',
  '| --- | --- | --- |',
  ...readdirSync(join(root, 'dist'))
    .filter((file) => file.endsWith('.wasm'))
    .map((file) => sizeRow(`albert-wasm \`dist/${file}\` (kernels)`, [join(root, 'dist', file)])),
  sizeRow('albert-wasm `dist/index.js` (Node, Deno, Bun)', [join(root, 'dist/index.js')]),
  sizeRow('albert-wasm `dist/browser.js` (browsers)', [join(root, 'dist/browser.js')]),
  sizeRow('albert-wasm `dist/workerd.js` (Cloudflare workers)', [join(root, 'dist/workerd.js')]),
  sizeRow(`onnxruntime-web ${ortVersion} \`ort-wasm-simd-threaded.wasm\` (its CPU kernels)`, [ort('ort-wasm-simd-threaded.wasm')]),
  sizeRow(`onnxruntime-web ${ortVersion} \`ort.wasm.bundle.min.mjs\` (its JS for the wasm backend)`, [ort('ort.wasm.bundle.min.mjs')]),
  sizeRow(`onnxruntime-web ${ortVersion} \`ort-wasm-simd-threaded.jsep.wasm\` (the kernels transformers.js loads)`, [ort('ort-wasm-simd-threaded.jsep.wasm')]),
];
if (options.transformers) {
  const version = JSON.parse(readFileSync(join(options.transformers, 'package.json'), 'utf8')).version;
  sizes.push(sizeRow(`transformers.js ${version} \`dist/transformers.web.min.js\``, [join(options.transformers, 'dist/transformers.web.min.js')]));
  sizes.push(sizeRow(`transformers.js ${version} \`dist/transformers.node.min.mjs\``, [join(options.transformers, 'dist/transformers.node.min.mjs')]));
}

/** coldStart metas by "runtime fixture", one per run. */
const samples = new Map();
const outDir = mkdtempSync(join(tmpdir(), 'albert-measure-'));
for (let run = 0; run < Number(options.runs); run++) {
  const report = join(outDir, `run-${run}.json`);
  execFileSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', 'test/runtimes/runtimes.test.ts', '--reporter=json', `--outputFile=${report}`], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (const test of JSON.parse(readFileSync(report, 'utf8')).testResults.flatMap((file) => file.assertionResults)) {
    if (test.status !== 'passed') throw new Error(`${test.fullName}: ${test.status}`);
    const meta = test.meta?.coldStart;
    if (!meta) continue;
    const key = `${test.ancestorTitles[0]} ${meta.fixture}`;
    samples.set(key, [...(samples.get(key) ?? []), meta]);
  }
}
rmSync(outDir, { recursive: true, force: true });

const coldStarts = [
  '| runtime | model | kernels | start → first result (ms) | import → first result (ms) | wasm memory (MiB) | process peak RSS (MiB) |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...[...samples].map(([key, metas]) => {
    const [runtime, fixture] = key.split(' ');
    const rss = metas[0].peakRssBytes === undefined ? '' : mib(median(metas.map((m) => m.peakRssBytes)));
    // workerd's clock stands still while code runs: its in-runtime time is I/O only.
    const inRuntime = runtime === 'workerd' ? 'n/a' : median(metas.map((m) => m.firstResultMs)).toFixed(0);
    return `| ${runtime} | ${fixture} | ${metas[0].kernels} | ${median(metas.map((m) => m.wallMs)).toFixed(0)} | ${inRuntime} | ${mib(metas[0].wasmMemoryBytes)} | ${rss} |`;
  }),
];

console.log([...sizes, '', `Cold starts, medians of ${options.runs} runs:`, '', ...coldStarts].join('\n'));

// Ours (the build Chromium selects, f32, one thread) against onnxruntime-web (wasm, one thread) in
// headless Debian Chromium, batch 1 × sequence 128, whole passes alternating in one page; prints the
// median of ours / onnxruntime-web over the pairs. bench/model.mjs runs Node and Deno only; Chromium,
// unlike Deno, gives wasm a trap handler, so neither side pays a bounds check per load there.
//
//   npm run build && node bench/chromium-f32.mjs [seconds, default 120]
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const seconds = Number(process.argv[2] ?? 120);
const root = fileURLToPath(new URL('..', import.meta.url));
const served = { '/dist/': `${root}dist/`, '/ort/': `${root}node_modules/onnxruntime-web/dist/`, '/fixture/': `${root}../shared/fixtures/base/` };
const types = { js: 'text/javascript', mjs: 'text/javascript', wasm: 'application/wasm', json: 'application/json' };

// The page: both models loaded, one warm-up pass each, then pairs in alternating order.
const page = `<!doctype html><script type="module">
import { AlbertModel } from '/dist/browser.js';
import * as ort from '/ort/ort.wasm.min.mjs';
window.measure = async (seconds) => {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/ort/';
  const model = await AlbertModel.load(location.origin + '/fixture/', { dtype: 'f32', threads: 1 });
  const session = await ort.InferenceSession.create('/fixture/model.onnx', { executionProviders: ['wasm'] });
  const [B, L] = [1, 128];
  const ids = new Int32Array(B * L);
  let s = 12345;
  for (let i = 0; i < ids.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    ids[i] = i % L === 0 ? 2 : i % L === L - 1 ? 3 : 5 + (s % 29000);
  }
  const feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [B, L]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(B * L).fill(1n), [B, L]),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(B * L), [B, L]),
  };
  const timed = async (run) => { const t = performance.now(); const data = await run(); return [performance.now() - t, data]; };
  const ours = () => timed(async () => (await model.forward({ input_ids: { data: ids, dims: [B, L] } }, { outputs: ['last_hidden_state'] })).last_hidden_state.data);
  const theirs = () => timed(async () => (await session.run(feeds)).last_hidden_state.data);
  const [[, a], [, b]] = [await ours(), await theirs()];
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  const times = { ours: [], ortWeb: [], ratio: [] };
  const started = performance.now();
  for (let pair = 0; performance.now() - started < seconds * 1000; pair++) {
    let x, y;
    if (pair % 2) [[y], [x]] = [await theirs(), await ours()];
    else [[x], [y]] = [await ours(), await theirs()];
    times.ours.push(x);
    times.ortWeb.push(y);
    times.ratio.push(x / y);
  }
  const median = (v) => [...v].sort((p, q) => p - q)[v.length >> 1];
  return { kernels: model.info.kernels, pairs: times.ratio.length, oursMs: median(times.ours), ortWebMs: median(times.ortWeb), ratio: median(times.ratio), maxDiff };
};
</script>`;

const server = createServer(async (request, response) => {
  const path = new URL(request.url, 'http://localhost').pathname;
  if (path === '/') return response.writeHead(200, { 'content-type': 'text/html' }).end(page);
  const prefix = Object.keys(served).find((p) => path.startsWith(p));
  try {
    const body = await readFile(served[prefix] + path.slice(prefix.length));
    response.writeHead(200, { 'content-type': types[path.split('.').pop()] ?? 'application/octet-stream' }).end(body);
  } catch {
    response.writeHead(404).end();
  }
}).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const tab = await browser.newPage();
  await tab.goto(`http://127.0.0.1:${server.address().port}/`);
  await tab.waitForFunction(() => typeof window.measure === 'function');
  const result = await tab.evaluate((s) => window.measure(s), seconds);
  const version = browser.version();
  console.log(`Chromium ${version}, ours (${result.kernels}) against onnxruntime-web, f32, one thread, B1 L128, ${result.pairs} pairs:`);
  console.log(`ours ${result.oursMs.toFixed(1)} ms, onnxruntime-web ${result.ortWebMs.toFixed(1)} ms (medians); ours / onnxruntime-web ${result.ratio.toFixed(3)} (median over pairs); max |ours − onnxruntime-web| ${result.maxDiff.toExponential(1)}`);
} finally {
  await browser.close();
  server.close();
}

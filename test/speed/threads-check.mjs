// fixtures/base in f32 on one thread and on two, in whichever runtime runs this script: Deno runs
// the relaxed-threads build, where Linear layers pack their input once for both threads
// (ParallelKernels.packsA). Prints one JSON object; test/speed/variants.test.ts judges it.
//
//   npx deno run --allow-read test/speed/threads-check.mjs
import { readFile } from 'node:fs/promises';

const root = new URL('../../', import.meta.url);
const fixture = new URL('../shared/fixtures/base/', root);
const { AlbertModel } = await import(new URL('dist/index.js', root).href);
const expected = JSON.parse(await readFile(new URL('expected.json', fixture), 'utf8'));
const one = await AlbertModel.load(fixture.pathname);
const two = await AlbertModel.load(fixture.pathname, { threads: 2 });

const bytes = (x) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
function sameBits(a, b) {
  const [x, y] = [bytes(a), bytes(b)];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

const report = { one: one.info.kernels, two: two.info.kernels, threads: two.info.threads, cases: {} };
for (const c of expected.cases) {
  const { input_ids, attention_mask, token_type_ids } = c.inputs;
  const inputs = { input_ids, ...(attention_mask ? { attention_mask } : {}), ...(token_type_ids ? { token_type_ids } : {}) };
  const outputs = ['last_hidden_state', 'pooler_output', 'logits'];
  const [a, b] = [await one.forward(inputs, { outputs }), await two.forward(inputs, { outputs })];
  const ref = c.outputs.last_hidden_state?.f64;
  let maxErr = 0;
  if (ref) b.last_hidden_state.data.forEach((v, i) => (maxErr = Math.max(maxErr, Math.abs(v - ref[i]))));
  report.cases[c.name] = { same: Object.fromEntries(outputs.map((name) => [name, sameBits(a[name].data, b[name].data)])), ...(ref && { maxErr }) };
}
one.dispose();
two.dispose();
console.log(JSON.stringify(report));
if (globalThis.Deno) Deno.exit(0);

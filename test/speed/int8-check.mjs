// dtype int8 on fixtures/base against our f32 and the PyTorch float64 reference, in whichever
// runtime runs this script (Node for the simd build, Deno for the relaxed one: Node 20 computes the
// relaxed int8 dot wrong before tier-up). Prints one JSON object; test/speed/variants.test.ts judges it.
//
//   node test/speed/int8-check.mjs [--kernels simd|relaxed|threads|relaxed-threads] [--threads n]
//   npx deno run --allow-read test/speed/int8-check.mjs --kernels relaxed
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

const root = new URL('../../', import.meta.url);
const fixture = new URL('../shared/fixtures/base/', root);
const { values } = parseArgs({
  args: globalThis.Deno ? Deno.args : process.argv.slice(2),
  options: { kernels: { type: 'string' }, threads: { type: 'string', default: '1' } },
});
const { AlbertModel } = await import(new URL('dist/index.js', root).href);
const expected = JSON.parse(await readFile(new URL('expected.json', fixture), 'utf8'));
const options = { kernels: values.kernels, threads: Number(values.threads) };
const f32 = await AlbertModel.load(fixture.pathname, options);
const int8 = await AlbertModel.load(fixture.pathname, { ...options, dtype: 'int8' });

function cosine(a, b) {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return dot / Math.sqrt(aa * bb);
}

const argmax = (row) => row.reduce((best, v, i) => (v > row[best] ? i : best), 0);

const H = f32.config.hiddenSize;
const V = f32.config.vocabSize;
const report = { kernels: int8.info.kernels, threads: int8.info.threads, weightBytes: { f32: f32.info.weightBytes, int8: int8.info.weightBytes }, cases: {} };
for (const c of expected.cases) {
  const { input_ids, attention_mask, token_type_ids } = c.inputs;
  const inputs = { input_ids, ...(attention_mask ? { attention_mask } : {}), ...(token_type_ids ? { token_type_ids } : {}) };
  const outputs = ['last_hidden_state', 'pooler_output', 'logits'];
  const [a, b] = [await f32.forward(inputs, { outputs }), await int8.forward(inputs, { outputs })];
  const valid = c.valid_positions.flat();
  let minCosineF32 = 1;
  let minCosineRef = 1;
  let maxErrF32 = 0;
  let argmaxSame = 0;
  let argmaxInTop5 = 0;
  let logitMaxErr = 0;
  let minLogitCosine = 1;
  const refArgmax = c.outputs.mlm.per_position.argmax_f64.flat();
  const ref = c.outputs.last_hidden_state?.f64;
  valid.forEach((isValid, t) => {
    if (!isValid) return;
    const x = a.last_hidden_state.data.subarray(t * H, (t + 1) * H);
    const y = b.last_hidden_state.data.subarray(t * H, (t + 1) * H);
    minCosineF32 = Math.min(minCosineF32, cosine(x, y));
    if (ref) {
      const r = ref.slice(t * H, (t + 1) * H);
      minCosineRef = Math.min(minCosineRef, cosine(y, r));
      for (let i = 0; i < H; i++) maxErrF32 = Math.max(maxErrF32, Math.abs(x[i] - r[i]) / Math.max(1, Math.abs(r[i])));
    }
    const logits = b.logits.data.subarray(t * V, (t + 1) * V);
    minLogitCosine = Math.min(minLogitCosine, cosine(a.logits.data.subarray(t * V, (t + 1) * V), logits));
    if (argmax(logits) === refArgmax[t]) argmaxSame++;
    const top = logits[argmax(logits)];
    if (logits.filter((v) => v > logits[refArgmax[t]]).length < 5) argmaxInTop5++;
    logitMaxErr = Math.max(logitMaxErr, Math.abs(top - c.outputs.mlm.per_position.max.f64.flat()[t]));
  });
  const tokens = valid.filter(Boolean).length;
  report.cases[c.name] = {
    tokens,
    minCosineF32,
    minCosineRef: ref ? minCosineRef : undefined,
    maxErrF32: ref ? maxErrF32 : undefined,
    poolerCosine: cosine(a.pooler_output.data, b.pooler_output.data),
    argmaxAgreement: argmaxSame / tokens,
    argmaxInTop5: argmaxInTop5 / tokens,
    minLogitCosine,
    logitMaxErr,
  };
}
f32.dispose();
int8.dispose();

// The relaxed int8 dot against the i16 dot of the simd build, on the same data: exact integer sums,
// so the same bits. Only where relaxed SIMD computes right. The row counts give the relaxed build's
// 5-row tiles every tail (29 = 5·5 + 4, then 3, 2, 1 and 7 = 5 + 2); k not a multiple of 4, and k
// whose padded length holds an odd number of the relaxed layout's groups of 16 (15 and 16: one; 50:
// three and a step of 4).
if (report.kernels.startsWith('relaxed')) {
  const instantiate = async (file) => (await WebAssembly.instantiate(await readFile(new URL(`dist/${file}`, root)), { env: { abort() {} } })).instance.exports;
  const [simd, relaxed] = [await instantiate('albert.wasm'), await instantiate('albert-relaxed.wasm')];
  simd.memory.grow(64);
  relaxed.memory.grow(64);
  report.relaxedGemmI8EqualsSimd = [[29, 768, 72], [3, 37, 45], [2, 3072, 8], [1, 4, 9], [7, 130, 17], [4, 15, 8], [5, 16, 3], [6, 50, 16]].every(([m, depth, n]) => {
    const [a, b] = [simd, relaxed].map((k) => int8Product(k, m, depth, n));
    return a.every((v, i) => Object.is(v, b[i]));
  });
}

console.log(JSON.stringify(report));

/** act(A·Wᵀ) through quantize_rows_u7 and gemm_i8 of one build, on data made here. */
function int8Product(k, m, depth, n) {
  const [w, a, packed, qa, qs, c] = [1 << 20, 2 << 20, 3 << 20, 3.5 * 2 ** 20, 3.9 * 2 ** 20, 4 << 20];
  const f32s = new Float32Array(k.memory.buffer);
  for (let i = 0; i < n * depth; i++) f32s[w / 4 + i] = Math.sin(i * 0.731) * 0.3;
  for (let i = 0; i < m * depth; i++) f32s[a / 4 + i] = Math.cos(i * 0.377) * 2 + (i % 97 === 0 ? 9 : 0);
  k.gemm_pack_b_i8(packed, w, n, depth);
  k.quantize_rows_u7(qa, qs, a, depth, m, depth);
  k.gemm_i8(c, n, qa, qs, m, depth, packed, n, 0, 1);
  return Array.from(new Float32Array(k.memory.buffer, c, m * n));
}

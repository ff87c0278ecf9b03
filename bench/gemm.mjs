// GOP/s of gemm_f32 and gemm_i8 (with its per-row quantization of A) at ALBERT-base shapes, batch 1
// and 8 at sequence 128 (M = 128 and 1024 rows), single thread, median (best) of several runs. Runs in
// Node and Deno:
//   node bench/gemm.mjs [simd|relaxed|threads]      (default simd; `npm run build` first)
//   npx deno run --allow-read --allow-env bench/gemm.mjs relaxed      (RUNS=n sets the runs)
// CHUNKS=12 also times the f32 product cut into 12 column chunks, as the thread pool cuts it for 2
// threads, run one after another on this thread: each chunk calling gemm_f32 (A packed again per
// chunk), and A packed once by gemm_pack_a_f32 for chunks of gemm_f32_packed_a (what the pool does on
// the relaxed build); both as time relative to one whole call.
// Node 20 validates the relaxed build only with --experimental-wasm-relaxed-simd, and its relaxed
// int8 dot is wrong until tier-up: time it there, never trust its values.
import { readFile } from 'node:fs/promises';

const args = globalThis.Deno ? Deno.args : process.argv.slice(2);
const variant = args[0] ?? 'simd';
const file = new URL(`../dist/${variant === 'simd' ? 'albert' : `albert-${variant}`}.wasm`, import.meta.url);
// The threads builds import a shared memory of at least 4 pages (asconfig.json); the others define their own.
const memory = new WebAssembly.Memory({ initial: 4, maximum: 65536, shared: true });
const { instance } = await WebAssembly.instantiate(await readFile(file), {
  env: { memory, abort() { throw new Error('wasm abort'); } },
});
const k = instance.exports;
const mem = k.memory ?? memory;

// Bump allocation above the module's own memory, as the host arena does.
let top = mem.buffer.byteLength;
function alloc(bytes) {
  const ptr = Math.ceil(top / 64) * 64;
  top = ptr + bytes;
  if (top > mem.buffer.byteLength) mem.grow(Math.ceil((top - mem.buffer.byteLength) / 65536));
  return ptr;
}

function fillRandom(ptr, count, seed) {
  const view = new Float32Array(mem.buffer, ptr, count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    view[i] = s / 2 ** 32 - 0.5;
  }
}

const ACT_NAMES = ['none', 'gelu_new'];
const layer = [
  { k: 768, n: 768, act: 0, label: 'attention out' },
  { k: 768, n: 2304, act: 0, label: 'fused QKV' },
  { k: 768, n: 3072, act: 1, label: 'FFN up, gelu_new epilogue' },
  { k: 3072, n: 768, act: 0, label: 'FFN down' },
];
// Batch 8 × 128 tokens: A (3 MB at k = 768) no longer fits in L2.
const shapes = [128, 1024].flatMap((m) => layer.map((shape) => ({ m, ...shape })));
const runs = Number(globalThis.process?.env.RUNS ?? 15);
const chunks = Number(globalThis.process?.env.CHUNKS ?? 1);

function time(once) {
  // Past the baseline tier: 20 calls, or 3 once they have taken half a second (M = 1024).
  const start = performance.now();
  for (let i = 0; i < 20 && (i < 3 || performance.now() - start < 500); i++) once();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    once();
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  return { median: times[times.length >> 1], best: times[0] };
}

/** Each variant's time over the baseline's, the median over runs that alternate them (noise falls on all alike). */
function relativeTimes(baseline, variants) {
  const all = [baseline, ...variants];
  for (let i = 0; i < 3; i++) all.forEach((f) => f());
  const ratios = variants.map(() => []);
  for (let r = 0; r < runs; r++) {
    const t = all.map((f) => {
      const t0 = performance.now();
      f();
      return performance.now() - t0;
    });
    variants.forEach((_, v) => ratios[v].push(t[v + 1] / t[0]));
  }
  return ratios.map((xs) => xs.sort((x, y) => x - y)[xs.length >> 1]);
}

console.log(`${variant} kernels, ${globalThis.Deno ? `Deno ${Deno.version.deno}` : `Node ${process.version}`}, median (best) of ${runs} runs`);
for (const { m, k: depth, n, act, label } of shapes) {
  const mark = top;
  const w = alloc(n * depth * 4);
  const a = alloc(m * depth * 4);
  const c = alloc(m * n * 4);
  const bias = alloc(n * 4);
  fillRandom(w, n * depth, 1);
  fillRandom(a, m * depth, 2);
  fillRandom(bias, n, 3);
  const packed = alloc(k.gemm_packed_b_size(n, depth) * 4);
  k.gemm_pack_b_f32(packed, w, n, depth);
  const packedI8 = alloc(k.gemm_i8_packed_b_size(n, depth));
  k.gemm_pack_b_i8(packedI8, w, n, depth);
  const qa = alloc(k.gemm_i8_packed_a_size(m, depth));
  const qs = alloc(m * 8);
  const ops = 2 * m * n * depth;
  const f32 = time(() => k.gemm_f32(c, n, a, depth, m, depth, packed, n, bias, act));
  const i8 = time(() => {
    k.quantize_rows_u7(qa, qs, a, depth, m, depth);
    k.gemm_i8(c, n, qa, qs, m, depth, packedI8, n, bias, act);
  });
  const rate = (t) => `${(ops / (t.median * 1e6)).toFixed(1)} (${(ops / (t.best * 1e6)).toFixed(1)})`;
  let chunked = '';
  if (chunks > 1) {
    const ap = alloc(k.gemm_packed_a_size(m, depth) * 4);
    const panels = Math.ceil(n / 8);
    const per = Math.ceil(panels / chunks);
    const eachChunk = (run) => {
      for (let p = 0; p < panels; p += per) run(p * 8, Math.min(n, (p + per) * 8) - p * 8, packed + p * depth * 32);
    };
    const [repacking, packedOnce] = relativeTimes(() => k.gemm_f32(c, n, a, depth, m, depth, packed, n, bias, act), [
      () => eachChunk((j, cols, bp) => k.gemm_f32(c + j * 4, n, a, depth, m, depth, bp, cols, bias + j * 4, act)),
      () => {
        k.gemm_pack_a_f32(ap, a, depth, m, depth);
        eachChunk((j, cols, bp) => k.gemm_f32_packed_a(c + j * 4, n, ap, m, depth, bp, cols, bias + j * 4, act));
      },
    ]);
    chunked = `; ${chunks} chunks ×${repacking.toFixed(3)}, A packed once ×${packedOnce.toFixed(3)}`;
  }
  console.log(`M=${m} K=${depth} N=${n} act=${ACT_NAMES[act]}: f32 ${rate(f32)} GFLOP/s, int8 ${rate(i8)} GOP/s${chunked} — ${label}${m > 128 ? ', batch 8' : ''}`);
  top = mark;
}

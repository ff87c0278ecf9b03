// GFLOP/s of gemm_f32 at ALBERT-base shapes (sequence 128), single thread, median of several runs.
// Usage: node bench/gemm.mjs [path/to/albert.wasm] (default dist/albert.wasm; build it first).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const wasmPath = process.argv[2] ?? fileURLToPath(new URL('../dist/albert.wasm', import.meta.url));
const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), {
  env: { abort() { throw new Error('wasm abort'); } },
});
const k = instance.exports;
const memory = k.memory;

// Bump allocation above the module's own memory, as the host arena does.
let top = memory.buffer.byteLength;
function alloc(floats) {
  const ptr = Math.ceil(top / 64) * 64;
  top = ptr + floats * 4;
  if (top > memory.buffer.byteLength) memory.grow(Math.ceil((top - memory.buffer.byteLength) / 65536));
  return ptr;
}

function fillRandom(ptr, count, seed) {
  const view = new Float32Array(memory.buffer, ptr, count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    view[i] = s / 2 ** 32 - 0.5;
  }
}

const ACT_NAMES = ['none', 'gelu_new', 'gelu'];
const shapes = [
  { m: 128, k: 768, n: 768, act: 0, label: 'attention out / QKV third' },
  { m: 128, k: 768, n: 3072, act: 0, label: 'FFN up' },
  { m: 128, k: 3072, n: 768, act: 0, label: 'FFN down' },
  { m: 128, k: 768, n: 3072, act: 1, label: 'FFN up, gelu_new epilogue' },
];
const runs = Number(process.env.RUNS ?? 15);

console.log(`gemm_f32 on ${process.version}, ${wasmPath}, median of ${runs} runs`);
for (const { m, k: depth, n, act, label } of shapes) {
  const mark = top;
  const w = alloc(n * depth);
  const packed = alloc(k.gemm_packed_b_size(n, depth));
  const a = alloc(m * depth);
  const c = alloc(m * n);
  const bias = alloc(n);
  fillRandom(w, n * depth, 1);
  fillRandom(a, m * depth, 2);
  fillRandom(bias, n, 3);
  k.gemm_pack_b_f32(packed, w, n, depth);
  const once = () => k.gemm_f32(c, n, a, depth, m, depth, packed, n, bias, act);
  for (let i = 0; i < 5; i++) once();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    once();
    times.push(performance.now() - t0);
  }
  times.sort((x, y) => x - y);
  const median = times[times.length >> 1];
  const gflops = (2 * m * n * depth) / (median * 1e6);
  console.log(
    `M=${m} K=${depth} N=${n} bias act=${ACT_NAMES[act]}: ${gflops.toFixed(1)} GFLOP/s ` +
      `(median ${median.toFixed(2)} ms, best ${((2 * m * n * depth) / (times[0] * 1e6)).toFixed(1)}) — ${label}`,
  );
  top = mark;
}

// Each wasm kernel against a plain float64 reference written here from the Hugging Face / PyTorch
// definitions. Inputs are placed so that the buffer a kernel must not overrun ends exactly at the end
// of linear memory: reading or writing past it traps instead of passing silently.
import { readFile } from 'node:fs/promises';
import { describe, expect, it, beforeAll } from 'vitest';

const WASM = process.env.ALBERT_WASM ?? new URL('../dist/albert.wasm', import.meta.url);

interface KernelExports {
  memory: WebAssembly.Memory;
  gemm_packed_b_size(n: number, k: number): number;
  gemm_pack_b_f32(dst: number, w: number, n: number, k: number): void;
  gemm_f32(c: number, ldc: number, a: number, lda: number, m: number, k: number, bp: number, n: number, bias: number, act: number): void;
  gemm_i8_packed_b_size(n: number, k: number): number;
  gemm_pack_b_i8(dst: number, w: number, n: number, k: number): void;
  gemm_i8_a_tile_rows(): number;
  gemm_i8_packed_a_size(m: number, k: number): number;
  quantize_rows_u7(qa: number, qs: number, a: number, lda: number, m: number, k: number): void;
  gemm_i8(c: number, ldc: number, qa: number, qs: number, m: number, k: number, bp: number, n: number, bias: number, act: number): void;
  activation_f32(x: number, n: number, act: number): void;
  layernorm_f32(out: number, x: number, residual: number, gamma: number, beta: number, rows: number, cols: number, eps: number): void;
  attention_scratch_size(seq: number, d: number): number;
  attention_f32(ctx: number, qkv: number, maskAdd: number, seq: number, hidden: number, heads: number, from: number, to: number, scratch: number): void;
  embed_f32(out: number, ids: number, types: number, tokens: number, seq: number, word: number, tokenType: number, position: number, dim: number): void;
}

let module: WebAssembly.Module;
beforeAll(async () => {
  module = await WebAssembly.compile(await readFile(WASM));
});

const PAGE = 65536;

/** A fresh instance per case, so `last` can put one buffer flush against the end of memory. */
async function instance() {
  const inst = await WebAssembly.instantiate(module, { env: { abort() { throw new Error('abort'); } } });
  const k = inst.exports as unknown as KernelExports;
  let top = k.memory.buffer.byteLength;
  const ensure = (end: number) => {
    const have = k.memory.buffer.byteLength;
    if (end > have) k.memory.grow(Math.ceil((end - have) / PAGE));
  };
  return {
    k,
    alloc(floats: number): number {
      const ptr = Math.ceil(top / 64) * 64;
      top = ptr + floats * 4;
      ensure(top);
      return ptr;
    },
    /** The final allocation: its last byte is the last byte of linear memory. */
    last(floats: number): number {
      ensure(top + floats * 4);
      top = k.memory.buffer.byteLength;
      return top - floats * 4;
    },
    f32: (ptr: number, n: number) => new Float32Array(k.memory.buffer, ptr, n),
    i32: (ptr: number, n: number) => new Int32Array(k.memory.buffer, ptr, n),
    /** Bytes as alloc'd in f32 units (rounded up). */
    bytes: (n: number) => Math.ceil(n / 4),
  };
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** The first index where |actual - expected| > tol(i), described; undefined when all are close. */
function mismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: (i: number) => number): string | undefined {
  if (actual.length !== expected.length) return `length ${actual.length}, expected ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol(i))) return `[${i}] = ${actual[i]}, expected ${expected[i]} (|diff| ${d.toExponential(2)} > ${tol(i).toExponential(2)})`;
  }
  return undefined;
}

// ---- float64 references ----

/** erf by the series 2/√π·e^(-x²)·Σ 2ⁿx^(2n+1)/(2n+1)!!: all terms positive, so no cancellation. */
function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  let term = ax;
  let sum = ax;
  for (let n = 1; term > 1e-17 * sum; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
}

/** transformers.activations.ACT2FN, by code. */
const ACT: Record<number, (x: number) => number> = {
  0: (x) => x,
  1: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  2: (x) => 0.5 * x * (1 + erf64(x / Math.SQRT2)),
  3: (x) => Math.max(x, 0),
  4: (x) => 0.5 * x * (1 + Math.tanh(0.7978845608 * x * (1 + 0.044715 * x * x))),
  5: (x) => x / (1 + Math.exp(-1.702 * x)),
  6: (x) => x / (1 + Math.exp(-x)),
  7: (x) => Math.tanh(x),
};
const ACT_CODES = [0, 1, 2, 3, 4, 5, 6, 7];

describe('reference erf', () => {
  it('matches known values (Python math.erf)', () => {
    const known: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [3.5, 0.9999992569016276],
      [-1.3, -0.9340079449406524],
    ];
    for (const [x, y] of known) expect(Math.abs(erf64(x) - y)).toBeLessThan(1e-15);
  });
});

describe('activation_f32', () => {
  // Dense over the range where the functions bend, plus tails, zero and subnormal-adjacent values.
  const xs = new Float32Array([
    ...Array.from({ length: 4001 }, (_, i) => -10 + i * 0.005),
    0, -0, 1e-30, -1e-30, 1e-7, -1e-7, 20, -20, 60, -60, 100, -100,
  ]);

  it.each(ACT_CODES)('act %i is within f32 rounding of the f64 definition', async (act) => {
    const { k, alloc, f32 } = await instance();
    const p = alloc(xs.length + 1);
    f32(p, xs.length + 1).set([...xs, 777]);
    k.activation_f32(p, xs.length, act);
    const want = Array.from(xs, ACT[act]);
    expect(mismatch(f32(p, xs.length), want, (i) => 1e-12 + 2 ** -23 * Math.abs(want[i]))).toBeUndefined();
    expect(f32(p + xs.length * 4, 1)[0], 'wrote past n').toBe(777);
  });
});

describe('gemm_f32', () => {
  interface Case { m: number; k: number; n: number; lda?: number; ldc?: number; bias?: boolean; act?: number; seed?: number }

  async function run({ m, k: depth, n, lda = depth, ldc = n, bias = true, act = 0, seed = 1 }: Case) {
    const inst = await instance();
    const { k, alloc, last, f32 } = inst;
    const a = randomF32((m - 1) * lda + depth, seed);
    const w = randomF32(n * depth, seed + 1);
    const b = bias ? randomF32(n, seed + 2, -2, 2) : undefined;
    // C has a guard row above and below the m×ldc block; each outside element must keep its value.
    const cLen = (m + 2) * ldc;
    const cBuf = alloc(cLen);
    const guard = randomF32(cLen, seed + 3, 100, 200);
    f32(cBuf, cLen).set(guard);
    const wPtr = alloc(w.length);
    f32(wPtr, w.length).set(w);
    const size = k.gemm_packed_b_size(n, depth);
    expect(size).toBeGreaterThanOrEqual(n * depth);
    const biasPtr = b ? alloc(n) : 0;
    if (b) f32(biasPtr, n).set(b);
    const bp = alloc(size);
    k.gemm_pack_b_f32(bp, wPtr, n, depth);
    // A is not padded: its last element is the last f32 of memory.
    const aPtr = last(a.length);
    f32(aPtr, a.length).set(a);
    k.gemm_f32(cBuf + ldc * 4, ldc, aPtr, lda, m, depth, bp, n, biasPtr, act);

    const got = f32(cBuf, cLen);
    const want = new Float64Array(cLen);
    const tol = new Float64Array(cLen);
    want.set(guard);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let mag = 0;
        for (let kk = 0; kk < depth; kk++) {
          const p = a[i * lda + kk] * w[j * depth + kk];
          s += p;
          mag += Math.abs(p);
        }
        if (b) {
          s += b[j];
          mag += Math.abs(b[j]);
        }
        const y = ACT[act](s);
        want[(i + 1) * ldc + j] = y;
        // f32 accumulation error scales with Σ|a·w|, not with the (possibly cancelled) sum.
        tol[(i + 1) * ldc + j] = 1e-5 * (1 + mag) * (act === 0 ? 1 : 1.2);
      }
    }
    return mismatch(got, want, (i) => tol[i]);
  }

  const sizes: Case[] = [
    { m: 1, k: 6, n: 2 },
    { m: 1, k: 1, n: 1 },
    { m: 2, k: 3, n: 9 },
    { m: 3, k: 5, n: 7 },
    { m: 7, k: 16, n: 3 },
    { m: 7, k: 36, n: 5 },
    { m: 61, k: 36, n: 36 },
    { m: 61, k: 128, n: 333 },
    { m: 5, k: 768, n: 36 },
    { m: 128, k: 6, n: 333 },
    { m: 128, k: 768, n: 768 },
    { m: 6, k: 128, n: 768 },
    { m: 2, k: 16, n: 30000 },
    { m: 7, k: 37, n: 13, lda: 50, ldc: 40 },
    { m: 61, k: 36, n: 36, lda: 108, ldc: 3 * 36 },
    { m: 4, k: 7, n: 17, lda: 9, ldc: 20, bias: false },
  ];
  it.each(sizes)('m=$m k=$k n=$n lda=$lda ldc=$ldc', async (c) => {
    expect(await run(c)).toBeUndefined();
  });
  it.each(sizes.filter((c) => c.m * c.n * c.k < 2e6))('without bias: m=$m k=$k n=$n', async (c) => {
    expect(await run({ ...c, bias: false, seed: 7 })).toBeUndefined();
  });
  it.each(ACT_CODES)('epilogue act %i, partial panel, ldc > n', async (act) => {
    expect(await run({ m: 9, k: 20, n: 37, lda: 23, ldc: 41, act, seed: 11 + act })).toBeUndefined();
    expect(await run({ m: 5, k: 64, n: 16, act, bias: false, seed: 31 + act })).toBeUndefined();
  });

  it('packing writes nothing past gemm_packed_b_size', async () => {
    const { k, alloc, last, f32 } = await instance();
    const w = alloc(333 * 36);
    f32(w, 333 * 36).set(randomF32(333 * 36, 5));
    k.gemm_pack_b_f32(last(k.gemm_packed_b_size(333, 36)), w, 333, 36);
  });

  it('a range of panels is a packed B: column ranges give the same bits (the thread split)', async () => {
    const { k, alloc, f32 } = await instance();
    const [m, depth, n] = [13, 40, 45];
    const a = alloc(m * depth);
    f32(a, m * depth).set(randomF32(m * depth, 41));
    const w = alloc(n * depth);
    f32(w, n * depth).set(randomF32(n * depth, 42));
    const bias = alloc(n);
    f32(bias, n).set(randomF32(n, 43));
    const bp = alloc(k.gemm_packed_b_size(n, depth));
    k.gemm_pack_b_f32(bp, w, n, depth);
    const whole = alloc(m * n);
    const parts = alloc(m * n);
    k.gemm_f32(whole, n, a, depth, m, depth, bp, n, bias, 1);
    const panelBytes = k.gemm_packed_b_size(8, depth) * 4;
    for (const [j0, j1] of [[0, 16], [16, 40], [40, 45]]) {
      k.gemm_f32(parts + j0 * 4, n, a, depth, m, depth, bp + (j0 / 8) * panelBytes, j1 - j0, bias + j0 * 4, 1);
    }
    expect(Array.from(f32(parts, m * n))).toEqual(Array.from(f32(whole, m * n)));
  });
});

/** Round half to even, as wasm's `nearest`. */
function nearest(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

describe('int8 GEMM: quantize_rows_u7, gemm_pack_b_i8, gemm_i8', () => {
  /**
   * The quantized rows as the kernel left them: u8 in tiles of 5 rows (relaxed builds: groups of 16 k,
   * rows 0–3 per 4 k then row 4's 16 k, and 4 k at a time past the last whole group), or rows of i16
   * one after another (the others).
   */
  function readQuantized(inst: Awaited<ReturnType<typeof instance>>, qa: number, qs: number, m: number, depth: number) {
    const tileRows = inst.k.gemm_i8_a_tile_rows();
    const padded = Math.ceil(depth / 4) * 4;
    const wide = tileRows === 1;
    const tiles = Math.ceil(m / tileRows);
    expect(inst.k.gemm_i8_packed_a_size(m, depth), `bytes for m ${m}, k ${depth}`).toBe(tiles * tileRows * padded * (wide ? 2 : 1));
    const buffer = inst.k.memory.buffer;
    const tileBytes = tileRows * padded;
    const rows = Array.from({ length: m }, (_, r) =>
      wide
        ? Array.from(new Int16Array(buffer, qa + r * 2 * padded, padded))
        : Array.from({ length: padded }, (_, kk) => {
            const [tile, row, whole] = [qa + Math.floor(r / tileRows) * tileBytes, r % tileRows, padded & ~15];
            const offset =
              kk >= whole
                ? whole * 5 + ((kk - whole) >> 2) * 20 + row * 4
                : (kk >> 4) * 80 + (row < 4 ? ((kk >> 2) & 3) * 16 + row * 4 : 64 + ((kk >> 2) & 3) * 4);
            return new Uint8Array(buffer, tile + offset + (kk & 3), 1)[0];
          }),
    );
    const params = Array.from({ length: m }, (_, r) => ({ scale: new Float32Array(buffer, qs + r * 8, 1)[0], zp: new Int32Array(buffer, qs + r * 8 + 4, 1)[0] }));
    return { rows, params };
  }

  it.each([
    [3, 768, 768],
    [5, 37, 40],
    [4, 3, 3],
    [2, 3072, 3072],
    [3, 20, 31],
  ])('quantize_rows_u7: m %i, k %i, lda %i: 7-bit codes within half a step of each value', async (m, depth, lda) => {
    const inst = await instance();
    const { k, alloc, last, f32 } = inst;
    const a = randomF32((m - 1) * lda + depth, m + depth, -3, 5);
    // A row of zeros, an all-positive row (the range still includes 0) and a row with an outlier.
    for (let j = 0; j < depth; j++) a[j] = 0;
    if (m > 1) for (let j = 0; j < depth; j++) a[lda + j] = 1 + Math.abs(a[lda + j]);
    if (m > 2) a[2 * lda] = -40;
    const ap = alloc(a.length);
    f32(ap, a.length).set(a);
    const qs = alloc(2 * m);
    const qa = last(inst.bytes(k.gemm_i8_packed_a_size(m, depth)));
    k.quantize_rows_u7(qa, qs, ap, lda, m, depth);
    const { rows, params } = readQuantized(inst, qa, qs, m, depth);
    for (let r = 0; r < m; r++) {
      const x = Array.from(a.subarray(r * lda, r * lda + depth));
      const lo = Math.min(0, ...x);
      const hi = Math.max(0, ...x);
      const { scale, zp } = params[r];
      expect(scale).toBeCloseTo((hi - lo) / 127, 6);
      expect(Number.isInteger(zp) && zp >= 0 && zp <= 127).toBe(true);
      rows[r].forEach((q, j) => {
        expect(q >= 0 && q <= 127, `row ${r} code ${j} = ${q}`).toBe(true);
        if (j >= depth) expect(q, 'padding').toBe(0);
        else expect(Math.abs((q - zp) * scale - x[j]), `row ${r} [${j}]`).toBeLessThanOrEqual(0.5 * scale * (1 + 1e-4) + 1e-7);
      });
    }
  });

  interface Case { m: number; k: number; n: number; lda?: number; ldc?: number; bias?: boolean; act?: number; seed?: number }

  async function run({ m, k: depth, n, lda = depth, ldc = n, bias = true, act = 0, seed = 1 }: Case) {
    const inst = await instance();
    const { k, alloc, last, f32 } = inst;
    const a = randomF32((m - 1) * lda + depth, seed, -2, 3);
    const w = randomF32(n * depth, seed + 1, -0.5, 0.5);
    const b = bias ? randomF32(n, seed + 2, -2, 2) : undefined;
    const cLen = (m + 2) * ldc;
    const cBuf = alloc(cLen);
    const guard = randomF32(cLen, seed + 3, 100, 200);
    f32(cBuf, cLen).set(guard);
    const wPtr = alloc(w.length);
    f32(wPtr, w.length).set(w);
    const biasPtr = b ? alloc(n) : 0;
    if (b) f32(biasPtr, n).set(b);
    const ap = alloc(a.length);
    f32(ap, a.length).set(a);
    const qs = alloc(2 * m);
    const qa = alloc(inst.bytes(k.gemm_i8_packed_a_size(m, depth)));
    // Packed W is not padded: its last byte is the last byte of memory.
    const size = k.gemm_i8_packed_b_size(n, depth);
    expect(size).toBeGreaterThanOrEqual(n * depth);
    const bp = last(inst.bytes(size)) + (inst.bytes(size) * 4 - size);
    k.gemm_pack_b_i8(bp, wPtr, n, depth);
    k.quantize_rows_u7(qa, qs, ap, lda, m, depth);
    k.gemm_i8(cBuf + ldc * 4, ldc, qa, qs, m, depth, bp, n, biasPtr, act);

    // Weights quantized as the kernel does, in f32: per output channel, symmetric, to [-127, 127].
    const qw = new Int32Array(n * depth);
    const sw = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const row = w.subarray(j * depth, (j + 1) * depth);
      const amax = row.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
      const inv = Math.fround(127 / amax);
      row.forEach((v, kk) => (qw[j * depth + kk] = nearest(Math.fround(v * inv))));
      sw[j] = Math.fround(amax / 127);
    }
    const { rows, params } = readQuantized(inst, qa, qs, m, depth);
    const got = f32(cBuf, cLen);
    const want = new Float64Array(cLen);
    const tol = new Float64Array(cLen);
    want.set(guard);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let kk = 0; kk < depth; kk++) acc += (rows[i][kk] - params[i].zp) * qw[j * depth + kk];
        const x = acc * params[i].scale * sw[j] + (b ? b[j] : 0);
        want[(i + 1) * ldc + j] = ACT[act](x);
        // Exact integer sums; then an f32 product with the scales, the bias and the activation.
        tol[(i + 1) * ldc + j] = 1e-6 * (1 + Math.abs(x) + Math.abs(b ? b[j] : 0)) * (act === 0 ? 1 : 10);
      }
    }
    return mismatch(got, want, (i) => tol[i]);
  }

  it.each<Case>([
    { m: 1, k: 4, n: 1 },
    { m: 7, k: 768, n: 768 },
    { m: 13, k: 37, n: 45, lda: 40, ldc: 50 },
    { m: 6, k: 3072, n: 24 },
    { m: 5, k: 3, n: 9, bias: false },
    { m: 128, k: 128, n: 40 },
    { m: 9, k: 20, n: 37, act: 1 },
    { m: 9, k: 20, n: 37, act: 2 },
    { m: 9, k: 20, n: 37, act: 3 },
  ])('gemm_i8 is the exact integer product, dequantized: m=$m k=$k n=$n act=$act', async (c) => {
    expect(await run(c)).toBeUndefined();
  });

  it.each([
    [1, 3072],
    [2, 5],
    [4, 16],
    [9, 33],
    [12, 768],
  ])('gemm_pack_b_i8 reads no row of W past n = %i (k %i): W flush against the end of memory packs as W elsewhere', async (n, depth) => {
    const { k, alloc, last, f32 } = await instance();
    const w = randomF32(n * depth, n + depth, -3, 3);
    const size = k.gemm_i8_packed_b_size(n, depth);
    const elsewhere = alloc(w.length);
    f32(elsewhere, w.length).set(w);
    const [bp1, bp2] = [alloc(Math.ceil(size / 4)), alloc(Math.ceil(size / 4))];
    k.gemm_pack_b_i8(bp1, elsewhere, n, depth);
    const atEnd = last(w.length);
    f32(atEnd, w.length).set(w);
    k.gemm_pack_b_i8(bp2, atEnd, n, depth);
    const bytes = (p: number) => new Uint8Array(k.memory.buffer, p, size);
    expect(Buffer.from(bytes(bp2)).equals(Buffer.from(bytes(bp1)))).toBe(true);
  });

  it('a range of panels is a packed W: column ranges give the same bits (the thread split)', async () => {
    const { k, alloc, f32, bytes } = await instance();
    const [m, depth, n] = [11, 36, 45];
    const a = alloc(m * depth);
    f32(a, m * depth).set(randomF32(m * depth, 51));
    const w = alloc(n * depth);
    f32(w, n * depth).set(randomF32(n * depth, 52));
    const bp = alloc(bytes(k.gemm_i8_packed_b_size(n, depth)));
    k.gemm_pack_b_i8(bp, w, n, depth);
    const qa = alloc(bytes(k.gemm_i8_packed_a_size(m, depth)));
    const qs = alloc(2 * m);
    k.quantize_rows_u7(qa, qs, a, depth, m, depth);
    const whole = alloc(m * n);
    const parts = alloc(m * n);
    k.gemm_i8(whole, n, qa, qs, m, depth, bp, n, 0, 1);
    const panelBytes = k.gemm_i8_packed_b_size(8, depth);
    for (const [j0, j1] of [[0, 8], [8, 40], [40, 45]]) k.gemm_i8(parts + j0 * 4, n, qa, qs, m, depth, bp + (j0 / 8) * panelBytes, j1 - j0, 0, 1);
    expect(Array.from(f32(parts, m * n))).toEqual(Array.from(f32(whole, m * n)));
  });

  // 7 bits per row (the relaxed dot's limit) are coarse where one value dwarfs the rest: row 0 has a
  // 12 among values in [-1, 1], so its step is 13/127 and its cosine drops to about 0.999.
  it('stays close to the f32 product: cosine per row ≥ 0.9995, ≥ 0.998 with an outlier', async () => {
    const { k, alloc, f32, bytes } = await instance();
    const [m, depth, n] = [16, 768, 256];
    const a = randomF32(m * depth, 61, -1, 1);
    a[5] = 12; // an outlier, as hidden states have
    const ap = alloc(m * depth);
    f32(ap, m * depth).set(a);
    const w = alloc(n * depth);
    f32(w, n * depth).set(randomF32(n * depth, 62, -0.1, 0.1));
    const bpF = alloc(k.gemm_packed_b_size(n, depth));
    k.gemm_pack_b_f32(bpF, w, n, depth);
    const bp = alloc(bytes(k.gemm_i8_packed_b_size(n, depth)));
    k.gemm_pack_b_i8(bp, w, n, depth);
    const qa = alloc(bytes(k.gemm_i8_packed_a_size(m, depth)));
    const qs = alloc(2 * m);
    const cF = alloc(m * n);
    const cQ = alloc(m * n);
    k.gemm_f32(cF, n, ap, depth, m, depth, bpF, n, 0, 0);
    k.quantize_rows_u7(qa, qs, ap, depth, m, depth);
    k.gemm_i8(cQ, n, qa, qs, m, depth, bp, n, 0, 0);
    for (let i = 0; i < m; i++) {
      const x = f32(cF + i * n * 4, n);
      const y = f32(cQ + i * n * 4, n);
      let dot = 0;
      let xx = 0;
      let yy = 0;
      x.forEach((v, j) => ((dot += v * y[j]), (xx += v * v), (yy += y[j] * y[j])));
      expect(dot / Math.sqrt(xx * yy), `row ${i}`).toBeGreaterThanOrEqual(i === 0 ? 0.998 : 0.9995);
    }
  });
});

describe('layernorm_f32', () => {
  type Alias = 'none' | 'x' | 'residual';
  interface Rows { offset?: number; spread?: number; eps?: number }
  async function run(rows: number, cols: number, withResidual: boolean, alias: Alias, seed: number, { offset = 4, spread = 4, eps = 1e-12 }: Rows = {}) {
    const { k, alloc, last, f32 } = await instance();
    // Rows with a common offset: the variance must not be computed as E[x²] - E[x]² in f32.
    const x = randomF32(rows * cols, seed, offset - spread / 2, offset + spread / 2);
    const res = withResidual ? randomF32(rows * cols, seed + 1, -spread / 4, spread / 4) : undefined;
    const gamma = randomF32(cols, seed + 2, 0.5, 1.5);
    const beta = randomF32(cols, seed + 3, -0.5, 0.5);
    const gp = alloc(cols);
    const bp = alloc(cols);
    f32(gp, cols).set(gamma);
    f32(bp, cols).set(beta);
    const rp = res ? alloc(rows * cols) : 0;
    if (res) f32(rp, rows * cols).set(res);
    const separate = alias === 'none' ? alloc(rows * cols) : 0;
    const xp = last(rows * cols);
    f32(xp, rows * cols).set(x);
    const out = alias === 'x' ? xp : alias === 'residual' ? rp : separate;
    k.layernorm_f32(out, xp, rp, gp, bp, rows, cols, eps);

    const want = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      // HF adds the residual in f32 before the norm.
      const v = Array.from({ length: cols }, (_, j) => (res ? Math.fround(x[r * cols + j] + res[r * cols + j]) : x[r * cols + j]));
      const mean = v.reduce((s, t) => s + t, 0) / cols;
      const variance = v.reduce((s, t) => s + (t - mean) ** 2, 0) / cols;
      for (let j = 0; j < cols; j++) want[r * cols + j] = ((v[j] - mean) / Math.sqrt(variance + eps)) * gamma[j] + beta[j];
    }
    return mismatch(f32(out, rows * cols), want, (i) => 1e-5 * (1 + Math.abs(want[i])));
  }

  it.each([16, 32, 36, 128, 768, 1000, 3, 5])('cols %i, with and without residual', async (cols) => {
    expect(await run(3, cols, false, 'none', cols)).toBeUndefined();
    expect(await run(4, cols, true, 'none', cols + 1)).toBeUndefined();
  });
  it.each([
    ['x', true],
    ['residual', true],
    ['x', false],
  ] as const)('out aliases %s (residual %s)', async (alias, withResidual) => {
    expect(await run(5, 37, withResidual, alias, 9)).toBeUndefined();
    expect(await run(2, 768, withResidual, alias, 10)).toBeUndefined();
  });
  it('a mean 50 times the spread (f32 E[x²] - E[x]² fails here)', async () => {
    expect(await run(3, 768, false, 'none', 11, { offset: 100, spread: 4 })).toBeUndefined();
    expect(await run(3, 768, true, 'x', 12, { offset: 100, spread: 4 })).toBeUndefined();
  });
  it('eps matters: variance near eps, and constant rows give beta', async () => {
    expect(await run(3, 36, false, 'none', 13, { offset: 2, spread: 0.004, eps: 1e-5 })).toBeUndefined();
    expect(await run(2, 128, false, 'none', 14, { offset: 0.75, spread: 0 })).toBeUndefined();
  });
});

describe('attention_f32', () => {
  const F32_MIN = -3.4028234663852886e38;

  async function run(batch: number, seq: number, hidden: number, heads: number, visible: (b: number, j: number) => boolean, seed: number) {
    const { k, alloc, last, f32 } = await instance();
    const tokens = batch * seq;
    // Scores of a few units, so the softmax is neither flat nor one-hot.
    const qkv = randomF32(tokens * 3 * hidden, seed, -1.5, 1.5);
    const mask = new Float32Array(tokens);
    for (let b = 0; b < batch; b++) for (let j = 0; j < seq; j++) mask[b * seq + j] = visible(b, j) ? 0 : F32_MIN;
    const qp = alloc(qkv.length);
    f32(qp, qkv.length).set(qkv);
    const mp = alloc(tokens);
    f32(mp, tokens).set(mask);
    const ctx = alloc(tokens * hidden);
    f32(ctx, tokens * hidden).fill(NaN);
    // The promised scratch, no more: it ends at the end of memory.
    const scratch = last(k.attention_scratch_size(seq, hidden / heads));
    // In two calls over (batch, head) ranges, as the thread pool splits it.
    const pairs = batch * heads;
    const cut = Math.floor(pairs / 2);
    k.attention_f32(ctx, qp, mp, seq, hidden, heads, 0, cut, scratch);
    k.attention_f32(ctx, qp, mp, seq, hidden, heads, cut, pairs, scratch);

    const d = hidden / heads;
    const want = new Float64Array(tokens * hidden);
    const row = 3 * hidden;
    for (let b = 0; b < batch; b++) {
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < seq; i++) {
          const q = (b * seq + i) * row + h * d;
          const s = new Float64Array(seq);
          for (let j = 0; j < seq; j++) {
            const kk = (b * seq + j) * row + hidden + h * d;
            let dot = 0;
            for (let t = 0; t < d; t++) dot += qkv[q + t] * qkv[kk + t];
            // HF adds the mask in f32: next to f32 min every score rounds to f32 min.
            s[j] = Math.fround(dot / Math.sqrt(d) + mask[b * seq + j]);
          }
          const mx = Math.max(...s);
          let sum = 0;
          for (let j = 0; j < seq; j++) sum += s[j] = Math.exp(s[j] - mx);
          for (let t = 0; t < d; t++) {
            let acc = 0;
            for (let j = 0; j < seq; j++) acc += (s[j] / sum) * qkv[(b * seq + j) * row + 2 * hidden + h * d + t];
            want[(b * seq + i) * hidden + h * d + t] = acc;
          }
        }
      }
    }
    return mismatch(f32(ctx, tokens * hidden), want, (i) => 1e-5 * (1 + Math.abs(want[i])));
  }

  const all = () => true;
  it.each([
    [1, 1, 16, 2],
    [1, 7, 36, 6],
    [2, 61, 16, 2],
    [1, 128, 768, 12],
    [1, 512, 16, 2],
    [1, 9, 12, 2],
    [1, 5, 28, 4],
  ])('batch %i seq %i hidden %i heads %i, no padding', async (batch, seq, hidden, heads) => {
    expect(await run(batch, seq, hidden, heads, all, seq + hidden)).toBeUndefined();
  });

  it('right and left padding in one batch', async () => {
    const lengths = [61, 40, 1];
    expect(await run(3, 61, 36, 6, (b, j) => j < lengths[b], 3)).toBeUndefined();
    expect(await run(3, 61, 36, 6, (b, j) => j >= 61 - lengths[b], 4)).toBeUndefined();
    expect(await run(2, 7, 16, 2, (b, j) => (b === 0 ? j < 3 : j >= 5), 5)).toBeUndefined();
  });

  it('a fully masked row averages V uniformly, without NaN', async () => {
    expect(await run(2, 7, 16, 2, (b) => b === 0, 6)).toBeUndefined();
    expect(await run(1, 13, 36, 6, () => false, 7)).toBeUndefined();
  });

  it('padding at seq 128, hidden 768', async () => {
    expect(await run(2, 128, 768, 12, (b, j) => j < (b === 0 ? 128 : 77), 8)).toBeUndefined();
  });
});

describe('embed_f32', () => {
  it('reads word rows from the packed table (vocab 333, dim 36)', async () => {
    const vocab = 333;
    const dim = 36;
    const typeVocab = 2;
    const maxPos = 10;
    const batch = 3;
    const seq = 7;
    const tokens = batch * seq;
    const { k, alloc, last, f32, i32 } = await instance();
    const word = randomF32(vocab * dim, 1);
    const type = randomF32(typeVocab * dim, 2);
    const pos = randomF32(maxPos * dim, 3);
    const r = rng(4);
    // First and last ids, ids in the zero-padded last panel, and random ones.
    const ids = Int32Array.from({ length: tokens }, (_, t) => [0, vocab - 1, 328, 329, 330, 7, 8][t] ?? Math.floor(r() * vocab));
    const types = Int32Array.from({ length: tokens }, (_, t) => (t % seq > 3 ? 1 : 0));
    const wp = alloc(vocab * dim);
    f32(wp, word.length).set(word);
    const packed = alloc(k.gemm_packed_b_size(vocab, dim));
    k.gemm_pack_b_f32(packed, wp, vocab, dim);
    f32(wp, word.length).fill(NaN);
    const tp = alloc(type.length);
    f32(tp, type.length).set(type);
    const pp = alloc(pos.length);
    f32(pp, pos.length).set(pos);
    const idp = alloc(tokens);
    i32(idp, tokens).set(ids);
    const typ = alloc(tokens);
    i32(typ, tokens).set(types);
    const out = last(tokens * dim);
    k.embed_f32(out, idp, typ, tokens, seq, packed, tp, pp, dim);

    const want = new Float64Array(tokens * dim);
    for (let t = 0; t < tokens; t++) {
      for (let j = 0; j < dim; j++) {
        want[t * dim + j] = Math.fround(word[ids[t] * dim + j] + type[types[t] * dim + j]) + pos[(t % seq) * dim + j];
      }
    }
    expect(mismatch(f32(out, tokens * dim), want, (i) => 2 ** -23 * Math.abs(want[i]))).toBeUndefined();
  });
});

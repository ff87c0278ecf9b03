// The relaxed build's f32 GEMM on awkward shapes, in Deno (Node 20 runs relaxed SIMD only behind a
// flag): gemm_f32, which packs A per tile, and gemm_pack_a_f32 + gemm_f32_packed_a, which pack it
// once, against a float64 reference, and against each other bit for bit. Rows not a multiple of 5,
// k not a multiple of 4 and k blocks (k > 768) that do not split evenly; A, then packed A, ends
// exactly at the end of linear memory, so reading past it traps. Prints one JSON object;
// test/speed/variants.test.ts judges it.
//
//   npx deno run --allow-read test/speed/gemm-check.mjs
const bytes = await Deno.readFile(new URL('../../dist/albert-relaxed.wasm', import.meta.url));
const module = await WebAssembly.compile(bytes);
const PAGE = 65536;

function random(n, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

// C from both paths, each in a fresh instance whose last buffer is A (gemm_f32) or packed A.
async function products(m, k, n, a, w, bias) {
  const run = async (packOnce) => {
    const { exports: x } = await WebAssembly.instantiate(module, { env: { abort() { throw new Error('abort'); } } });
    let top = x.memory.buffer.byteLength;
    const grow = (end) => end > x.memory.buffer.byteLength && x.memory.grow(Math.ceil((end - x.memory.buffer.byteLength) / PAGE));
    const alloc = (floats) => { const p = Math.ceil(top / 64) * 64; top = p + floats * 4; grow(top); return p; };
    const last = (floats) => { grow(top + floats * 4); top = x.memory.buffer.byteLength; return top - floats * 4; };
    const f32 = (p, len) => new Float32Array(x.memory.buffer, p, len);
    const c = alloc(m * n);
    const wp = alloc(w.length);
    f32(wp, w.length).set(w);
    const bp = alloc(x.gemm_packed_b_size(n, k));
    x.gemm_pack_b_f32(bp, wp, n, k);
    const biasPtr = alloc(n);
    f32(biasPtr, n).set(bias);
    if (packOnce) {
      const ap = alloc(a.length);
      f32(ap, a.length).set(a);
      const packed = last(x.gemm_packed_a_size(m, k));
      x.gemm_pack_a_f32(packed, ap, k, m, k);
      x.gemm_f32_packed_a(c, n, packed, m, k, bp, n, biasPtr, 0);
    } else {
      const ap = last(a.length);
      f32(ap, a.length).set(a);
      x.gemm_f32(c, n, ap, k, m, k, bp, n, biasPtr, 0);
    }
    return f32(c, m * n).slice();
  };
  return [await run(false), await run(true)];
}

const cases = [];
for (const [m, k, n] of [[1, 1, 1], [2, 3, 9], [4, 5, 8], [5, 7, 16], [6, 8, 3], [7, 13, 17], [11, 64, 24], [128, 767, 9], [131, 769, 8], [9, 770, 13], [13, 1538, 7], [5, 3075, 10]]) {
  const a = random(m * k, m * 7 + k), w = random(n * k, n * 11 + k), bias = random(n, 3);
  const [perTile, once] = await products(m, k, n, a, w, bias);
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias[j];
      let mag = Math.abs(bias[j]);
      for (let q = 0; q < k; q++) {
        s += a[i * k + q] * w[j * k + q];
        mag += Math.abs(a[i * k + q] * w[j * k + q]);
      }
      // As test/kernels.test.ts: f32 accumulation error scales with Σ|a·w|.
      worst = Math.max(worst, Math.abs(perTile[i * n + j] - s) / (1e-5 * (1 + mag)));
    }
  }
  const [x, y] = [new Uint32Array(perTile.buffer), new Uint32Array(once.buffer)];
  const same = x.every((bits, i) => bits === y[i]);
  cases.push({ m, k, n, errorOverTolerance: worst, packedOnceSame: same });
}
console.log(JSON.stringify({ cases }));

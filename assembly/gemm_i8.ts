import { ROUNDER_BITS } from './activations';
import { NR } from './gemm';
import { dot_add, store_row_i8, tile_rx8 } from './tile';

// int8 GEMM: C = act(dequant(A_q · W_qᵀ) + bias), for the encoder's Linear layers with dtype int8.
//
// W is quantized once at load per output channel, symmetric: W[j, kk] ≈ q[j, kk]·sw[j] with q in
// [-127, 127]. A is quantized per call per row, asymmetric into 7 bits: A[i, kk] ≈ (a[i, kk] −
// zp[i])·sa[i] with a in [0, 127] — the relaxed int8 dot needs its second operand in 0..127 (the
// "i7" operand; otherwise the result is implementation-defined), and with that range the pairwise
// i16 sums of the dot's non-VNNI lowering cannot saturate (2·127·127 < 2¹⁵). Then
//   C[i, j] = sa[i]·sw[j]·(Σ a·q − zp[i]·Σ_kk q[j, kk]) + bias[j],
// an exact i32 sum (3072·127·127 < 2³¹), so the simd and relaxed builds give the same bits.
//
// k is padded to a multiple of 4 with zeros in both operands. Packed W: column panels of NR = 8,
// each kpad·8 bytes of q followed by the panel's 8 column sums (i32) and 8 scales (f32), so a range
// of panels is again a packed W (the thread pool splits products by columns). Within a panel the
// bytes are laid out for the variant's dot product:
// - relaxed (i32x4.relaxed_dot_i8x16_i7x16_add_s: lane c = Σ of 4 adjacent byte products): per 4 k,
//   32 bytes [c0 k0..3, c1 k0..3, c2, c3 | c4 .. c7];
// - simd (i32x4.dot_i16x8_s on bytes widened by v128.load8x8_s: lane c = Σ of 2 adjacent products):
//   per 2 k, 16 bytes [c0 k0 k1, c1, c2, c3 | c4 .. c7].
// A is quantized to u8 for relaxed and to i16 for simd (widened once here, not in the inner loop).

const PANEL_TAIL: i32 = NR * 8;

@inline function padded_k(k: i32): i32 {
  return (k + 3) & ~3;
}

export function gemm_i8_packed_b_size(n: i32, k: i32): i32 {
  return (n + NR - 1) / NR * (padded_k(k) * NR + PANEL_TAIL);
}

/** Bytes of one quantized row of A (k values, padded). */
@inline function a_row_bytes(k: i32): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? padded_k(k) : padded_k(k) * 2;
}

// Rows of quantized A per tile. The relaxed builds store A as the tile kernel reads it, five rows
// interleaved: groups of 16 k, each 80 bytes (rows 0–3 of k 0..3, of k 4..7, of k 8..11, of k 12..15,
// 16 bytes each, then row 4's 16 k), so one 16-byte load brings rows 0–3 of a step and row 4 comes by
// shuffle from one load per group; the padded k past the last whole group go 4 k at a time, 20 bytes
// each ([r0 k0..3, r1 k0..3, .., r4 k0..3]). The simd builds keep rows of i16, one after another.
const A_TILE_ROWS: i32 = ASC_FEATURE_RELAXED_SIMD ? 5 : 1;
const STEP_BYTES: i32 = 20;
const GROUP_BYTES: i32 = 80;

// Byte of row r (< 5), k index kk, within a relaxed tile of kp padded k.
@inline function tile_offset(r: i32, kk: i32, kp: i32): usize {
  const whole = kp & ~15;
  if (kk >= whole) return <usize>((whole >> 4) * GROUP_BYTES + ((kk - whole) >> 2) * STEP_BYTES + (r << 2) + (kk & 3));
  const step = (kk >> 2) & 3;
  const inGroup = r < 4 ? (step << 4) + (r << 2) : 64 + (step << 2);
  return <usize>((kk >> 4) * GROUP_BYTES + inGroup + (kk & 3));
}

/** Rows per tile of A quantized by quantize_rows_u7. */
export function gemm_i8_a_tile_rows(): i32 {
  return A_TILE_ROWS;
}

/** Bytes of m rows of A quantized by quantize_rows_u7 (m rounded up to whole tiles). */
export function gemm_i8_packed_a_size(m: i32, k: i32): i32 {
  return (m + A_TILE_ROWS - 1) / A_TILE_ROWS * A_TILE_ROWS * a_row_bytes(k);
}

@inline function packed_offset(c: i32, kk: i32): usize {
  if (ASC_FEATURE_RELAXED_SIMD) return <usize>(((kk >> 2) << 5) + ((c >> 2) << 4) + ((c & 3) << 2) + (kk & 3));
  return <usize>(((kk >> 1) << 4) + ((c >> 2) << 3) + ((c & 3) << 1) + (kk & 1));
}

/**
 * Quantizes an HF Linear weight W [n = out, k = in] (f32) into int8 panels, once, at load: four
 * columns at a time, four k at a time, so each step writes one whole run of a group's bytes.
 * Loading albert-base in int8 took 77–90 ms quantizing one element at a time, 53–61 ms one column
 * at a time, 42–45 ms this way (Deno).
 */
export function gemm_pack_b_i8(dst: usize, w: usize, n: i32, k: i32): void {
  const panels = (n + NR - 1) / NR;
  const panelBytes = <usize>(padded_k(k) * NR + PANEL_TAIL);
  for (let p = 0; p < panels; p++) {
    const panel = dst + <usize>p * panelBytes;
    pack_columns_4_i8(panel, 0, w, n, k, p * NR);
    pack_columns_4_i8(panel, 4, w, n, k, p * NR + 4);
  }
}

// Columns j..j+3 of W as columns c..c+3 of a panel, those past n as zeros: their quantized k, then
// their sums and scales in the panel's tail.
@inline function pack_columns_4_i8(panel: usize, c: i32, w: usize, n: i32, k: i32, j: i32): void {
  const rowBytes = <usize>k << 2;
  // A column past n reads a row that exists (row j, or row n − 1 when j ≥ n) with scale 0: all its q
  // are 0.
  const row0 = w + <usize>min(j, n - 1) * rowBytes;
  const row1 = j + 1 < n ? row0 + rowBytes : row0;
  const row2 = j + 2 < n ? row0 + 2 * rowBytes : row0;
  const row3 = j + 3 < n ? row0 + 3 * rowBytes : row0;
  const amax0: f32 = j < n ? abs_max_f32(row0, k) : 0;
  const amax1: f32 = j + 1 < n ? abs_max_f32(row1, k) : 0;
  const amax2: f32 = j + 2 < n ? abs_max_f32(row2, k) : 0;
  const amax3: f32 = j + 3 < n ? abs_max_f32(row3, k) : 0;
  const inv0 = f32x4.splat(amax0 > 0 ? 127 / amax0 : 0);
  const inv1 = f32x4.splat(amax1 > 0 ? 127 / amax1 : 0);
  const inv2 = f32x4.splat(amax2 > 0 ? 127 / amax2 : 0);
  const inv3 = f32x4.splat(amax3 > 0 ? 127 / amax3 : 0);
  let sum0 = i32x4.splat(0), sum1 = sum0, sum2 = sum0, sum3 = sum0;
  const end4 = <usize>(k & ~3) << 2;
  for (let off: usize = 0; off < end4; off += 16) {
    const q0 = quantize_weights_4(v128.load(row0 + off), inv0);
    const q1 = quantize_weights_4(v128.load(row1 + off), inv1);
    const q2 = quantize_weights_4(v128.load(row2 + off), inv2);
    const q3 = quantize_weights_4(v128.load(row3 + off), inv3);
    sum0 = i32x4.add(sum0, q0);
    sum1 = i32x4.add(sum1, q1);
    sum2 = i32x4.add(sum2, q2);
    sum3 = i32x4.add(sum3, q3);
    // [c k0..3, c+1 k0..3, c+2 k0..3, c+3 k0..3]
    const bytes = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3));
    const group = panel + (off << 1); // 4 k of 8 columns: 32 bytes
    if (ASC_FEATURE_RELAXED_SIMD) {
      v128.store(group + (<usize>c << 2), bytes);
    } else {
      const pairs = i8x16.shuffle(bytes, bytes, 0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15);
      v128.store64_lane(group + (<usize>c << 1), pairs, 0);
      v128.store64_lane(group + 16 + (<usize>c << 1), pairs, 1);
    }
  }
  finish_column_i8(panel, c, row0, j < n, k, inv0, amax0, sum0);
  finish_column_i8(panel, c + 1, row1, j + 1 < n, k, inv1, amax1, sum1);
  finish_column_i8(panel, c + 2, row2, j + 2 < n, k, inv2, amax2, sum2);
  finish_column_i8(panel, c + 3, row3, j + 3 < n, k, inv3, amax3, sum3);
}

@inline function quantize_weights_4(x: v128, inv: v128): v128 {
  return i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(x, inv)));
}

// Column c's k past the last multiple of 4 (zero-padded to 4), then its sum of q and its scale.
@inline function finish_column_i8(panel: usize, c: i32, row: usize, exists: bool, k: i32, inv: v128, amax: f32, sums: v128): void {
  let sum = i32x4.extract_lane(sums, 0) + i32x4.extract_lane(sums, 1) + i32x4.extract_lane(sums, 2) + i32x4.extract_lane(sums, 3);
  const scale = f32x4.extract_lane(inv, 0);
  for (let kk = k & ~3; kk < padded_k(k); kk++) {
    const q = exists && kk < k ? <i32>nearest(load<f32>(row + (<usize>kk << 2)) * scale) : 0;
    store<i8>(panel + packed_offset(c, kk), <i8>q);
    sum += q;
  }
  const tail = panel + <usize>(padded_k(k) * NR);
  store<i32>(tail + (<usize>c << 2), sum);
  store<f32>(tail + (<usize>(NR + c) << 2), amax / 127);
}

// max |x| over n f32 at p (0 for n = 0; NaN if any x is). With pmax (one maxps) and the NaN test
// apart: f32x4.max, whose NaN and ±0 rules take eight instructions on x64, made this pass 70% of the
// quantization.
@inline function abs_max_f32(p: usize, n: i32): f32 {
  const vecEnd = p + (<usize>(n & ~3) << 2);
  const end = p + (<usize>n << 2);
  let vmax = f32x4.splat(0);
  let nan = vmax;
  for (; p < vecEnd; p += 16) {
    const x = f32x4.abs(v128.load(p));
    vmax = f32x4.pmax(vmax, x);
    nan = v128.or(nan, f32x4.ne(x, x));
  }
  let m = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
  if (v128.any_true(nan)) m = NaN;
  for (; p < end; p += 4) m = max(m, abs(load<f32>(p)));
  return m;
}

// ROUNDER (ROUNDER_BITS are its bits), then 127 in the lanes of a quantized A (u8 or i16).
const QUANTIZE_CONSTANTS = memory.data<i32>([
  ROUNDER_BITS, ROUNDER_BITS, ROUNDER_BITS, ROUNDER_BITS,
  ASC_FEATURE_RELAXED_SIMD ? 0x7f7f7f7f : 0x007f007f, ASC_FEATURE_RELAXED_SIMD ? 0x7f7f7f7f : 0x007f007f,
  ASC_FEATURE_RELAXED_SIMD ? 0x7f7f7f7f : 0x007f007f, ASC_FEATURE_RELAXED_SIMD ? 0x7f7f7f7f : 0x007f007f,
], 16);

/**
 * Quantizes m rows of A (f32, row stride lda) to 7 bits, laid out in tiles of A_TILE_ROWS rows at qa
 * (gemm_i8_packed_a_size(m, k) bytes), and each row's scale (f32) and zero point (i32) into 8 bytes
 * at qs. The range always includes 0, so the zero point is an integer in 0..127 and zeros stay exact.
 */
export function quantize_rows_u7(qa: usize, qs: usize, a: usize, lda: i32, m: i32, k: i32): void {
  const rowBytes = <usize>a_row_bytes(k);
  const kp = padded_k(k);
  const vecEnd = <usize>(k & ~15) << 2;
  const end = <usize>k << 2;
  // Loaded, not built: V8 rebuilds a constant vector from immediates (three instructions) at every use
  // in the loop, and a load from a constant address needs no bounds check.
  const rounder = v128.load(QUANTIZE_CONSTANTS);
  const max127 = v128.load(QUANTIZE_CONSTANTS, 16);
  for (let r = 0; r < m; r++) {
    const x = a + <usize>r * (<usize>lda << 2);
    // Row r's tile (in the simd builds, the row itself).
    const tile = qa + <usize>(r / A_TILE_ROWS) * <usize>A_TILE_ROWS * rowBytes;
    const row = r % A_TILE_ROWS;
    // Four independent min/max chains: one chain waits on each maxps' latency (4 cycles per 16 bytes).
    let min0 = f32x4.splat(0), max0 = min0;
    let min1 = min0, max1 = min0, min2 = min0, max2 = min0, min3 = min0, max3 = min0;
    let o: usize = 0;
    for (; o + 64 <= end; o += 64) {
      const v0 = v128.load(x + o);
      const v1 = v128.load(x + o, 16);
      const v2 = v128.load(x + o, 32);
      const v3 = v128.load(x + o, 48);
      // pmin/pmax: one instruction each on x64, where min/max's NaN and ±0 rules take eight.
      min0 = f32x4.pmin(min0, v0);
      max0 = f32x4.pmax(max0, v0);
      min1 = f32x4.pmin(min1, v1);
      max1 = f32x4.pmax(max1, v1);
      min2 = f32x4.pmin(min2, v2);
      max2 = f32x4.pmax(max2, v2);
      min3 = f32x4.pmin(min3, v3);
      max3 = f32x4.pmax(max3, v3);
    }
    for (; o + 16 <= end; o += 16) {
      const v = v128.load(x + o);
      min0 = f32x4.pmin(min0, v);
      max0 = f32x4.pmax(max0, v);
    }
    const vmin = f32x4.pmin(f32x4.pmin(min0, min1), f32x4.pmin(min2, min3));
    const vmax = f32x4.pmax(f32x4.pmax(max0, max1), f32x4.pmax(max2, max3));
    let lo = min(min(f32x4.extract_lane(vmin, 0), f32x4.extract_lane(vmin, 1)), min(f32x4.extract_lane(vmin, 2), f32x4.extract_lane(vmin, 3)));
    let hi = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
    for (; o < end; o += 4) {
      lo = min(lo, load<f32>(x + o));
      hi = max(hi, load<f32>(x + o));
    }
    const range = hi - lo;
    const inv: f32 = range > 0 ? 127 / range : 0;
    const zp = <i32>nearest(-lo * inv);
    store<f32>(qs + (<usize>r << 3), range / 127);
    store<i32>(qs + (<usize>r << 3), zp, 4);

    // nearest(clamp(x·inv + zp, 0, 127)) with the rounding done by adding ROUNDER (activations.ts) and
    // the clamp on the integers after narrowing, 16 or 8 lanes at once (clamping to integer bounds
    // commutes with rounding).
    const vinv = f32x4.splat(inv);
    const vzp = f32x4.splat(<f32>zp);
    o = 0;
    for (; o < vecEnd; o += 64) {
      const q0 = quantize_4(v128.load(x + o), vinv, vzp, rounder);
      const q1 = quantize_4(v128.load(x + o, 16), vinv, vzp, rounder);
      const q2 = quantize_4(v128.load(x + o, 32), vinv, vzp, rounder);
      const q3 = quantize_4(v128.load(x + o, 48), vinv, vzp, rounder);
      const h0 = i16x8.narrow_i32x4_s(q0, q1);
      const h1 = i16x8.narrow_i32x4_s(q2, q3);
      if (ASC_FEATURE_RELAXED_SIMD) {
        // 16 k, one whole group: row 4's are adjacent, rows 0–3 have 4 k in each of its 4 steps.
        const v = i8x16.min_u(i8x16.narrow_i16x8_u(h0, h1), max127);
        const d = tile + tile_offset(row, <i32>(o >> 2), kp);
        if (row == 4) {
          v128.store(d, v);
        } else {
          v128.store32_lane(d, v, 0);
          v128.store32_lane(d, v, 1, 16);
          v128.store32_lane(d, v, 2, 32);
          v128.store32_lane(d, v, 3, 48);
        }
      } else {
        const zero = i16x8.splat(0);
        v128.store(tile + (o >> 1), i16x8.min_s(i16x8.max_s(h0, zero), max127));
        v128.store(tile + (o >> 1), i16x8.min_s(i16x8.max_s(h1, zero), max127), 16);
      }
    }
    for (let kk = <i32>(vecEnd >> 2); kk < kp; kk++) {
      const v = kk < k ? <i32>nearest(min(max(load<f32>(x + (<usize>kk << 2)) * inv + <f32>zp, 0), 127)) : 0;
      if (ASC_FEATURE_RELAXED_SIMD) store<u8>(tile + tile_offset(row, kk, kp), <u8>v);
      else store<i16>(tile + (<usize>kk << 1), <i16>v);
    }
  }
}

// x·inv + zp rounded to an integer, as i32 lanes (unclamped); `rounder` is ROUNDER in every lane.
@inline function quantize_4(x: v128, inv: v128, zp: v128, rounder: v128): v128 {
  return i32x4.sub(f32x4.add(f32x4.add(f32x4.mul(x, inv), zp), rounder), rounder);
}

// ---- Relaxed builds: 5×8 tiles from A quantized into 5-row tiles ----
//
// The 5×8 tile (tile.ts) on 4 k of bytes per step, A laid out by quantize_rows_u7. It replaced 6×8
// tiles that read rows of A in place with one splat load per row (8 loads per 12 dots): 0.85–0.92 of
// its time per product at ALBERT-base shapes (quantization included; Deno, interleaved runs),
// 0.87–0.91 in the threads build.
function gemm_i8_packed_5x8(c: usize, ldc: usize, a: usize, qs: usize, kp: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  tile_rx8<i32>(5, c, ldc, a, kp >> 2, b, cols, false, bias, act, qs);
}

function gemm_i8_packed_4x8(c: usize, ldc: usize, a: usize, qs: usize, kp: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  tile_rx8<i32>(4, c, ldc, a, kp >> 2, b, cols, false, bias, act, qs);
}

function gemm_i8_packed_3x8(c: usize, ldc: usize, a: usize, qs: usize, kp: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  tile_rx8<i32>(3, c, ldc, a, kp >> 2, b, cols, false, bias, act, qs);
}

function gemm_i8_packed_2x8(c: usize, ldc: usize, a: usize, qs: usize, kp: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  tile_rx8<i32>(2, c, ldc, a, kp >> 2, b, cols, false, bias, act, qs);
}

function gemm_i8_packed_1x8(c: usize, ldc: usize, a: usize, qs: usize, kp: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  tile_rx8<i32>(1, c, ldc, a, kp >> 2, b, cols, false, bias, act, qs);
}

// ---- simd builds: 4×8 tiles reading rows of i16 in place ----
//
// The i16 dot needs its product live beside the accumulators, and 4 rows measured best (5 no
// faster). On the Xeon Node 20 runs it at 57–61 GOP/s, bound by pmovsxbw, pmaddwd and paddd on 3
// vector ports (62 for a native copy of V8's code). No faster: B stored as i16, row blocks sized for
// L2 at M = 1024.
const MR: i32 = 4;

@inline function gemm_i8_rx8(mr: i32, c: usize, ldc: usize, qa: usize, lda: usize, qs: usize, kp: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  let c00 = i32x4.splat(0), c01 = c00;
  let c10 = c00, c11 = c00;
  let c20 = c00, c21 = c00;
  let c30 = c00, c31 = c00;
  let a0 = qa;
  let a1 = a0 + lda;
  let a2 = a1 + lda;
  let a3 = a2 + lda;
  const tail = b + <usize>kp * NR;
  while (b < tail) {
    const w0 = v128.load8x8_s(b);
    const w1 = v128.load8x8_s(b, 8);
    let x = v128.load32_splat(a0);
    c00 = dot_add(c00, w0, x);
    c01 = dot_add(c01, w1, x);
    if (mr > 1) {
      x = v128.load32_splat(a1);
      c10 = dot_add(c10, w0, x);
      c11 = dot_add(c11, w1, x);
    }
    if (mr > 2) {
      x = v128.load32_splat(a2);
      c20 = dot_add(c20, w0, x);
      c21 = dot_add(c21, w1, x);
    }
    if (mr > 3) {
      x = v128.load32_splat(a3);
      c30 = dot_add(c30, w0, x);
      c31 = dot_add(c31, w1, x);
    }
    a0 += 4;
    if (mr > 1) a1 += 4;
    if (mr > 2) a2 += 4;
    if (mr > 3) a3 += 4;
    b += 16;
  }
  store_row_i8(c, c00, c01, qs, tail, bias, cols, act);
  if (mr > 1) store_row_i8(c + ldc, c10, c11, qs + 8, tail, bias, cols, act);
  if (mr > 2) store_row_i8(c + 2 * ldc, c20, c21, qs + 16, tail, bias, cols, act);
  if (mr > 3) store_row_i8(c + 3 * ldc, c30, c31, qs + 24, tail, bias, cols, act);
}

function gemm_i8_4x8(c: usize, ldc: usize, qa: usize, lda: usize, qs: usize, kp: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  gemm_i8_rx8(4, c, ldc, qa, lda, qs, kp, b, bias, cols, act);
}

function gemm_i8_3x8(c: usize, ldc: usize, qa: usize, lda: usize, qs: usize, kp: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  gemm_i8_rx8(3, c, ldc, qa, lda, qs, kp, b, bias, cols, act);
}

function gemm_i8_2x8(c: usize, ldc: usize, qa: usize, lda: usize, qs: usize, kp: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  gemm_i8_rx8(2, c, ldc, qa, lda, qs, kp, b, bias, cols, act);
}

function gemm_i8_1x8(c: usize, ldc: usize, qa: usize, lda: usize, qs: usize, kp: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  gemm_i8_rx8(1, c, ldc, qa, lda, qs, kp, b, bias, cols, act);
}

/**
 * C[i, j] (row stride ldc f32) for i < m, j < n, from A quantized by quantize_rows_u7 (qa, qs) and W
 * packed by gemm_pack_b_i8 (bp); `bias` 0 means none.
 */
export function gemm_i8(c: usize, ldc: i32, qa: usize, qs: usize, m: i32, k: i32, bp: usize, n: i32, bias: usize, act: i32): void {
  const kp = padded_k(k);
  const ldcBytes = <usize>ldc << 2;
  const ldaBytes = <usize>a_row_bytes(k);
  const tileBytes = <usize>A_TILE_ROWS * ldaBytes;
  const panelBytes = <usize>(kp * NR + PANEL_TAIL);
  const panels = (n + NR - 1) / NR;
  for (let p = 0; p < panels; p++) {
    const j = p * NR;
    const cols = min(NR, n - j);
    const b = bp + <usize>p * panelBytes;
    const panelBias = bias ? bias + (<usize>j << 2) : 0;
    let cp = c + (<usize>j << 2);
    let ap = qa;
    let sp = qs;
    if (ASC_FEATURE_RELAXED_SIMD) {
      for (let i = 0; i < m; i += A_TILE_ROWS, cp += <usize>A_TILE_ROWS * ldcBytes, ap += tileBytes, sp += <usize>A_TILE_ROWS << 3) {
        const rows = min(A_TILE_ROWS, m - i);
        if (rows == 5) gemm_i8_packed_5x8(cp, ldcBytes, ap, sp, kp, b, panelBias, cols, act);
        else if (rows == 4) gemm_i8_packed_4x8(cp, ldcBytes, ap, sp, kp, b, panelBias, cols, act);
        else if (rows == 3) gemm_i8_packed_3x8(cp, ldcBytes, ap, sp, kp, b, panelBias, cols, act);
        else if (rows == 2) gemm_i8_packed_2x8(cp, ldcBytes, ap, sp, kp, b, panelBias, cols, act);
        else gemm_i8_packed_1x8(cp, ldcBytes, ap, sp, kp, b, panelBias, cols, act);
      }
      continue;
    }
    let rows = m;
    for (; rows >= MR; rows -= MR) {
      gemm_i8_4x8(cp, ldcBytes, ap, ldaBytes, sp, kp, b, panelBias, cols, act);
      cp += <usize>MR * ldcBytes;
      ap += <usize>MR * ldaBytes;
      sp += <usize>MR << 3;
    }
    if (rows == 3) gemm_i8_3x8(cp, ldcBytes, ap, ldaBytes, sp, kp, b, panelBias, cols, act);
    else if (rows == 2) gemm_i8_2x8(cp, ldcBytes, ap, ldaBytes, sp, kp, b, panelBias, cols, act);
    else if (rows == 1) gemm_i8_1x8(cp, ldcBytes, ap, ldaBytes, sp, kp, b, panelBias, cols, act);
  }
}

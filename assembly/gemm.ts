import { activation_f32, ACT_GELU_NEW, ACT_NONE, ACT_RELU, gelu_new_f32x4 } from './activations';

// Packed B: column panels of NR output columns, each k rows of NR f32, so W[j, kk] sits at
// f32 index (j / NR)·k·NR + kk·NR + j % NR. The last panel is zero-padded: the microkernel always
// loads a full panel row and only the stores are trimmed to n. A range of panels is itself a packed
// B (of fewer columns), which is how the thread pool splits a product by columns.
export const NR: i32 = 8;

// Rows per tile. Each row takes two accumulators, the tile's two B vectors and the broadcast A take
// three more, and V8 allocates 15 vector registers on x64: with fused multiply-add (relaxed SIMD)
// 6 rows fit exactly (12 + 3); with mul + add every step also needs the product, so 4 rows (8 + 2 +
// 4 broadcasts + 1). Measured on V8 11–15: 6×8 with FMA 34–41 GFLOP/s, 4×8 plain 30–36.
const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;

export function gemm_packed_b_size(n: i32, k: i32): i32 {
  return (n + NR - 1) / NR * NR * k;
}

export function gemm_pack_b_f32(dst: usize, w: usize, n: i32, k: i32): void {
  pack_b_f32(dst, w, <usize>k << 2, n, k, 1);
}

// Packs B [n, k] whose rows are rowStride bytes apart, times `scale` (attention packs each head's
// keys, 3·hidden f32 apart, with 1/√d folded in).
@inline export function pack_b_f32(dst: usize, w: usize, rowStride: usize, n: i32, k: i32, scale: f32): void {
  const panels = (n + NR - 1) / NR;
  const rowBytes = <usize>NR << 2;
  for (let p = 0; p < panels; p++) {
    const panel = dst + <usize>p * <usize>k * rowBytes;
    for (let c = 0; c < NR; c++) {
      const j = p * NR + c;
      let d = panel + (<usize>c << 2);
      const end = d + <usize>k * rowBytes;
      if (j < n) {
        let s = w + <usize>j * rowStride;
        for (; d < end; d += rowBytes, s += 4) store<f32>(d, load<f32>(s) * scale);
      } else {
        for (; d < end; d += rowBytes) store<f32>(d, 0);
      }
    }
  }
}

// acc + x·b; fused (one rounding) where relaxed SIMD is enabled: both stay within the f32 GEMM's
// error bound, and every C element is still summed in k order whatever the tiling or thread split.
@inline function madd(acc: v128, x: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, b, acc);
  return f32x4.add(acc, f32x4.mul(x, b));
}

// One tile row: bias then activation, on the `cols` (≤ NR) columns that exist. Shared with the int8
// GEMM, whose accumulators arrive here already scaled to f32.
@inline export function store_row_8(c: usize, v0: v128, v1: v128, bias: usize, cols: i32, act: i32): void {
  if (cols == 8) {
    if (bias) {
      v0 = f32x4.add(v0, v128.load(bias));
      v1 = f32x4.add(v1, v128.load(bias, 16));
    }
    if (act == ACT_RELU) {
      const zero = f32x4.splat(0);
      v0 = f32x4.max(v0, zero);
      v1 = f32x4.max(v1, zero);
    } else if (act == ACT_GELU_NEW) {
      v0 = gelu_new_f32x4(v0);
      v1 = gelu_new_f32x4(v1);
    }
    v128.store(c, v0);
    v128.store(c, v1, 16);
    if (act != ACT_NONE && act != ACT_RELU && act != ACT_GELU_NEW) activation_f32(c, 8, act);
    return;
  }
  // Last panel of an n that is not a multiple of 8: lanes one by one (lane indices are immediates).
  store_lane(c, f32x4.extract_lane(v0, 0), bias, 0);
  if (cols > 1) store_lane(c, f32x4.extract_lane(v0, 1), bias, 4);
  if (cols > 2) store_lane(c, f32x4.extract_lane(v0, 2), bias, 8);
  if (cols > 3) store_lane(c, f32x4.extract_lane(v0, 3), bias, 12);
  if (cols > 4) store_lane(c, f32x4.extract_lane(v1, 0), bias, 16);
  if (cols > 5) store_lane(c, f32x4.extract_lane(v1, 1), bias, 20);
  if (cols > 6) store_lane(c, f32x4.extract_lane(v1, 2), bias, 24);
  if (act != ACT_NONE) activation_f32(c, cols, act);
}

@inline function store_lane(c: usize, v: f32, bias: usize, offset: usize): void {
  store<f32>(c + offset, bias ? v + load<f32>(bias + offset) : v);
}

// An mr×8 tile of C over the whole k, mr ≤ MR a constant at each call site so the unused rows fold
// away. Per k: 2 B loads, one broadcast load of A per row, 2 multiply-adds per row. A is broadcast
// straight from memory rather than loaded 4 k at a time and shuffled: that needs k unrolled by 4,
// and Binaryen regroups unrolled steps per accumulator, which keeps every step's B and A live at
// once and spills. Each C element is a plain f32 sum in k order.
@inline function gemm_f32_rx8(mr: i32, c: usize, ldc: usize, a: usize, lda: usize, k: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  let c00 = f32x4.splat(0), c01 = c00;
  let c10 = c00, c11 = c00;
  let c20 = c00, c21 = c00;
  let c30 = c00, c31 = c00;
  let c40 = c00, c41 = c00;
  let c50 = c00, c51 = c00;
  let a0 = a;
  let a1 = a0 + lda;
  let a2 = a1 + lda;
  let a3 = a2 + lda;
  let a4 = a3 + lda;
  let a5 = a4 + lda;
  const end = b + <usize>k * 32;
  while (b < end) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let x = v128.load32_splat(a0);
    c00 = madd(c00, x, b0);
    c01 = madd(c01, x, b1);
    if (mr > 1) {
      x = v128.load32_splat(a1);
      c10 = madd(c10, x, b0);
      c11 = madd(c11, x, b1);
    }
    if (mr > 2) {
      x = v128.load32_splat(a2);
      c20 = madd(c20, x, b0);
      c21 = madd(c21, x, b1);
    }
    if (mr > 3) {
      x = v128.load32_splat(a3);
      c30 = madd(c30, x, b0);
      c31 = madd(c31, x, b1);
    }
    if (mr > 4) {
      x = v128.load32_splat(a4);
      c40 = madd(c40, x, b0);
      c41 = madd(c41, x, b1);
    }
    if (mr > 5) {
      x = v128.load32_splat(a5);
      c50 = madd(c50, x, b0);
      c51 = madd(c51, x, b1);
    }
    a0 += 4;
    if (mr > 1) a1 += 4;
    if (mr > 2) a2 += 4;
    if (mr > 3) a3 += 4;
    if (mr > 4) a4 += 4;
    if (mr > 5) a5 += 4;
    b += 32;
  }
  store_row_8(c, c00, c01, bias, cols, act);
  if (mr > 1) store_row_8(c + ldc, c10, c11, bias, cols, act);
  if (mr > 2) store_row_8(c + 2 * ldc, c20, c21, bias, cols, act);
  if (mr > 3) store_row_8(c + 3 * ldc, c30, c31, bias, cols, act);
  if (mr > 4) store_row_8(c + 4 * ldc, c40, c41, bias, cols, act);
  if (mr > 5) store_row_8(c + 5 * ldc, c50, c51, bias, cols, act);
}

function gemm_f32_6x8(c: usize, ldc: usize, a: usize, lda: usize, k: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  gemm_f32_rx8(6, c, ldc, a, lda, k, b, bias, cols, act);
}

function gemm_f32_5x8(c: usize, ldc: usize, a: usize, lda: usize, k: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  gemm_f32_rx8(5, c, ldc, a, lda, k, b, bias, cols, act);
}

function gemm_f32_4x8(c: usize, ldc: usize, a: usize, lda: usize, k: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  gemm_f32_rx8(4, c, ldc, a, lda, k, b, bias, cols, act);
}

function gemm_f32_3x8(c: usize, ldc: usize, a: usize, lda: usize, k: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  gemm_f32_rx8(3, c, ldc, a, lda, k, b, bias, cols, act);
}

function gemm_f32_2x8(c: usize, ldc: usize, a: usize, lda: usize, k: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  gemm_f32_rx8(2, c, ldc, a, lda, k, b, bias, cols, act);
}

function gemm_f32_1x8(c: usize, ldc: usize, a: usize, lda: usize, k: i32, b: usize, bias: usize, cols: i32, act: i32): void {
  gemm_f32_rx8(1, c, ldc, a, lda, k, b, bias, cols, act);
}

// Panels outer, rows inner: a panel (k·32 bytes, 24 KB at k = 768) stays in L1 while A streams
// from L2.
export function gemm_f32(c: usize, ldc: i32, a: usize, lda: i32, m: i32, k: i32, bp: usize, n: i32, bias: usize, act: i32): void {
  const ldcBytes = <usize>ldc << 2;
  const ldaBytes = <usize>lda << 2;
  const panelBytes = <usize>k * (<usize>NR << 2);
  const panels = (n + NR - 1) / NR;
  for (let p = 0; p < panels; p++) {
    const j = p * NR;
    const cols = min(NR, n - j);
    const b = bp + <usize>p * panelBytes;
    const panelBias = bias ? bias + (<usize>j << 2) : 0;
    let cp = c + (<usize>j << 2);
    let ap = a;
    let rows = m;
    for (; rows >= MR; rows -= MR) {
      if (MR == 6) gemm_f32_6x8(cp, ldcBytes, ap, ldaBytes, k, b, panelBias, cols, act);
      else gemm_f32_4x8(cp, ldcBytes, ap, ldaBytes, k, b, panelBias, cols, act);
      cp += <usize>MR * ldcBytes;
      ap += <usize>MR * ldaBytes;
    }
    if (rows == 5) gemm_f32_5x8(cp, ldcBytes, ap, ldaBytes, k, b, panelBias, cols, act);
    else if (rows == 4) gemm_f32_4x8(cp, ldcBytes, ap, ldaBytes, k, b, panelBias, cols, act);
    else if (rows == 3) gemm_f32_3x8(cp, ldcBytes, ap, ldaBytes, k, b, panelBias, cols, act);
    else if (rows == 2) gemm_f32_2x8(cp, ldcBytes, ap, ldaBytes, k, b, panelBias, cols, act);
    else if (rows == 1) gemm_f32_1x8(cp, ldcBytes, ap, ldaBytes, k, b, panelBias, cols, act);
  }
}

import { activation_f32, ACT_GELU_NEW, ACT_NONE, ACT_RELU, gelu_new_f32x4 } from './activations';

// What the GEMM kernels of gemm.ts (f32) and gemm_i8.ts (int8) share: the step that adds one k (f32)
// or 4 k (int8 bytes) into an accumulator, the epilogue that stores a tile row, and the relaxed
// builds' 5×8 tile, one k loop for both types.

// acc + x·b; fused (one rounding) where relaxed SIMD is enabled: both stay within the f32 GEMM's
// error bound, and every C element is still summed in k order whatever the tiling or thread split.
@inline export function madd(acc: v128, x: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, b, acc);
  return f32x4.add(acc, f32x4.mul(x, b));
}

// acc + the dot products of one A step (4 bytes: 4 k of u8, or 2 k of i16) with a B vector.
@inline export function dot_add(acc: v128, b: v128, x: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(b, x, acc);
  return i32x4.add(acc, i32x4.dot_i16x8_s(x, b));
}

// One tile row: bias then activation, on the `cols` (≤ 8) columns that exist. The int8 kernels'
// accumulators arrive here dequantized by store_row_i8.
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

// Dequantizes an int8 tile row's i32 sums, sa·sw[j]·(acc − zp·colsum[j]), with the row's scale and
// zero point at qs and the panel's column sums and scales at `tail` (gemm_i8.ts), then stores it.
@inline export function store_row_i8(c: usize, acc0: v128, acc1: v128, qs: usize, tail: usize, bias: usize, cols: i32, act: i32): void {
  const zp = i32x4.splat(load<i32>(qs, 4));
  const sa = f32x4.splat(load<f32>(qs));
  const v0 = f32x4.convert_i32x4_s(i32x4.sub(acc0, i32x4.mul(zp, v128.load(tail))));
  const v1 = f32x4.convert_i32x4_s(i32x4.sub(acc1, i32x4.mul(zp, v128.load(tail, 16))));
  const s0 = f32x4.mul(sa, v128.load(tail, 32));
  const s1 = f32x4.mul(sa, v128.load(tail, 48));
  store_row_8(c, f32x4.mul(v0, s0), f32x4.mul(v1, s1), bias, cols, act);
}

// Four columns of a C row of which `cols` exist (cols ≥ 4 reads all four), without reading past them.
@inline function load_cols_4(p: usize, cols: i32): v128 {
  if (cols >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  if (cols > 0) v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (cols > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (cols > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

@inline function add_step<T>(acc: v128, x: v128, b: v128): v128 {
  return isInteger<T>() ? dot_add(acc, b, x) : madd(acc, x, b);
}

// ---- Relaxed builds: the 5×8 tile ----
//
// An mr×8 tile of C (mr ≤ 5 a constant at each call site; `cols` of its 8 columns exist) over
// `steps` steps, T the element type: f32, a step one k (A 5 f32, B 8 f32); i32, a step 4 k of bytes
// (A 5×4 u8, B 8×4 i8, summed exactly by the relaxed dot). Per step B is 32 bytes of a column panel
// and A 20 bytes of a 5-row tile, in groups of 4 steps of 80 bytes (rows 0–3 of each step, 16 bytes
// each, then row 4's 4 steps), then the steps % 4 left, 20 bytes each (rows 0–4): gemm.ts's pack_a_5
// and gemm_i8.ts's quantize_rows_u7 lay A out so. Tiles of fewer than 5 rows exist so that a short
// sequence (m = 7: 5 + 2) does not pay for padded rows.
// - f32: `accumulate` continues the sums that an earlier k block left in C; bias and act are given
//   for the last k block only.
// - i32: the sums are dequantized by store_row_i8 with the rows' scales and zero points at qs and
//   the panel's tail, which follows its last step.
//
// Deno's V8 bounds-checks every wasm load with a compare and branch (Deno installs no trap handler),
// on ports the multiply-adds (vpdpbusd for int8) and shuffles need, so a step makes few loads: B's
// two vectors and rows 0–3 of A in one vector, broadcast by shuffle; row 4 comes by shuffle from one
// load per group. 10 multiply-adds per step, 15 vector registers. Eight steps (two groups) per
// iteration at constant offsets, then a last group, then one step at a time. Against four steps per
// iteration with a splat load for row 4: whole passes f32 0.974 of the time on one thread, 0.971 on
// two; int8 0.984 and 0.978 (Deno, interleaved); f32 products 0.94–0.97 in Chromium. In the threads
// builds V8 also reloads the (shared, growable) memory's size per iteration; four steps per
// iteration ran 13% faster there than one. Between the steps stands the iteration's exit test
// again, on the same values: without a test there Binaryen sinks each accumulator's step into the
// next one's expression, so all the loads come first and V8, which keeps loads in order, spills (25%
// slower). V8 finds the same test already taken and drops the repeats. The step is written out: an
// inlined helper cannot update ten accumulators that live in locals.
@inline export function tile_rx8<T>(mr: i32, c: usize, ldc: usize, a: usize, steps: i32, b: usize, cols: i32, accumulate: bool, bias: usize, act: i32, qs: usize): void {
  const zero = f32x4.splat(0);
  let c00 = zero, c01 = zero;
  let c10 = zero, c11 = zero;
  let c20 = zero, c21 = zero;
  let c30 = zero, c31 = zero;
  let c40 = zero, c41 = zero;
  if (isFloat<T>() && accumulate) {
    c00 = load_cols_4(c, cols);
    c01 = load_cols_4(c + 16, cols - 4);
    if (mr > 1) {
      c10 = load_cols_4(c + ldc, cols);
      c11 = load_cols_4(c + ldc + 16, cols - 4);
    }
    if (mr > 2) {
      c20 = load_cols_4(c + 2 * ldc, cols);
      c21 = load_cols_4(c + 2 * ldc + 16, cols - 4);
    }
    if (mr > 3) {
      c30 = load_cols_4(c + 3 * ldc, cols);
      c31 = load_cols_4(c + 3 * ldc + 16, cols - 4);
    }
    if (mr > 4) {
      c40 = load_cols_4(c + 4 * ldc, cols);
      c41 = load_cols_4(c + 4 * ldc + 16, cols - 4);
    }
  }
  const end = b + (<usize>steps << 5);
  const groupsEnd = b + (<usize>(steps & ~3) << 5);
  while (true) {
    const start = b;
    if (start >= groupsEnd) break;
    let r4 = mr > 4 ? v128.load(a, 64) : zero;
    {
      const b0 = v128.load(b), b1 = v128.load(b, 16), x4 = v128.load(a);
      let x = i32x4.shuffle(x4, x4, 0, 0, 0, 0);
      c00 = add_step<T>(c00, x, b0); c01 = add_step<T>(c01, x, b1);
      if (mr > 1) { x = i32x4.shuffle(x4, x4, 1, 1, 1, 1); c10 = add_step<T>(c10, x, b0); c11 = add_step<T>(c11, x, b1); }
      if (mr > 2) { x = i32x4.shuffle(x4, x4, 2, 2, 2, 2); c20 = add_step<T>(c20, x, b0); c21 = add_step<T>(c21, x, b1); }
      if (mr > 3) { x = i32x4.shuffle(x4, x4, 3, 3, 3, 3); c30 = add_step<T>(c30, x, b0); c31 = add_step<T>(c31, x, b1); }
      if (mr > 4) { x = i32x4.shuffle(r4, r4, 0, 0, 0, 0); c40 = add_step<T>(c40, x, b0); c41 = add_step<T>(c41, x, b1); }
    }
    if (start >= groupsEnd) break;
    {
      const b0 = v128.load(b, 32), b1 = v128.load(b, 48), x4 = v128.load(a, 16);
      let x = i32x4.shuffle(x4, x4, 0, 0, 0, 0);
      c00 = add_step<T>(c00, x, b0); c01 = add_step<T>(c01, x, b1);
      if (mr > 1) { x = i32x4.shuffle(x4, x4, 1, 1, 1, 1); c10 = add_step<T>(c10, x, b0); c11 = add_step<T>(c11, x, b1); }
      if (mr > 2) { x = i32x4.shuffle(x4, x4, 2, 2, 2, 2); c20 = add_step<T>(c20, x, b0); c21 = add_step<T>(c21, x, b1); }
      if (mr > 3) { x = i32x4.shuffle(x4, x4, 3, 3, 3, 3); c30 = add_step<T>(c30, x, b0); c31 = add_step<T>(c31, x, b1); }
      if (mr > 4) { x = i32x4.shuffle(r4, r4, 1, 1, 1, 1); c40 = add_step<T>(c40, x, b0); c41 = add_step<T>(c41, x, b1); }
    }
    if (start >= groupsEnd) break;
    {
      const b0 = v128.load(b, 64), b1 = v128.load(b, 80), x4 = v128.load(a, 32);
      let x = i32x4.shuffle(x4, x4, 0, 0, 0, 0);
      c00 = add_step<T>(c00, x, b0); c01 = add_step<T>(c01, x, b1);
      if (mr > 1) { x = i32x4.shuffle(x4, x4, 1, 1, 1, 1); c10 = add_step<T>(c10, x, b0); c11 = add_step<T>(c11, x, b1); }
      if (mr > 2) { x = i32x4.shuffle(x4, x4, 2, 2, 2, 2); c20 = add_step<T>(c20, x, b0); c21 = add_step<T>(c21, x, b1); }
      if (mr > 3) { x = i32x4.shuffle(x4, x4, 3, 3, 3, 3); c30 = add_step<T>(c30, x, b0); c31 = add_step<T>(c31, x, b1); }
      if (mr > 4) { x = i32x4.shuffle(r4, r4, 2, 2, 2, 2); c40 = add_step<T>(c40, x, b0); c41 = add_step<T>(c41, x, b1); }
    }
    if (start >= groupsEnd) break;
    {
      const b0 = v128.load(b, 96), b1 = v128.load(b, 112), x4 = v128.load(a, 48);
      let x = i32x4.shuffle(x4, x4, 0, 0, 0, 0);
      c00 = add_step<T>(c00, x, b0); c01 = add_step<T>(c01, x, b1);
      if (mr > 1) { x = i32x4.shuffle(x4, x4, 1, 1, 1, 1); c10 = add_step<T>(c10, x, b0); c11 = add_step<T>(c11, x, b1); }
      if (mr > 2) { x = i32x4.shuffle(x4, x4, 2, 2, 2, 2); c20 = add_step<T>(c20, x, b0); c21 = add_step<T>(c21, x, b1); }
      if (mr > 3) { x = i32x4.shuffle(x4, x4, 3, 3, 3, 3); c30 = add_step<T>(c30, x, b0); c31 = add_step<T>(c31, x, b1); }
      if (mr > 4) { x = i32x4.shuffle(r4, r4, 3, 3, 3, 3); c40 = add_step<T>(c40, x, b0); c41 = add_step<T>(c41, x, b1); }
    }
    if (start + 128 >= groupsEnd) {
      a += 80;
      b += 128;
      break;
    }
    r4 = mr > 4 ? v128.load(a, 144) : zero;
    {
      const b0 = v128.load(b, 128), b1 = v128.load(b, 144), x4 = v128.load(a, 80);
      let x = i32x4.shuffle(x4, x4, 0, 0, 0, 0);
      c00 = add_step<T>(c00, x, b0); c01 = add_step<T>(c01, x, b1);
      if (mr > 1) { x = i32x4.shuffle(x4, x4, 1, 1, 1, 1); c10 = add_step<T>(c10, x, b0); c11 = add_step<T>(c11, x, b1); }
      if (mr > 2) { x = i32x4.shuffle(x4, x4, 2, 2, 2, 2); c20 = add_step<T>(c20, x, b0); c21 = add_step<T>(c21, x, b1); }
      if (mr > 3) { x = i32x4.shuffle(x4, x4, 3, 3, 3, 3); c30 = add_step<T>(c30, x, b0); c31 = add_step<T>(c31, x, b1); }
      if (mr > 4) { x = i32x4.shuffle(r4, r4, 0, 0, 0, 0); c40 = add_step<T>(c40, x, b0); c41 = add_step<T>(c41, x, b1); }
    }
    if (start + 128 >= groupsEnd) break;
    {
      const b0 = v128.load(b, 160), b1 = v128.load(b, 176), x4 = v128.load(a, 96);
      let x = i32x4.shuffle(x4, x4, 0, 0, 0, 0);
      c00 = add_step<T>(c00, x, b0); c01 = add_step<T>(c01, x, b1);
      if (mr > 1) { x = i32x4.shuffle(x4, x4, 1, 1, 1, 1); c10 = add_step<T>(c10, x, b0); c11 = add_step<T>(c11, x, b1); }
      if (mr > 2) { x = i32x4.shuffle(x4, x4, 2, 2, 2, 2); c20 = add_step<T>(c20, x, b0); c21 = add_step<T>(c21, x, b1); }
      if (mr > 3) { x = i32x4.shuffle(x4, x4, 3, 3, 3, 3); c30 = add_step<T>(c30, x, b0); c31 = add_step<T>(c31, x, b1); }
      if (mr > 4) { x = i32x4.shuffle(r4, r4, 1, 1, 1, 1); c40 = add_step<T>(c40, x, b0); c41 = add_step<T>(c41, x, b1); }
    }
    if (start + 128 >= groupsEnd) break;
    {
      const b0 = v128.load(b, 192), b1 = v128.load(b, 208), x4 = v128.load(a, 112);
      let x = i32x4.shuffle(x4, x4, 0, 0, 0, 0);
      c00 = add_step<T>(c00, x, b0); c01 = add_step<T>(c01, x, b1);
      if (mr > 1) { x = i32x4.shuffle(x4, x4, 1, 1, 1, 1); c10 = add_step<T>(c10, x, b0); c11 = add_step<T>(c11, x, b1); }
      if (mr > 2) { x = i32x4.shuffle(x4, x4, 2, 2, 2, 2); c20 = add_step<T>(c20, x, b0); c21 = add_step<T>(c21, x, b1); }
      if (mr > 3) { x = i32x4.shuffle(x4, x4, 3, 3, 3, 3); c30 = add_step<T>(c30, x, b0); c31 = add_step<T>(c31, x, b1); }
      if (mr > 4) { x = i32x4.shuffle(r4, r4, 2, 2, 2, 2); c40 = add_step<T>(c40, x, b0); c41 = add_step<T>(c41, x, b1); }
    }
    if (start + 128 >= groupsEnd) break;
    {
      const b0 = v128.load(b, 224), b1 = v128.load(b, 240), x4 = v128.load(a, 128);
      let x = i32x4.shuffle(x4, x4, 0, 0, 0, 0);
      c00 = add_step<T>(c00, x, b0); c01 = add_step<T>(c01, x, b1);
      if (mr > 1) { x = i32x4.shuffle(x4, x4, 1, 1, 1, 1); c10 = add_step<T>(c10, x, b0); c11 = add_step<T>(c11, x, b1); }
      if (mr > 2) { x = i32x4.shuffle(x4, x4, 2, 2, 2, 2); c20 = add_step<T>(c20, x, b0); c21 = add_step<T>(c21, x, b1); }
      if (mr > 3) { x = i32x4.shuffle(x4, x4, 3, 3, 3, 3); c30 = add_step<T>(c30, x, b0); c31 = add_step<T>(c31, x, b1); }
      if (mr > 4) { x = i32x4.shuffle(r4, r4, 3, 3, 3, 3); c40 = add_step<T>(c40, x, b0); c41 = add_step<T>(c41, x, b1); }
    }
    a += 160;
    b += 256;
  }
  while (b < end) {
    const b0 = v128.load(b), b1 = v128.load(b, 16), x4 = v128.load(a);
    let x = i32x4.shuffle(x4, x4, 0, 0, 0, 0);
    c00 = add_step<T>(c00, x, b0); c01 = add_step<T>(c01, x, b1);
    if (mr > 1) { x = i32x4.shuffle(x4, x4, 1, 1, 1, 1); c10 = add_step<T>(c10, x, b0); c11 = add_step<T>(c11, x, b1); }
    if (mr > 2) { x = i32x4.shuffle(x4, x4, 2, 2, 2, 2); c20 = add_step<T>(c20, x, b0); c21 = add_step<T>(c21, x, b1); }
    if (mr > 3) { x = i32x4.shuffle(x4, x4, 3, 3, 3, 3); c30 = add_step<T>(c30, x, b0); c31 = add_step<T>(c31, x, b1); }
    if (mr > 4) { x = v128.load32_splat(a, 16); c40 = add_step<T>(c40, x, b0); c41 = add_step<T>(c41, x, b1); }
    a += 20;
    b += 32;
  }
  if (isInteger<T>()) {
    store_row_i8(c, c00, c01, qs, end, bias, cols, act);
    if (mr > 1) store_row_i8(c + ldc, c10, c11, qs + 8, end, bias, cols, act);
    if (mr > 2) store_row_i8(c + 2 * ldc, c20, c21, qs + 16, end, bias, cols, act);
    if (mr > 3) store_row_i8(c + 3 * ldc, c30, c31, qs + 24, end, bias, cols, act);
    if (mr > 4) store_row_i8(c + 4 * ldc, c40, c41, qs + 32, end, bias, cols, act);
  } else {
    store_row_8(c, c00, c01, bias, cols, act);
    if (mr > 1) store_row_8(c + ldc, c10, c11, bias, cols, act);
    if (mr > 2) store_row_8(c + 2 * ldc, c20, c21, bias, cols, act);
    if (mr > 3) store_row_8(c + 3 * ldc, c30, c31, bias, cols, act);
    if (mr > 4) store_row_8(c + 4 * ldc, c40, c41, bias, cols, act);
  }
}

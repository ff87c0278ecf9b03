// Hugging Face ACT2FN codes. Every activation is evaluated in f64 and rounded once to f32, so the
// only error against an f64 reference is that rounding (an approximate GELU would show at 4e-4).
export const ACT_NONE: i32 = 0;
export const ACT_GELU_NEW: i32 = 1;
export const ACT_GELU: i32 = 2;
export const ACT_RELU: i32 = 3;
export const ACT_GELU_FAST: i32 = 4;
export const ACT_QUICK_GELU: i32 = 5;
export const ACT_SILU: i32 = 6;
export const ACT_TANH: i32 = 7;

const SQRT_2_OVER_PI: f64 = 0.7978845608028654;
const SQRT_HALF: f64 = 0.7071067811865476;

// erf(x), |error| < 1e-13 (fitted against a 40-digit reference with Chebyshev least squares):
// on [0, 1) erf(x)/x is a degree-9 polynomial in x²; on [1, 6) erfc(x)·exp(x²), smooth and slowly
// varying, is a polynomial in x rescaled to [-1, 1] on [1, 3) and [3, 6); erfc(6) < 3e-17.
export function erf(x: f64): f64 {
  const ax = abs(x);
  let r: f64;
  if (ax >= 6) {
    r = 1;
  } else if (ax >= 3) {
    const s = (ax - 4.5) * (1.0 / 1.5);
    const p = 0.12248480427428855 + s * (-0.03902389290219527 + s * (0.01217953218427577 + s * (-0.0037279456242461455 +
      s * (0.0011201621190680573 + s * (-0.00033070435152907893 + s * (9.601021487904842e-05 + s * (-2.7464415413862072e-05 +
      s * (7.729147832649554e-06 + s * (-2.08562326943241e-06 + s * (5.680605604067288e-07 + s * (-1.9877024447335694e-07 +
      s * 5.348959746856973e-08)))))))))));
    r = 1 - Math.exp(-ax * ax) * p;
  } else if (ax >= 1) {
    const s = ax - 2;
    const p = 0.2553956763104491 + s * (-0.1067964618533733 + s * (0.0418027526107436 + s * (-0.015460637769861443 +
      s * (0.005440738386668581 + s * (-0.0018316641980997176 + s * (0.0005924711939173978 + s * (-0.00018477885212006028 +
      s * (5.5723648966965116e-05 + s * (-1.629211712263171e-05 + s * (4.637996391318965e-06 + s * (-1.2825104222718564e-06 +
      s * (3.335067915375049e-07 + s * (-8.75933015221517e-08 + s * (3.001461141942536e-08 + s * -7.59290028769565e-09))))))))))))));
    r = 1 - Math.exp(-ax * ax) * p;
  } else {
    // Also the NaN path: NaN fails every comparison above.
    const t = x * x;
    return x * (1.1283791670954941 + t * (-0.37612638902813883 + t * (0.11283791658690302 + t * (-0.026866169065024637 +
      t * (0.005223967267108661 + t * (-0.0008547935841930137 + t * (0.00012046296648342769 + t * (-1.4795377771219834e-05 +
      t * (1.5308201439657134e-06 + t * -1.0473130745700681e-07)))))))));
  }
  return x < 0 ? -r : r;
}

// 0.5·x·(1 + tanh(y)) = x·sigmoid(2y): one exp instead of tanh (a third of the time), and no
// cancellation when tanh(y) is near -1.
@inline function gelu_new(x: f64): f64 {
  return x / (1 + Math.exp(-2 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

@inline function gelu(x: f64): f64 {
  return 0.5 * x * (1 + erf(x * SQRT_HALF));
}

@inline function gelu_fast(x: f64): f64 {
  return x / (1 + Math.exp(-2 * 0.7978845608 * x * (1 + 0.044715 * x * x)));
}

@inline function x_sigmoid(x: f64, scale: f64): f64 {
  return x / (1 + Math.exp(-scale * x));
}

// e^x for x ≤ 0 (a score minus its row maximum; minus the magnitude in GELU), four lanes at once: x = n·ln2 + r with |r| ≤ ln2/2
// (ln2 split in two so n·LN2_HI is exact), e^r by its degree-7 Taylor polynomial (truncation < 1e-8
// relative), 2^n built in the exponent bits. x is clamped at -87 so 2^n stays a normal f32; e^-87 is
// nothing next to the maximum's e^0 = 1 in the sum.
// n = nearest(x·log2e) comes from adding ROUNDER (below), which also leaves n in t's low bits.
const LOG2E: f32 = 1.4426950408889634;
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.428606765330187e-6;

// Adding 1.5·2²³ to an f32 of magnitude < 2²² rounds it to an integer (ties to even, as `nearest`)
// held in the low mantissa bits: t − ROUNDER is that integer as f32, bits(t) − ROUNDER_BITS as i32.
// Two instructions where f32x4.nearest plus i32x4.trunc_sat_f32x4_s take about ten on x64.
export const ROUNDER: f32 = 12582912;
export const ROUNDER_BITS: i32 = 0x4b400000;

// The vector constants below, loaded rather than written as splats: V8 builds a constant vector from
// immediates at every use (three instructions, two of them on vector ports; it does not hoist them out
// of loops), where a load from a constant address is one instruction and needs no bounds check (the
// table lies below the initial memory size).
const VECTOR_CONSTANTS = memory.data<f32>([
  -87, -87, -87, -87,
  LOG2E, LOG2E, LOG2E, LOG2E,
  ROUNDER, ROUNDER, ROUNDER, ROUNDER,
  LN2_HI, LN2_HI, LN2_HI, LN2_HI,
  LN2_LO, LN2_LO, LN2_LO, LN2_LO,
  1, 1, 1, 1,
  1, 1, 1, 1,
  1.0 / 2, 1.0 / 2, 1.0 / 2, 1.0 / 2,
  1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6,
  1.0 / 24, 1.0 / 24, 1.0 / 24, 1.0 / 24,
  1.0 / 120, 1.0 / 120, 1.0 / 120, 1.0 / 120,
  1.0 / 720, 1.0 / 720, 1.0 / 720, 1.0 / 720,
  1.0 / 5040, 1.0 / 5040, 1.0 / 5040, 1.0 / 5040,
  // Bits ROUNDER_BITS − 127: subtracted from t, leaves n + 127, the biased exponent of 2^n.
  ROUNDER - 127, ROUNDER - 127, ROUNDER - 127, ROUNDER - 127,
  -0.0, -0.0, -0.0, -0.0,
  <f32>(2 * SQRT_2_OVER_PI), <f32>(2 * SQRT_2_OVER_PI), <f32>(2 * SQRT_2_OVER_PI), <f32>(2 * SQRT_2_OVER_PI),
  <f32>(2 * SQRT_2_OVER_PI * 0.044715), <f32>(2 * SQRT_2_OVER_PI * 0.044715),
  <f32>(2 * SQRT_2_OVER_PI * 0.044715), <f32>(2 * SQRT_2_OVER_PI * 0.044715),
], 16);
const EXP_MIN = 0;
const EXP_LOG2E = 1;
const EXP_ROUNDER = 2;
const EXP_LN2_HI = 3;
const EXP_LN2_LO = 4;
const INV_FACTORIAL = 5; // 1/i! at INV_FACTORIAL + i, i = 0..7
const ONE = INV_FACTORIAL;
const EXP_BIAS = 13;
const SIGN = 14;
const GELU_C1 = 15;
const GELU_C3 = 16;

@inline function vector_constant(i: i32): v128 {
  return v128.load(VECTOR_CONSTANTS + (<usize>i << 4));
}

@inline export function exp_nonpositive_f32x4(x: v128): v128 {
  x = f32x4.pmax(vector_constant(EXP_MIN), x); // pmax: one maxps (max's NaN and ±0 rules take eight on x64)
  const t = f32x4.add(f32x4.mul(x, vector_constant(EXP_LOG2E)), vector_constant(EXP_ROUNDER));
  const n = f32x4.sub(t, vector_constant(EXP_ROUNDER));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, vector_constant(EXP_LN2_HI))), f32x4.mul(n, vector_constant(EXP_LN2_LO)));
  // Estrin's scheme: the same polynomial in 3 dependent multiply-add levels instead of Horner's 7. A
  // GEMM epilogue's gelu is bound by this chain's latency (the out-of-order window holds only a few
  // gelu chains at once), not by its instruction count.
  const r2 = f32x4.mul(r, r);
  const p01 = f32x4.add(vector_constant(INV_FACTORIAL), r);
  const p23 = f32x4.add(vector_constant(INV_FACTORIAL + 2), f32x4.mul(vector_constant(INV_FACTORIAL + 3), r));
  const p45 = f32x4.add(vector_constant(INV_FACTORIAL + 4), f32x4.mul(vector_constant(INV_FACTORIAL + 5), r));
  const p67 = f32x4.add(vector_constant(INV_FACTORIAL + 6), f32x4.mul(vector_constant(INV_FACTORIAL + 7), r));
  const r4 = f32x4.mul(r2, r2);
  const q03 = f32x4.add(p01, f32x4.mul(p23, r2));
  const q47 = f32x4.add(p45, f32x4.mul(p67, r2));
  const e = f32x4.add(q03, f32x4.mul(q47, r4));
  const pow2n = i32x4.shl(i32x4.sub(t, vector_constant(EXP_BIAS)), 23);
  return f32x4.mul(e, pow2n);
}

// gelu_new in f32, four lanes: x·sigmoid(2y) = x / (1 + e^(-2y)), with e^(-2|y|) ≤ 1 so the exponential
// never overflows (for y < 0, x·t / (1 + t)). A few ulp from the f64 form, well inside the GEMM's own
// error, and about 20 times faster: the int8 FFN spent a third of its time in the f64 epilogue.
// 2y = x·(c1 + c3·x²) directly, and −|2y| by setting the sign bit: a shorter chain than −2·|c·(x + d·x³)|.
@inline export function gelu_new_f32x4(x: v128): v128 {
  const y2 = f32x4.mul(x, f32x4.add(vector_constant(GELU_C1), f32x4.mul(vector_constant(GELU_C3), f32x4.mul(x, x))));
  const t = exp_nonpositive_f32x4(v128.or(y2, vector_constant(SIGN)));
  const num = v128.bitselect(x, f32x4.mul(x, t), f32x4.ge(y2, f32x4.splat(0)));
  return f32x4.div(num, f32x4.add(vector_constant(ONE), t));
}

// In place over n f32 at p (also the GEMM epilogue, on one tile row at a time); the switch sits
// outside the loops so each loop is branch-free.
export function activation_f32(p: usize, n: i32, act: i32): void {
  const end = p + (<usize>n << 2);
  switch (act) {
    case ACT_GELU_NEW:
      for (; p < end; p += 4) store<f32>(p, <f32>gelu_new(<f64>load<f32>(p)));
      break;
    case ACT_GELU:
      for (; p < end; p += 4) store<f32>(p, <f32>gelu(<f64>load<f32>(p)));
      break;
    case ACT_RELU:
      for (; p < end; p += 4) store<f32>(p, max(load<f32>(p), <f32>0));
      break;
    case ACT_GELU_FAST:
      for (; p < end; p += 4) store<f32>(p, <f32>gelu_fast(<f64>load<f32>(p)));
      break;
    case ACT_QUICK_GELU:
      for (; p < end; p += 4) store<f32>(p, <f32>x_sigmoid(<f64>load<f32>(p), 1.702));
      break;
    case ACT_SILU:
      for (; p < end; p += 4) store<f32>(p, <f32>x_sigmoid(<f64>load<f32>(p), 1));
      break;
    case ACT_TANH:
      for (; p < end; p += 4) store<f32>(p, <f32>Math.tanh(<f64>load<f32>(p)));
      break;
  }
}

// Sum of the row as f64 pairs: f32 partial sums over 768+ columns would lose the digits that the
// variance of a row with a large mean depends on.
@inline function sum_f64(p: usize, cols: i32): f64 {
  let s0 = f64x2.splat(0), s1 = s0;
  const end4 = p + (<usize>(cols & ~3) << 2);
  const end = p + (<usize>cols << 2);
  for (; p < end4; p += 16) {
    const v = v128.load(p);
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(v));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 2, 3)));
  }
  let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  for (; p < end; p += 4) s += <f64>load<f32>(p);
  return s;
}

@inline function sum_sq_dev_f64(p: usize, cols: i32, mean: f64): f64 {
  const m = f64x2.splat(mean);
  let s0 = f64x2.splat(0), s1 = s0;
  const end4 = p + (<usize>(cols & ~3) << 2);
  const end = p + (<usize>cols << 2);
  for (; p < end4; p += 16) {
    const v = v128.load(p);
    const lo = f64x2.sub(f64x2.promote_low_f32x4(v), m);
    const hi = f64x2.sub(f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 2, 3)), m);
    s0 = f64x2.add(s0, f64x2.mul(lo, lo));
    s1 = f64x2.add(s1, f64x2.mul(hi, hi));
  }
  let s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  for (; p < end; p += 4) {
    const d = <f64>load<f32>(p) - mean;
    s += d * d;
  }
  return s;
}

// torch.nn.LayerNorm over `cols` with the residual added first (ALBERT's post-LN blocks). The sum
// x + residual is written to `out` before the statistics, element by element at the same index, so
// `out` may alias either input. Mean and biased variance are two-pass in f64; the normalised value
// is rounded to f32 once before gamma and beta.
export function layernorm_f32(out: usize, x: usize, residual: usize, gamma: usize, beta: usize, rows: i32, cols: i32, eps: f32): void {
  const rowBytes = <usize>cols << 2;
  const vecBytes = <usize>(cols & ~3) << 2;
  for (let r = 0; r < rows; r++) {
    const o = out + <usize>r * rowBytes;
    const xr = x + <usize>r * rowBytes;
    if (residual) {
      const rr = residual + <usize>r * rowBytes;
      let j: usize = 0;
      for (; j < vecBytes; j += 16) v128.store(o + j, f32x4.add(v128.load(xr + j), v128.load(rr + j)));
      for (; j < rowBytes; j += 4) store<f32>(o + j, load<f32>(xr + j) + load<f32>(rr + j));
    } else if (o != xr) {
      memory.copy(o, xr, rowBytes);
    }
    const mean = sum_f64(o, cols) / <f64>cols;
    const rstd = 1 / Math.sqrt(sum_sq_dev_f64(o, cols, mean) / <f64>cols + <f64>eps);
    const m = f64x2.splat(mean);
    const s = f64x2.splat(rstd);
    let j: usize = 0;
    for (; j < vecBytes; j += 16) {
      const v = v128.load(o + j);
      const lo = f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(v), m), s);
      const hi = f64x2.mul(f64x2.sub(f64x2.promote_low_f32x4(f32x4.shuffle(v, v, 2, 3, 2, 3)), m), s);
      const n = f32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
      v128.store(o + j, f32x4.add(f32x4.mul(n, v128.load(gamma + j)), v128.load(beta + j)));
    }
    for (; j < rowBytes; j += 4) {
      const n = <f32>((<f64>load<f32>(o + j) - mean) * rstd);
      store<f32>(o + j, n * load<f32>(gamma + j) + load<f32>(beta + j));
    }
  }
}

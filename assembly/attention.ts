// Lanes r of the result = horizontal sum of vector r.
@inline function hsum4x4(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = f32x4.add(f32x4.shuffle(a, b, 0, 1, 4, 5), f32x4.shuffle(a, b, 2, 3, 6, 7));
  const cd = f32x4.add(f32x4.shuffle(c, d, 0, 1, 4, 5), f32x4.shuffle(c, d, 2, 3, 6, 7));
  return f32x4.add(f32x4.shuffle(ab, cd, 0, 2, 4, 6), f32x4.shuffle(ab, cd, 1, 3, 5, 7));
}

@inline function dot_f32(q: usize, k: usize, d: i32): f32 {
  let acc = f32x4.splat(0);
  const bytes = <usize>d << 2;
  const vecBytes = <usize>(d & ~3) << 2;
  let o: usize = 0;
  for (; o < vecBytes; o += 16) acc = f32x4.add(acc, f32x4.mul(v128.load(q + o), v128.load(k + o)));
  let s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; o < bytes; o += 4) s += load<f32>(q + o) * load<f32>(k + o);
  return s;
}

// Scores of query q against every key, into scores[0..seq): (q·k_j)·scale + mask[j], as HF adds
// the f32 mask. Returns the row maximum. Eight keys per pass share each load of q and keep eight
// independent add chains in flight.
@inline function scores_f32(scores: usize, q: usize, k: usize, stride: usize, mask: usize, seq: i32, d: i32, scale: f32): f32 {
  const vecBytes = <usize>(d & ~3) << 2;
  const bytes = <usize>d << 2;
  const vscale = f32x4.splat(scale);
  let vmax = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 8 <= seq; j += 8) {
    const k0 = k + <usize>j * stride;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    let o: usize = 0;
    for (; o < vecBytes; o += 16) {
      const qv = v128.load(q + o);
      let kr = k0 + o;
      a0 = f32x4.add(a0, f32x4.mul(qv, v128.load(kr)));
      kr += stride;
      a1 = f32x4.add(a1, f32x4.mul(qv, v128.load(kr)));
      kr += stride;
      a2 = f32x4.add(a2, f32x4.mul(qv, v128.load(kr)));
      kr += stride;
      a3 = f32x4.add(a3, f32x4.mul(qv, v128.load(kr)));
      kr += stride;
      a4 = f32x4.add(a4, f32x4.mul(qv, v128.load(kr)));
      kr += stride;
      a5 = f32x4.add(a5, f32x4.mul(qv, v128.load(kr)));
      kr += stride;
      a6 = f32x4.add(a6, f32x4.mul(qv, v128.load(kr)));
      kr += stride;
      a7 = f32x4.add(a7, f32x4.mul(qv, v128.load(kr)));
    }
    let lo = hsum4x4(a0, a1, a2, a3);
    let hi = hsum4x4(a4, a5, a6, a7);
    if (o < bytes) {
      lo = f32x4.add(lo, tail_dots_4(q, k0, stride, o, bytes));
      hi = f32x4.add(hi, tail_dots_4(q, k0 + 4 * stride, stride, o, bytes));
    }
    const m = mask + (<usize>j << 2);
    const out = scores + (<usize>j << 2);
    lo = f32x4.add(f32x4.mul(lo, vscale), v128.load(m));
    hi = f32x4.add(f32x4.mul(hi, vscale), v128.load(m, 16));
    v128.store(out, lo);
    v128.store(out, hi, 16);
    vmax = f32x4.max(vmax, f32x4.max(lo, hi));
  }
  let mx = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
  for (; j < seq; j++) {
    const s = dot_f32(q, k + <usize>j * stride, d) * scale + load<f32>(mask + (<usize>j << 2));
    store<f32>(scores + (<usize>j << 2), s);
    mx = max(mx, s);
  }
  return mx;
}

// The d % 4 trailing products of q with four consecutive keys, as one vector.
@inline function tail_dots_4(q: usize, k0: usize, stride: usize, o: usize, bytes: usize): v128 {
  const k1 = k0 + stride;
  const k2 = k1 + stride;
  const k3 = k2 + stride;
  let t0: f32 = 0, t1: f32 = 0, t2: f32 = 0, t3: f32 = 0;
  for (; o < bytes; o += 4) {
    const qs = load<f32>(q + o);
    t0 += qs * load<f32>(k0 + o);
    t1 += qs * load<f32>(k1 + o);
    t2 += qs * load<f32>(k2 + o);
    t3 += qs * load<f32>(k3 + o);
  }
  return f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(t0), 1, t1), 2, t2), 3, t3);
}

// e^x for x ≤ 0 (a score minus the row maximum), four lanes at once: x = n·ln2 + r with |r| ≤ ln2/2
// (ln2 split in two so n·LN2_HI is exact), e^r by its degree-7 Taylor polynomial (truncation < 1e-8
// relative), 2^n built in the exponent bits. x is clamped at -87 so 2^n stays a normal f32; e^-87 is
// nothing next to the maximum's e^0 = 1 in the sum.
const LOG2E: f32 = 1.4426950408889634;
const LN2_HI: f32 = 0.693145751953125;
const LN2_LO: f32 = 1.428606765330187e-6;

@inline function exp_nonpositive_f32x4(x: v128): v128 {
  x = f32x4.max(x, f32x4.splat(-87));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  let e = f32x4.add(f32x4.mul(f32x4.splat(1.0 / 5040), r), f32x4.splat(1.0 / 720));
  e = f32x4.add(f32x4.mul(e, r), f32x4.splat(1.0 / 120));
  e = f32x4.add(f32x4.mul(e, r), f32x4.splat(1.0 / 24));
  e = f32x4.add(f32x4.mul(e, r), f32x4.splat(1.0 / 6));
  e = f32x4.add(f32x4.mul(e, r), f32x4.splat(0.5));
  e = f32x4.add(f32x4.mul(e, r), f32x4.splat(1));
  e = f32x4.add(f32x4.mul(e, r), f32x4.splat(1));
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(e, pow2n);
}

// scores ← softmax(scores), stable. A fully masked row has every score equal to the f32 minimum, so
// every exponent is e^0 = 1 and the row averages V uniformly, as in HF. The sum is kept in f64.
@inline function softmax_f32(scores: usize, seq: i32, mx: f32): void {
  const vmx = f32x4.splat(mx);
  const vecEnd = scores + (<usize>(seq & ~3) << 2);
  const end = scores + (<usize>seq << 2);
  let s0 = f64x2.splat(0), s1 = s0;
  let p = scores;
  for (; p < vecEnd; p += 16) {
    const e = exp_nonpositive_f32x4(f32x4.sub(v128.load(p), vmx));
    v128.store(p, e);
    s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e));
    s1 = f64x2.add(s1, f64x2.promote_low_f32x4(f32x4.shuffle(e, e, 2, 3, 2, 3)));
  }
  let sum = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 0) + f64x2.extract_lane(s1, 1);
  for (; p < end; p += 4) {
    const e = f32x4.extract_lane(exp_nonpositive_f32x4(f32x4.splat(load<f32>(p) - mx)), 0);
    store<f32>(p, e);
    sum += <f64>e;
  }
  const inv = f32x4.splat(<f32>(1 / sum));
  for (p = scores; p < vecEnd; p += 16) v128.store(p, f32x4.mul(v128.load(p), inv));
  const invs = f32x4.extract_lane(inv, 0);
  for (; p < end; p += 4) store<f32>(p, load<f32>(p) * invs);
}

// out[0..d) = Σ_j p_j · v_j, 16 columns (4 accumulators) at a time so each p_j broadcast serves 16.
@inline function weighted_sum_f32(out: usize, p: usize, v: usize, stride: usize, seq: i32, d: i32): void {
  const bytes = <usize>d << 2;
  const pend = p + (<usize>seq << 2);
  let o: usize = 0;
  for (; o + 64 <= bytes; o += 64) {
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    let vr = v + o;
    for (let pp = p; pp < pend; pp += 4, vr += stride) {
      const w = v128.load32_splat(pp);
      a0 = f32x4.add(a0, f32x4.mul(w, v128.load(vr)));
      a1 = f32x4.add(a1, f32x4.mul(w, v128.load(vr, 16)));
      a2 = f32x4.add(a2, f32x4.mul(w, v128.load(vr, 32)));
      a3 = f32x4.add(a3, f32x4.mul(w, v128.load(vr, 48)));
    }
    v128.store(out + o, a0);
    v128.store(out + o, a1, 16);
    v128.store(out + o, a2, 32);
    v128.store(out + o, a3, 48);
  }
  for (; o + 16 <= bytes; o += 16) {
    let a0 = f32x4.splat(0);
    let vr = v + o;
    for (let pp = p; pp < pend; pp += 4, vr += stride) a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(pp), v128.load(vr)));
    v128.store(out + o, a0);
  }
  for (; o < bytes; o += 4) {
    let a: f32 = 0;
    let vr = v + o;
    for (let pp = p; pp < pend; pp += 4, vr += stride) a += load<f32>(pp) * load<f32>(vr);
    store<f32>(out + o, a);
  }
}

// Multi-head self-attention over the fused QKV rows, one (batch, head, query) at a time: the seq
// scores live in `scratch` (seq f32), so no [seq, seq] matrix is ever materialised. K and V are read
// in place, rows 3·hidden apart; that strided access, not arithmetic, is what bounds this kernel.
export function attention_f32(ctx: usize, qkv: usize, maskAdd: usize, batch: i32, seq: i32, hidden: i32, heads: i32, scratch: usize): void {
  const d = hidden / heads;
  const scale = <f32>(1 / Math.sqrt(<f64>d));
  const stride = <usize>(3 * hidden) << 2;
  const hiddenBytes = <usize>hidden << 2;
  const headBytes = <usize>d << 2;
  for (let b = 0; b < batch; b++) {
    const rows = qkv + <usize>(b * seq) * stride;
    const mask = maskAdd + (<usize>(b * seq) << 2);
    const out = ctx + <usize>(b * seq) * hiddenBytes;
    for (let h = 0; h < heads; h++) {
      const q = rows + <usize>h * headBytes;
      const k = q + hiddenBytes;
      const v = k + hiddenBytes;
      for (let i = 0; i < seq; i++) {
        const mx = scores_f32(scratch, q + <usize>i * stride, k, stride, mask, seq, d, scale);
        softmax_f32(scratch, seq, mx);
        weighted_sum_f32(out + <usize>i * hiddenBytes + <usize>h * headBytes, scratch, v, stride, seq, d);
      }
    }
  }
}

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
// the f32 mask. Returns the row maximum. Four keys per pass share each load of q.
@inline function scores_f32(scores: usize, q: usize, k: usize, stride: usize, mask: usize, seq: i32, d: i32, scale: f32): f32 {
  const vecBytes = <usize>(d & ~3) << 2;
  const bytes = <usize>d << 2;
  const vscale = f32x4.splat(scale);
  let vmax = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= seq; j += 4) {
    const k0 = k + <usize>j * stride;
    const k1 = k0 + stride;
    const k2 = k1 + stride;
    const k3 = k2 + stride;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    let o: usize = 0;
    for (; o < vecBytes; o += 16) {
      const qv = v128.load(q + o);
      a0 = f32x4.add(a0, f32x4.mul(qv, v128.load(k0 + o)));
      a1 = f32x4.add(a1, f32x4.mul(qv, v128.load(k1 + o)));
      a2 = f32x4.add(a2, f32x4.mul(qv, v128.load(k2 + o)));
      a3 = f32x4.add(a3, f32x4.mul(qv, v128.load(k3 + o)));
    }
    let s = hsum4x4(a0, a1, a2, a3);
    if (o < bytes) {
      let t0: f32 = 0, t1: f32 = 0, t2: f32 = 0, t3: f32 = 0;
      for (; o < bytes; o += 4) {
        const qs = load<f32>(q + o);
        t0 += qs * load<f32>(k0 + o);
        t1 += qs * load<f32>(k1 + o);
        t2 += qs * load<f32>(k2 + o);
        t3 += qs * load<f32>(k3 + o);
      }
      s = f32x4.add(s, f32x4.replace_lane(f32x4.replace_lane(f32x4.replace_lane(f32x4.splat(t0), 1, t1), 2, t2), 3, t3));
    }
    s = f32x4.add(f32x4.mul(s, vscale), v128.load(mask + (<usize>j << 2)));
    v128.store(scores + (<usize>j << 2), s);
    vmax = f32x4.max(vmax, s);
  }
  let mx = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
  for (; j < seq; j++) {
    const s = dot_f32(q, k + <usize>j * stride, d) * scale + load<f32>(mask + (<usize>j << 2));
    store<f32>(scores + (<usize>j << 2), s);
    mx = max(mx, s);
  }
  return mx;
}

// scores ← softmax(scores), stable: a fully masked row has every score equal to the f32 minimum, so
// every exponent is exp(0) and the row averages V uniformly, as in HF.
@inline function softmax_f32(scores: usize, seq: i32, mx: f32): void {
  const end = scores + (<usize>seq << 2);
  let sum: f64 = 0;
  for (let p = scores; p < end; p += 4) {
    const e = Mathf.exp(load<f32>(p) - mx);
    store<f32>(p, e);
    sum += <f64>e;
  }
  const inv = 1 / sum;
  for (let p = scores; p < end; p += 4) store<f32>(p, <f32>(<f64>load<f32>(p) * inv));
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
// scores live in `scratch` (seq f32), so no [seq, seq] matrix is ever materialised.
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

import { ACT_NONE, exp_nonpositive_f32x4 } from './activations';
import { gemm_f32, NR, pack_b_f32 } from './gemm';

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

// Row maximum, for a stable softmax.
@inline function max_f32(p: usize, n: i32): f32 {
  const vecEnd = p + (<usize>(n & ~3) << 2);
  const end = p + (<usize>n << 2);
  let vmax = f32x4.splat(-Infinity);
  for (; p < vecEnd; p += 16) vmax = f32x4.pmax(vmax, v128.load(p));
  let mx = max(max(f32x4.extract_lane(vmax, 0), f32x4.extract_lane(vmax, 1)), max(f32x4.extract_lane(vmax, 2), f32x4.extract_lane(vmax, 3)));
  for (; p < end; p += 4) mx = max(mx, load<f32>(p));
  return mx;
}

// V [seq, d] (rows `stride` bytes apart) as the GEMM's packed B with n = d outputs over k = seq:
// panel p's row kk is V[kk, 8p..8p+8), zero past d.
@inline function pack_v_f32(dst: usize, v: usize, stride: usize, seq: i32, d: i32): void {
  const panels = (d + NR - 1) / NR;
  for (let p = 0; p < panels; p++) {
    const cols = min(NR, d - p * NR);
    let out = dst + <usize>p * <usize>seq * (<usize>NR << 2);
    let src = v + (<usize>(p * NR) << 2);
    for (let kk = 0; kk < seq; kk++, out += <usize>NR << 2, src += stride) {
      if (cols == NR) {
        v128.store(out, v128.load(src));
        v128.store(out, v128.load(src, 16), 16);
      } else {
        for (let c = 0; c < NR; c++) store<f32>(out + (<usize>c << 2), c < cols ? load<f32>(src + (<usize>c << 2)) : 0);
      }
    }
  }
}

/** f32 count of the scratch one attention_f32 call needs: a head's packed K and V and its [seq, seq] scores. */
export function attention_scratch_size(seq: i32, d: i32): i32 {
  const keys = (seq + NR - 1) / NR * NR;
  const dims = (d + NR - 1) / NR * NR;
  return keys * d + dims * seq + seq * seq;
}

// Multi-head self-attention over the fused QKV rows, for the (batch, head) pairs numbered
// b·heads + h in [from, to) — the thread pool gives each thread its own range and scratch. Per pair,
// both products run through the GEMM microkernel: the head's K (scaled by 1/√d, a power of two at
// d = 64, so exact) and V are packed into scratch, then scores = Q·Kᵀ + mask (the mask row is the
// GEMM's bias), softmax per row, ctx = P·V written straight into the head's columns. The kernel
// before this one read K and V in place (rows 3·hidden f32 apart), one query at a time: it took 1.6
// times as long at seq 128 and 1.75 times at seq 512 (Node 20, CPU time per layer).
export function attention_f32(ctx: usize, qkv: usize, maskAdd: usize, seq: i32, hidden: i32, heads: i32, from: i32, to: i32, scratch: usize): void {
  const d = hidden / heads;
  const scale = <f32>(1 / Math.sqrt(<f64>d));
  const stride = <usize>(3 * hidden) << 2;
  const hiddenBytes = <usize>hidden << 2;
  const headBytes = <usize>d << 2;
  const kp = scratch;
  const vp = kp + (<usize>((seq + NR - 1) / NR * NR * d) << 2);
  const scores = vp + (<usize>((d + NR - 1) / NR * NR * seq) << 2);
  const rowBytes = <usize>seq << 2;
  for (let pair = from; pair < to; pair++) {
    const b = pair / heads;
    const h = pair % heads;
    const q = qkv + <usize>(b * seq) * stride + <usize>h * headBytes;
    const mask = maskAdd + (<usize>(b * seq) << 2);
    pack_b_f32(kp, q + hiddenBytes, stride, seq, d, scale);
    pack_v_f32(vp, q + 2 * hiddenBytes, stride, seq, d);
    gemm_f32(scores, seq, q, 3 * hidden, seq, d, kp, seq, mask, ACT_NONE);
    for (let i = 0; i < seq; i++) {
      const row = scores + <usize>i * rowBytes;
      softmax_f32(row, seq, max_f32(row, seq));
    }
    gemm_f32(ctx + <usize>(b * seq) * hiddenBytes + <usize>h * headBytes, hidden, scores, seq, seq, seq, vp, d, 0, ACT_NONE);
  }
}

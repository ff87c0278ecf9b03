import { ACT_NONE } from './activations';
import { madd, store_row_8, tile_rx8 } from './tile';

// Packed B: column panels of NR output columns, each k rows of NR f32, so W[j, kk] sits at
// f32 index (j / NR)·k·NR + kk·NR + j % NR. The last panel is zero-padded: the microkernel always
// loads a full panel row and only the stores are trimmed to n. A range of panels is itself a packed
// B (of fewer columns), which is how the thread pool splits a product by columns. The host knows
// it as PANEL_COLUMNS (src/runtime/kernels.ts).
export const NR: i32 = 8;

// Rows per tile of the kernels that read A in place (the simd builds, and the relaxed builds when
// every scratch slot is taken). Each row takes two accumulators, the tile's two B vectors and the
// broadcast A take three more, and V8 allocates 15 vector registers on x64: with fused multiply-add
// (relaxed SIMD) 6 rows fit exactly (12 + 3); with mul + add every step also needs the product, so 4
// rows (8 + 2 + 4 broadcasts + 1). On the 2-core Xeon (Emerald Rapids, 2.9 GHz turbo) Node 20 runs
// 4×8 at 29–32 GFLOP/s against a native mul + add ceiling of 34.5 (12 FLOP/cycle); A packed as below
// lost 10–20% there (the shuffles compete with the adds for ports 1 and 5), and 5×8 in place 15%.
const MR: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 4;

export function gemm_packed_b_size(n: i32, k: i32): i32 {
  return (n + NR - 1) / NR * NR * k;
}

export function gemm_pack_b_f32(dst: usize, w: usize, n: i32, k: i32): void {
  pack_b_f32(dst, w, <usize>k << 2, n, k, 1);
}

// Packs B [n, k] whose rows are rowStride bytes apart, times `scale` (attention packs each head's
// keys, 3·hidden f32 apart, with 1/√d folded in). A full panel goes four k at a time, through 4×4
// transposes of its two halves: element by element, attention took 3–4% longer and loading
// albert-base in f32 7% longer (Deno).
@inline export function pack_b_f32(dst: usize, w: usize, rowStride: usize, n: i32, k: i32, scale: f32): void {
  const panels = (n + NR - 1) / NR;
  const rowBytes = <usize>NR << 2;
  const vscale = f32x4.splat(scale);
  const end4 = <usize>(k & ~3) << 2;
  const end = <usize>k << 2;
  for (let p = 0; p < panels; p++) {
    const panel = dst + <usize>p * <usize>k * rowBytes;
    if ((p + 1) * NR <= n) {
      const s0 = w + <usize>(p * NR) * rowStride;
      const s4 = s0 + 4 * rowStride;
      let d = panel;
      let off: usize = 0;
      for (; off < end4; off += 16, d += 4 * rowBytes) {
        pack_rows_4x4(d, rowBytes, s0 + off, rowStride, vscale);
        pack_rows_4x4(d + 16, rowBytes, s4 + off, rowStride, vscale);
      }
      for (; off < end; off += 4, d += rowBytes) {
        for (let c = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), load<f32>(s0 + <usize>c * rowStride + off) * scale);
      }
      continue;
    }
    for (let c = 0; c < NR; c++) {
      const j = p * NR + c;
      let d = panel + (<usize>c << 2);
      const panelEnd = d + <usize>k * rowBytes;
      if (j < n) {
        let s = w + <usize>j * rowStride;
        for (; d < panelEnd; d += rowBytes, s += 4) store<f32>(d, load<f32>(s) * scale);
      } else {
        for (; d < panelEnd; d += rowBytes) store<f32>(d, 0);
      }
    }
  }
}

// Rows r0..r3 (four lanes each) transposed: lane i of every row goes to the vector stored at
// dst + i·dstStride, row r in its lane r.
@inline function store_transposed_4x4(dst: usize, dstStride: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const lo01 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const hi01 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const lo23 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const hi23 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i64x2.shuffle(lo01, lo23, 0, 2));
  v128.store(dst + dstStride, i64x2.shuffle(lo01, lo23, 1, 3));
  v128.store(dst + 2 * dstStride, i64x2.shuffle(hi01, hi23, 0, 2));
  v128.store(dst + 3 * dstStride, i64x2.shuffle(hi01, hi23, 1, 3));
}

// Four f32 at src from each of four rows `stride` apart, times `scale`, transposed as above.
@inline function pack_rows_4x4(dst: usize, dstStride: usize, src: usize, stride: usize, scale: v128): void {
  const r0 = f32x4.mul(v128.load(src), scale);
  const r1 = f32x4.mul(v128.load(src + stride), scale);
  const r2 = f32x4.mul(v128.load(src + 2 * stride), scale);
  const r3 = f32x4.mul(v128.load(src + 3 * stride), scale);
  store_transposed_4x4(dst, dstStride, r0, r1, r2, r3);
}

// ---- Relaxed builds: A packed per call, 5×8 tiles, blocked for the caches ----
//
// The 5×8 tile (tile.ts) from A packed in groups of 4 k × 5 rows (pack_a_5). On the Xeon (native
// 128-bit FMA ceiling 46–47 GFLOP/s) Deno 2.9 ran it, with row 4 still a splat load per step, at
// 37–42 GFLOP/s where the in-place 6×8 kernel runs at 32–37. Slower there, in the same interleaved
// runs (5×8 39.5, in-place 6×8 33): 6×8 packed 28 (one vector register short, so it spills), 6×8
// packed with 6 splat loads 32 (V8 adds an address lea per load offset), 4×8 packed 35.6, 4×8 in
// place with k unrolled by 4 35.6 (and only when each unrolled step sits in its own branch: Binaryen
// otherwise regroups the steps per accumulator and they spill); 5×8 with splat loads for all five
// rows 15% slower (the same in Chromium, which needs no bounds checks).
//
// Loop nest (GotoBLAS): rows in blocks of MC, columns in blocks whose KC rows of packed B take
// SLAB_BYTES (L2), k in blocks of at most KC; per 5-row tile and k block, A is packed into a
// KC·5-float scratch slot (L1) and run against every panel of the column block. Between k blocks
// the partial sums wait in C, which holds f32 exactly as the accumulators do: every C element is
// still one f32 sum in k order, the same bits as the in-place kernels with FMA. KC = 768 with 1 MB
// slabs ran whole passes 2.7% (B1 L128), 2.8% (L512) and 3.7% (B8 L128) faster than KC = 256 with
// 512 KB slabs (Deno, per-pair medians of interleaved passes): K = 768 is then one block, so a tile
// neither stores and reloads C between k blocks nor pays its call three times. 768 KB slabs
// measured the same as 1 MB, 2 MB (all of L2) 4% slower. Rows in blocks of 40 lost 15–20% (B comes
// back from L3 for every block); 260-row blocks gained 2–5% at M = 1024 over 130.
const PACKED_MR: i32 = 5;
const KC: i32 = 768;
const SLAB_BYTES: i32 = 1 << 20;
const MC: i32 = 52 * PACKED_MR;

// Scratch slots for packed A: between the module's static data and the end of its initial memory
// (4 pages: asconfig.json's initialMemory, and the threads builds' memory that src/runtime/module.ts
// creates), which the host never allocates from (src/runtime/arena.ts starts at the initial memory
// size): 16 flags, then as many slots of KC·5 f32 as fit, up to 16. In threads builds every
// worker's instance runs on the same memory, so a call claims a slot with an atomic
// compare-exchange and frees it at the end; with every slot taken (more than 16 threads) it runs the
// in-place kernels, which give the same bits.
const SLOT_BYTES: usize = <usize>(KC * PACKED_MR) << 2;
const MAX_SLOTS: i32 = 16;
const SCRATCH_END: usize = 4 << 16;

@inline function slot_flags(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

@inline function slot_address(slot: i32): usize {
  return slot_flags() + (<usize>MAX_SLOTS << 2) + <usize>slot * SLOT_BYTES;
}

// A free slot, now claimed, or -1.
@inline function claim_slot(): i32 {
  const first = slot_address(0);
  const count = first < SCRATCH_END ? min(MAX_SLOTS, <i32>((SCRATCH_END - first) / SLOT_BYTES)) : 0;
  if (!ASC_FEATURE_THREADS) return count ? 0 : -1;
  for (let s = 0; s < count; s++) {
    if (atomic.cmpxchg<i32>(slot_flags() + (<usize>s << 2), 0, 1) == 0) return s;
  }
  return -1;
}

@inline function release_slot(slot: i32): void {
  if (ASC_FEATURE_THREADS) atomic.store<i32>(slot_flags() + (<usize>slot << 2), 0);
}

// Rows i < rows (≤ 5) of A, kb columns from a, into dst, missing rows zero: groups of 4 k, each 80
// bytes (rows 0–3 of k, k + 1, k + 2, k + 3, then row 4's four k), then the kb % 4 left k, 5 floats
// each. A group is a 4×4 transpose of rows 0–3 and row 4 as it is. Missing rows read row 0 (always in
// bounds) and are then zeroed.
function pack_a_5(dst: usize, a: usize, lda: usize, rows: i32, kb: i32): void {
  const a1 = rows > 1 ? a + lda : a;
  const a2 = rows > 2 ? a + 2 * lda : a;
  const a3 = rows > 3 ? a + 3 * lda : a;
  const a4 = rows > 4 ? a + 4 * lda : a;
  const zero = f32x4.splat(0);
  const end = <usize>kb << 2;
  const end4 = <usize>(kb & ~3) << 2;
  let off: usize = 0;
  let d = dst;
  for (; off < end4; off += 16, d += 80) {
    const r0 = v128.load(a + off);
    const r1 = rows > 1 ? v128.load(a1 + off) : zero;
    const r2 = rows > 2 ? v128.load(a2 + off) : zero;
    const r3 = rows > 3 ? v128.load(a3 + off) : zero;
    store_transposed_4x4(d, 16, r0, r1, r2, r3);
    v128.store(d, rows > 4 ? v128.load(a4 + off) : zero, 64);
  }
  for (; off < end; off += 4, d += 20) {
    store<f32>(d, load<f32>(a + off));
    store<f32>(d, rows > 1 ? load<f32>(a1 + off) : 0, 4);
    store<f32>(d, rows > 2 ? load<f32>(a2 + off) : 0, 8);
    store<f32>(d, rows > 3 ? load<f32>(a3 + off) : 0, 12);
    store<f32>(d, rows > 4 ? load<f32>(a4 + off) : 0, 16);
  }
}

function gemm_f32_packed_5x8(c: usize, ldc: usize, a: usize, kb: i32, b: usize, cols: i32, accumulate: bool, bias: usize, act: i32): void {
  tile_rx8<f32>(5, c, ldc, a, kb, b, cols, accumulate, bias, act, 0);
}

function gemm_f32_packed_4x8(c: usize, ldc: usize, a: usize, kb: i32, b: usize, cols: i32, accumulate: bool, bias: usize, act: i32): void {
  tile_rx8<f32>(4, c, ldc, a, kb, b, cols, accumulate, bias, act, 0);
}

function gemm_f32_packed_3x8(c: usize, ldc: usize, a: usize, kb: i32, b: usize, cols: i32, accumulate: bool, bias: usize, act: i32): void {
  tile_rx8<f32>(3, c, ldc, a, kb, b, cols, accumulate, bias, act, 0);
}

function gemm_f32_packed_2x8(c: usize, ldc: usize, a: usize, kb: i32, b: usize, cols: i32, accumulate: bool, bias: usize, act: i32): void {
  tile_rx8<f32>(2, c, ldc, a, kb, b, cols, accumulate, bias, act, 0);
}

function gemm_f32_packed_1x8(c: usize, ldc: usize, a: usize, kb: i32, b: usize, cols: i32, accumulate: bool, bias: usize, act: i32): void {
  tile_rx8<f32>(1, c, ldc, a, kb, b, cols, accumulate, bias, act, 0);
}

// The loop nest. A comes packed (ap: every 5-row tile over all of k, as gemm_pack_a_f32
// lays it out) or is packed here per tile and k block into `scratch` (ap = 0).
function gemm_f32_blocked(c: usize, ldc: usize, a: usize, lda: usize, ap: usize, scratch: usize, m: i32, k: i32, bp: usize, n: i32, bias: usize, act: i32): void {
  const panelBytes = <usize>k * (<usize>NR << 2);
  const panels = (n + NR - 1) / NR;
  // Equal k blocks of at most KC (K = 768 is one block, 3072 four), each but the last a whole number
  // of pack_a_5's groups of 4 k.
  const kBlocks = (k + KC - 1) / KC;
  const kc = ((k + kBlocks - 1) / kBlocks + 3) & ~3;
  const slabPanels = max(1, SLAB_BYTES / (kc * NR * 4));
  for (let i0 = 0; i0 < m; i0 += MC) {
    const i1 = min(m, i0 + MC);
    for (let p0 = 0; p0 < panels; p0 += slabPanels) {
      const p1 = min(panels, p0 + slabPanels);
      for (let k0 = 0; k0 < k; k0 += kc) {
        const kb = min(kc, k - k0);
        const accumulate = k0 > 0;
        const last = k0 + kb == k;
        const blockAct = last ? act : ACT_NONE;
        for (let i = i0; i < i1; i += PACKED_MR) {
          const rows = min(PACKED_MR, i1 - i);
          // i is a multiple of 5 (so is MC): its tile starts i·k floats into ap.
          let tile = ap + ((<usize>i * <usize>k + <usize>k0 * PACKED_MR) << 2);
          if (!ap) {
            pack_a_5(scratch, a + <usize>i * lda + (<usize>k0 << 2), lda, rows, kb);
            tile = scratch;
          }
          const ci = c + <usize>i * ldc;
          for (let p = p0; p < p1; p++) {
            const j = p * NR;
            const b = bp + <usize>p * panelBytes + (<usize>k0 << 5);
            const panelBias = last && bias ? bias + (<usize>j << 2) : 0;
            const cp = ci + (<usize>j << 2);
            const cols = min(NR, n - j);
            if (rows == 5) gemm_f32_packed_5x8(cp, ldc, tile, kb, b, cols, accumulate, panelBias, blockAct);
            else if (rows == 4) gemm_f32_packed_4x8(cp, ldc, tile, kb, b, cols, accumulate, panelBias, blockAct);
            else if (rows == 3) gemm_f32_packed_3x8(cp, ldc, tile, kb, b, cols, accumulate, panelBias, blockAct);
            else if (rows == 2) gemm_f32_packed_2x8(cp, ldc, tile, kb, b, cols, accumulate, panelBias, blockAct);
            else gemm_f32_packed_1x8(cp, ldc, tile, kb, b, cols, accumulate, panelBias, blockAct);
          }
        }
      }
    }
  }
}

// ---- A packed once per product ----
//
// gemm_f32 packs A again for every column block, and split by column panels over threads, each
// chunk of a product would pack all of A again for its few panels: at 12 chunks of an N = 768
// product that cost 7–8% more than one call (Deno, relaxed). The host (src/runtime/pool.ts) packs A
// once instead, by tiles shared out over the threads, and then runs (or shares out the panels of)
// gemm_f32_packed_a, which reads the tiles in place: the same sums in the same order.

/** f32 count of A [m, k] packed by gemm_pack_a_f32 (m rounded up to whole 5-row tiles). */
export function gemm_packed_a_size(m: i32, k: i32): i32 {
  return (m + PACKED_MR - 1) / PACKED_MR * PACKED_MR * k;
}

/** Packs rows i < m of A (row stride lda f32) into 5-row tiles of all k, laid out by pack_a_5. */
export function gemm_pack_a_f32(dst: usize, a: usize, lda: i32, m: i32, k: i32): void {
  const ldaBytes = <usize>lda << 2;
  const tileBytes = (<usize>PACKED_MR * <usize>k) << 2;
  for (let i = 0; i < m; i += PACKED_MR, dst += tileBytes, a += <usize>PACKED_MR * ldaBytes) {
    pack_a_5(dst, a, ldaBytes, min(PACKED_MR, m - i), k);
  }
}

/** As gemm_f32, from A packed by gemm_pack_a_f32 at ap. */
export function gemm_f32_packed_a(c: usize, ldc: i32, ap: usize, m: i32, k: i32, bp: usize, n: i32, bias: usize, act: i32): void {
  if (k > 0) gemm_f32_blocked(c, <usize>ldc << 2, 0, 0, ap, 0, m, k, bp, n, bias, act);
  else gemm_f32_in_place(c, <usize>ldc << 2, 0, 0, m, k, bp, n, bias, act);
}

// ---- Kernels that read A in place: the simd builds, and the relaxed builds without a free slot ----

// An mr×8 tile of C over the whole k, mr ≤ MR a constant at each call site so the unused rows fold
// away. Per k: 2 B loads, one broadcast load of A per row, 2 multiply-adds per row. A broadcast load
// takes a load port only, where a shuffle would compete with the adds (see MR). Each C element is a
// plain f32 sum in k order.
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
function gemm_f32_in_place(c: usize, ldc: usize, a: usize, lda: usize, m: i32, k: i32, bp: usize, n: i32, bias: usize, act: i32): void {
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
      if (MR == 6) gemm_f32_6x8(cp, ldc, ap, lda, k, b, panelBias, cols, act);
      else gemm_f32_4x8(cp, ldc, ap, lda, k, b, panelBias, cols, act);
      cp += <usize>MR * ldc;
      ap += <usize>MR * lda;
    }
    if (rows == 5) gemm_f32_5x8(cp, ldc, ap, lda, k, b, panelBias, cols, act);
    else if (rows == 4) gemm_f32_4x8(cp, ldc, ap, lda, k, b, panelBias, cols, act);
    else if (rows == 3) gemm_f32_3x8(cp, ldc, ap, lda, k, b, panelBias, cols, act);
    else if (rows == 2) gemm_f32_2x8(cp, ldc, ap, lda, k, b, panelBias, cols, act);
    else if (rows == 1) gemm_f32_1x8(cp, ldc, ap, lda, k, b, panelBias, cols, act);
  }
}

// C = act(A·Wᵀ + bias) (src/runtime/kernels.ts): relaxed builds pack A when a scratch slot is free.
export function gemm_f32(c: usize, ldc: i32, a: usize, lda: i32, m: i32, k: i32, bp: usize, n: i32, bias: usize, act: i32): void {
  const ldcBytes = <usize>ldc << 2;
  const ldaBytes = <usize>lda << 2;
  if (ASC_FEATURE_RELAXED_SIMD && k > 0) {
    const slot = claim_slot();
    if (slot >= 0) {
      gemm_f32_blocked(c, ldcBytes, a, ldaBytes, 0, slot_address(slot), m, k, bp, n, bias, act);
      release_slot(slot);
      return;
    }
  }
  gemm_f32_in_place(c, ldcBytes, a, ldaBytes, m, k, bp, n, bias, act);
}

/**
 * The contract between the host and the wasm module: every export of `assembly/index.ts`.
 * Pointers are byte offsets into the module's linear memory; f32 tensors are row-major;
 * ids are i32. Kernels never allocate and never check bounds: the host validates first.
 */
export enum Act {
  None = 0,
  GeluNew = 1, // HF "gelu_new": 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))
  Gelu = 2, // HF "gelu": exact, 0.5x(1 + erf(x/√2))
  Relu = 3,
  GeluFast = 4, // HF "gelu_fast": 0.5x(1 + tanh(0.7978845608x(1 + 0.044715x²)))
  QuickGelu = 5, // HF "quick_gelu": x·sigmoid(1.702x)
  Silu = 6, // HF "silu"/"swish": x·sigmoid(x)
  Tanh = 7, // the pooler's activation
}

/**
 * Output columns per panel of both GEMMs' packed weights (assembly/gemm.ts NR). A run of whole
 * panels is itself a packed weight: the loader packs by runs of panels and the thread pool splits
 * products by them.
 */
export const PANEL_COLUMNS = 8;

export interface Kernels {
  memory: WebAssembly.Memory;

  /** f32 count of W [n, k] packed by gemm_pack_b_f32 (includes padding). */
  gemm_packed_b_size(n: number, k: number): number;
  /** Re-lays an HF Linear weight W [n = out, k = in] into the GEMM's 8-column panels, once, at load. */
  gemm_pack_b_f32(dst: number, w: number, n: number, k: number): void;
  /**
   * C[i, j] = act(Σ_k A[i·lda + k] · W[j, k] + bias[j]) written at C[i·ldc + j], for i < m, j < n.
   * `bias` 0 means none. `bp` is W packed by gemm_pack_b_f32.
   */
  gemm_f32(c: number, ldc: number, a: number, lda: number, m: number, k: number, bp: number, n: number, bias: number, act: Act): void;
  /** f32 count of A [m, k] packed by gemm_pack_a_f32 (includes padding). */
  gemm_packed_a_size(m: number, k: number): number;
  /** Packs rows i < m of A (row stride lda) for gemm_f32_packed_a, once per product (for all its threads). */
  gemm_pack_a_f32(dst: number, a: number, lda: number, m: number, k: number): void;
  /** As gemm_f32, from A packed by gemm_pack_a_f32 at `ap`. */
  gemm_f32_packed_a(c: number, ldc: number, ap: number, m: number, k: number, bp: number, n: number, bias: number, act: Act): void;
  /** Bytes of W [n, k] quantized and packed by gemm_pack_b_i8 (a range of its 8-column panels is again a packed W). */
  gemm_i8_packed_b_size(n: number, k: number): number;
  /** Quantizes an HF Linear weight W [n = out, k = in] (f32) to int8 per output channel, into the int8 GEMM's panels. */
  gemm_pack_b_i8(dst: number, w: number, n: number, k: number): void;
  /** Rows per tile of A quantized by quantize_rows_u7 (5 in relaxed builds, 1 in the others). */
  gemm_i8_a_tile_rows(): number;
  /** Bytes of m rows of A [m, k] quantized by quantize_rows_u7 (m rounded up to whole tiles). */
  gemm_i8_packed_a_size(m: number, k: number): number;
  /**
   * Quantizes rows i < m of A (f32, row stride lda) to 7 bits, asymmetric per row:
   * gemm_i8_packed_a_size(m, k) bytes at qa (u8 in tiles of 5 rows interleaved as the relaxed tile
   * reads them, rows of i16 in the others), each row's scale (f32) and zero point (i32) in 8 bytes at qs.
   */
  quantize_rows_u7(qa: number, qs: number, a: number, lda: number, m: number, k: number): void;
  /** As gemm_f32, from A quantized by quantize_rows_u7 and W packed by gemm_pack_b_i8 (exact i32 sums, dequantized per element). */
  gemm_i8(c: number, ldc: number, qa: number, qs: number, m: number, k: number, bp: number, n: number, bias: number, act: Act): void;
  /** Which build this is: bit 0 relaxed SIMD, bit 1 threads (memory imported, shared). */
  kernel_features(): number;
  /** x[i] = act(x[i]) in place, i < n. */
  activation_f32(x: number, n: number, act: Act): void;
  /**
   * out[r] = LayerNorm(x[r] + residual[r]) · gamma + beta over `cols`, for r < rows; residual 0 = none.
   * `out` may alias `x` or `residual`.
   */
  layernorm_f32(out: number, x: number, residual: number, gamma: number, beta: number, rows: number, cols: number, eps: number): void;
  /** f32 count of the scratch one attention_f32 call needs (per thread). */
  attention_scratch_size(seq: number, d: number): number;
  /**
   * Multi-head self-attention on a fused QKV buffer: qkv is [batch·seq, 3·hidden] (Q | K | V, head h in
   * columns h·d..(h+1)·d of each third), maskAdd [batch, seq] is added to every query's scores per key,
   * ctx [batch·seq, hidden] receives softmax(QKᵀ/√d + mask)·V, for the (batch, head) pairs numbered
   * b·heads + h in [from, to). `scratch` holds attention_scratch_size(seq, hidden / heads) f32.
   */
  attention_f32(ctx: number, qkv: number, maskAdd: number, seq: number, hidden: number, heads: number, from: number, to: number, scratch: number): void;
  /**
   * out[t] = (word[ids[t]] + tokenType[types[t]]) + position[t mod seq], rows of `dim`, t < tokens.
   * `word` is the word-embedding table [vocab, dim] packed by gemm_pack_b_f32 (it is also the tied
   * MLM decoder's weight, so it is stored once); tokenType and position are plain row-major.
   */
  embed_f32(out: number, ids: number, types: number, tokens: number, seq: number, word: number, tokenType: number, position: number, dim: number): void;
}

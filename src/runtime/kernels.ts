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

export interface Kernels {
  memory: WebAssembly.Memory;

  /** f32 count of W [n, k] packed by gemm_pack_b_f32 (includes padding). */
  gemm_packed_b_size(n: number, k: number): number;
  /** Re-lays an HF Linear weight W [n = out, k = in] into the GEMM's panels, once, at load. */
  gemm_pack_b_f32(dst: number, w: number, n: number, k: number): void;
  /**
   * C[i, j] = act(Σ_k A[i·lda + k] · W[j, k] + bias[j]) written at C[i·ldc + j], for i < m, j < n.
   * `bias` 0 means none. `bp` is W packed by gemm_pack_b_f32.
   */
  gemm_f32(c: number, ldc: number, a: number, lda: number, m: number, k: number, bp: number, n: number, bias: number, act: Act): void;
  /** x[i] = act(x[i]) in place, i < n. */
  activation_f32(x: number, n: number, act: Act): void;
  /**
   * out[r] = LayerNorm(x[r] + residual[r]) · gamma + beta over `cols`, for r < rows; residual 0 = none.
   * `out` may alias `x` or `residual`.
   */
  layernorm_f32(out: number, x: number, residual: number, gamma: number, beta: number, rows: number, cols: number, eps: number): void;
  /**
   * Multi-head self-attention on a fused QKV buffer: qkv is [batch·seq, 3·hidden] (Q | K | V, head h in
   * columns h·d..(h+1)·d of each third), maskAdd [batch, seq] is added to every query's scores per key,
   * ctx [batch·seq, hidden] receives softmax(QKᵀ/√d + mask)·V. `scratch` holds ≥ seq f32.
   */
  attention_f32(ctx: number, qkv: number, maskAdd: number, batch: number, seq: number, hidden: number, heads: number, scratch: number): void;
  /**
   * out[t] = (word[ids[t]] + tokenType[types[t]]) + position[t mod seq], rows of `dim`, t < tokens.
   * `word` is the word-embedding table [vocab, dim] packed by gemm_pack_b_f32 (it is also the tied
   * MLM decoder's weight, so it is stored once); tokenType and position are plain row-major.
   */
  embed_f32(out: number, ids: number, types: number, tokens: number, seq: number, word: number, tokenType: number, position: number, dim: number): void;
}

export { gemm_packed_b_size, gemm_pack_b_f32, gemm_f32, gemm_packed_a_size, gemm_pack_a_f32, gemm_f32_packed_a } from './gemm';
export { gemm_i8_packed_b_size, gemm_i8_a_tile_rows, gemm_i8_packed_a_size, gemm_pack_b_i8, quantize_rows_u7, gemm_i8 } from './gemm_i8';
export { activation_f32 } from './activations';
export { layernorm_f32 } from './norm';
export { attention_scratch_size, attention_f32 } from './attention';
export { embed_f32 } from './embed';

// Which build this is (asconfig.json's targets), so a module handed in by the caller describes itself:
// bit 0 relaxed SIMD, bit 1 threads (shared memory imported).
export function kernel_features(): i32 {
  return (ASC_FEATURE_RELAXED_SIMD ? 1 : 0) | (ASC_FEATURE_THREADS ? 2 : 0);
}

export { gemm_packed_b_size, gemm_pack_b_f32, gemm_f32 } from './gemm';
export { activation_f32 } from './activations';
export { layernorm_f32 } from './norm';
export { attention_f32 } from './attention';
export { embed_f32 } from './embed';

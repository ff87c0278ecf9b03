import { AlbertError } from '../errors.js';
import type { Tensor } from '../model/albert.js';
import { encodeAndRun, requireTexts, type TaskContext } from './common.js';

export interface FeatureExtractionOptions {
  /** 'none': every token's hidden state [B, L, H]; 'mean': average over real tokens [B, H]; 'cls': the first token [B, H]. Default 'none'. */
  pooling?: 'none' | 'mean' | 'cls';
  /** Scale each vector to unit L2 norm. Default false. */
  normalize?: boolean;
}

/** Embeddings from last_hidden_state, as transformers.js' feature-extraction pipeline returns them. */
export async function featureExtraction(ctx: TaskContext, input: string | string[], options: FeatureExtractionOptions = {}): Promise<Tensor> {
  const { texts } = requireTexts('feature-extraction', input);
  const pooling = options.pooling ?? 'none';
  if (!['none', 'mean', 'cls'].includes(pooling)) {
    throw new AlbertError('INPUT_INVALID', `pooling must be 'none', 'mean' or 'cls', got ${String(pooling)}`);
  }
  const { encodings, result } = await encodeAndRun(ctx, texts, ['last_hidden_state']);
  const { data, dims } = result.last_hidden_state!;
  const [B, L, H] = dims;

  let out: Tensor;
  if (pooling === 'none') {
    out = { data, dims };
  } else {
    const pooled = new Float32Array(B * H);
    for (let b = 0; b < B; b++) {
      const row = pooled.subarray(b * H, (b + 1) * H);
      if (pooling === 'cls') {
        row.set(data.subarray(b * L * H, b * L * H + H));
        continue;
      }
      // Mean over the tokens the mask keeps, as sentence-transformers' mean pooling does.
      const mask = encodings[b].attention_mask;
      const sum = new Float64Array(H);
      let count = 0;
      for (let t = 0; t < L; t++) {
        if (!mask[t]) continue;
        count++;
        const token = data.subarray((b * L + t) * H, (b * L + t + 1) * H);
        for (let i = 0; i < H; i++) sum[i] += token[i];
      }
      for (let i = 0; i < H; i++) row[i] = sum[i] / Math.max(count, 1);
    }
    out = { data: pooled, dims: [B, H] };
  }
  if (options.normalize) {
    const width = out.dims[out.dims.length - 1];
    for (let v = 0; v < out.data.length; v += width) {
      const vec = out.data.subarray(v, v + width);
      let norm = 0;
      for (let i = 0; i < width; i++) norm += vec[i] * vec[i];
      // torch.nn.functional.normalize's eps keeps a zero vector at zero.
      const scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
      for (let i = 0; i < width; i++) vec[i] *= scale;
    }
  }
  return out;
}

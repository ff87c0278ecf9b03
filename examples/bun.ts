// Fill-mask and a sentence embedding from a Bun script:
//
//   bun examples/bun.ts "Paris is the [MASK] of France." [model]
//
// `model` is a directory or an http(s) URL prefix holding config.json, model.safetensors and
// spiece.model, or a Hugging Face hub id (default albert/albert-base-v2).
import { pipeline } from 'albert-wasm';

const [text = 'Paris is the [MASK] of France.', model = 'albert/albert-base-v2'] = Bun.argv.slice(2);

const unmasker = await pipeline('fill-mask', model);
const predictions = await unmasker(text, { top_k: 5 });

const embedder = await pipeline('feature-extraction', model);
const embedding = await embedder(text, { pooling: 'mean', normalize: true });

console.log(JSON.stringify({ predictions, embedding: Array.from(embedding.data) }, null, 1));

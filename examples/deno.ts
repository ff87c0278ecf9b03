// Fill-mask and a sentence embedding from a Deno script:
//
//   deno run --allow-read examples/deno.ts "Paris is the [MASK] of France." path/to/model
//
// `model` is a directory or an http(s) URL prefix (add --allow-net) holding config.json,
// model.safetensors and spiece.model, or a Hugging Face hub id (default albert/albert-base-v2; add
// --allow-net, and --allow-env --allow-sys --allow-write for the download cache). Outside this
// repository, import from 'npm:albert-wasm'.
import { pipeline } from 'albert-wasm';

const [text = 'Paris is the [MASK] of France.', model = 'albert/albert-base-v2'] = Deno.args;

const unmasker = await pipeline('fill-mask', model);
const predictions = await unmasker(text, { top_k: 5 });

const embedder = await pipeline('feature-extraction', model);
const embedding = await embedder(text, { pooling: 'mean', normalize: true });

console.log(JSON.stringify({ predictions, embedding: Array.from(embedding.data) }, null, 1));

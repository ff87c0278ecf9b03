// POST /fill-mask {"text": "Paris is the [MASK] of France.", "top_k": 5} → the predictions
// POST /embed {"texts": ["a sentence", ...]} → {"dims": [n, hidden], "embeddings": [[...], ...]}
//   (mean-pooled over the tokens, unit length)
import { AlbertError, featureExtraction, fillMask, loadTaskContext } from 'albert-wasm';

const ROUTES = {
  '/fill-mask': (albert, { text, top_k }) => fillMask(albert, text, { top_k }),
  async '/embed'(albert, { texts }) {
    const { data, dims } = await featureExtraction(albert, texts, { pooling: 'mean', normalize: true });
    const [n, width] = dims;
    return { dims, embeddings: Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * width, (i + 1) * width))) };
  },
};

/**
 * The model and tokenizer, loaded by the first request of an isolate and shared by both routes:
 * one copy of the weights is what fits in the isolate's memory. A failed load is retried by the
 * next request.
 */
let loading;
function albertFor(env) {
  loading ??= loadTaskContext(env.MODEL).catch((error) => {
    loading = undefined;
    throw error;
  });
  return loading;
}

export default {
  async fetch(request, env) {
    const route = ROUTES[new URL(request.url).pathname];
    if (request.method !== 'POST' || !route) {
      return new Response('POST /fill-mask {"text": "... [MASK] ..."} or POST /embed {"texts": ["..."]}\n', { status: 404 });
    }
    let body;
    try {
      body = await request.json();
    } catch {
      return Response.json({ error: 'the body must be JSON' }, { status: 400 });
    }
    try {
      return Response.json(await route(await albertFor(env), body));
    } catch (error) {
      if (error instanceof AlbertError && error.code === 'INPUT_INVALID') return Response.json({ error: error.message }, { status: 400 });
      throw error;
    }
  },
};

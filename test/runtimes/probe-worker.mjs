// The probe as a Cloudflare worker: POST a request as JSON, get the answer as JSON. The files come
// from data bindings (MODEL_CONFIG, MODEL_WEIGHTS, SPIECE), or the model from `model.url`, a URL
// prefix or hub id the library fetches from, as a deployed worker would get its weights.
import { probe } from './probe.js';

export default {
  async fetch(request, env) {
    const body = await request.json();
    const files = {};
    if (body.model) files.model = body.model.url ?? { 'config.json': env.MODEL_CONFIG, 'model.safetensors': env.MODEL_WEIGHTS };
    if (body.tokenize) files.spiece = new Uint8Array(env.SPIECE);
    try {
      return Response.json({ runtime: 'workerd', ...(await probe(() => import('albert-wasm'), files, body)) });
    } catch (error) {
      return new Response(error instanceof Error ? (error.stack ?? error.message) : String(error), { status: 500 });
    }
  },
};

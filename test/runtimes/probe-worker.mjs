// The probe as a Cloudflare worker: POST a request as JSON, get the answer as JSON. The model's files
// come from the MODEL_CONFIG and MODEL_WEIGHTS data bindings, or from `modelUrl` when the request
// names one (a URL prefix, as a deployed worker would fetch its weights).
import { probe } from './probe.js';

export default {
  async fetch(request, env) {
    const body = await request.json();
    const source = body.modelUrl ?? { 'config.json': env.MODEL_CONFIG, 'model.safetensors': env.MODEL_WEIGHTS };
    try {
      return Response.json({ runtime: `workerd (${navigator.userAgent})`, ...(await probe(() => import('albert-wasm'), source, body)) });
    } catch (error) {
      return new Response(error instanceof Error ? error.stack ?? error.message : String(error), { status: 500 });
    }
  },
};

// The entry point for Cloudflare workers (the `workerd` export condition). workerd refuses to compile
// wasm from bytes at run time; an imported .wasm file is compiled by wrangler or workerd when the
// worker is deployed, so the kernels come in as an import and need no `wasm` option.
import kernels from './albert.wasm';
import { useBundledWasm } from './runtime/module.js';

useBundledWasm(kernels);

export * from './index.js';

import { AlbertError } from '../errors.js';
import type { Kernels } from './kernels.js';

/** Set by the build: where the wasm file sits relative to this module (next to the bundle). */
declare const __ALBERT_WASM_PATH__: string;

/** Where the kernels' wasm file is by default; browsers and bundlers may pass their own. */
export function defaultWasmUrl(): URL {
  return new URL(__ALBERT_WASM_PATH__, import.meta.url);
}

export type WasmSource = WebAssembly.Module | ArrayBuffer | Uint8Array | URL | string;

const compiled = new Map<string, Promise<WebAssembly.Module>>();

async function compile(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return source;
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) return WebAssembly.compile(source as BufferSource);
  const url = typeof source === 'string' ? new URL(source, import.meta.url) : source;
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return WebAssembly.compile(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new AlbertError('SOURCE_FAILED', `could not fetch the kernels' wasm from ${url}: HTTP ${response.status}`);
  return WebAssembly.compileStreaming(response);
}

/** A fresh instance (own linear memory) of the kernels module; compilation is cached per URL. */
export async function instantiateKernels(source: WasmSource = defaultWasmUrl()): Promise<Kernels> {
  let module: Promise<WebAssembly.Module>;
  if (typeof source === 'string' || source instanceof URL) {
    const key = String(source);
    if (!compiled.has(key)) compiled.set(key, compile(source));
    module = compiled.get(key)!;
  } else {
    module = compile(source);
  }
  const instance = await WebAssembly.instantiate(await module, {
    env: {
      abort(_msg: number, _file: number, line: number, column: number) {
        throw new AlbertError('RUNTIME_UNSUPPORTED', `wasm kernel aborted at ${line}:${column}`);
      },
    },
  });
  return instance.exports as unknown as Kernels;
}

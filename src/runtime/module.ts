import { AlbertError } from '../errors.js';
import type { Kernels } from './kernels.js';

/** Set by the build: where the wasm file sits relative to this module (next to the bundle). */
declare const __ALBERT_WASM_PATH__: string;

export type WasmSource = WebAssembly.Module | ArrayBuffer | Uint8Array | URL | string;

let bundledModule: WebAssembly.Module | undefined;

/**
 * For entry points whose runtime compiles the wasm when the code is deployed and refuses to compile
 * bytes at run time (Cloudflare workers): the module they imported becomes the default.
 */
export function useBundledWasm(module: WebAssembly.Module): void {
  bundledModule = module;
}

/** The kernels used when no `wasm` is given: the bundled module, else the file next to this package's JS. */
export function defaultWasm(): WasmSource {
  return bundledModule ?? new URL(__ALBERT_WASM_PATH__, import.meta.url);
}

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
  // Streaming compilation insists on the application/wasm type, which not every static server sends.
  if (response.headers.get('content-type')?.startsWith('application/wasm')) return WebAssembly.compileStreaming(response);
  return WebAssembly.compile(await response.arrayBuffer());
}

/** A fresh instance (own linear memory) of the kernels module; compilation is cached per URL. */
export async function instantiateKernels(source: WasmSource = defaultWasm()): Promise<Kernels> {
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

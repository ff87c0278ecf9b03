import { AlbertError } from '../errors.js';
import { readLocalFile } from '../io/files.js';
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
  if (url.protocol === 'file:') return WebAssembly.compile((await readLocalFile(url)) as BufferSource);
  const response = await fetch(url);
  if (!response.ok) throw new AlbertError('SOURCE_FAILED', `could not fetch the kernels' wasm from ${url}: HTTP ${response.status}`);
  // Streaming compilation insists on the application/wasm type, which not every static server sends.
  if (response.headers.get('content-type')?.startsWith('application/wasm')) return WebAssembly.compileStreaming(response);
  return WebAssembly.compile(await response.arrayBuffer());
}

/**
 * The builds of assembly/ (asconfig.json's targets, one source): `simd` runs everywhere; `relaxed`
 * adds fused multiply-add and the relaxed int8 dot; `threads` imports a shared memory that worker
 * threads instantiate the same module on; `relaxed-threads` is both.
 */
export type KernelVariant = 'simd' | 'relaxed' | 'threads' | 'relaxed-threads';

const VARIANT_FILES: Record<KernelVariant, string> = {
  simd: 'albert.wasm',
  relaxed: 'albert-relaxed.wasm',
  threads: 'albert-threads.wasm',
  'relaxed-threads': 'albert-relaxed-threads.wasm',
};

const decodeBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

// (func (export "probe") (result i32)): lane 3 of i32x4.relaxed_dot_i8x16_i7x16_add_s on fixed bytes
// (-4·127·127 + 1000) plus f32x4.relaxed_madd(2, 3, 4) = -63506.
const RELAXED_PROBE = 'AGFzbQEAAAABBQFgAAF/AwIBAAcJAQVwcm9iZQAACn4BfAD9DIB/+wMBAgME//79/IGBgYH9DH8BZAIBAQEBBQYHCH9/f3/9DAEAAAACAAAAAwAAAOgDAAD9kwL9GwP9DAAAAEAAAABAAAAAQAAAAED9DAAAQEAAAEBAAABAQAAAQED9DAAAgEAAAIBAAACAQAAAgED9hQL9HwCoags=';
// (module (memory 1 1 shared))
const SHARED_MEMORY_PROBE = 'AGFzbQEAAAAFBAEDAQE=';

let relaxedVerdict: boolean | undefined;

/**
 * Relaxed SIMD validates and computes right. The answer is checked on the first call, in the baseline
 * tier: V8 11 (Node 20, behind --experimental-wasm-relaxed-simd) returns wrong relaxed int8 dots there.
 */
export function relaxedSimdWorks(): boolean {
  if (relaxedVerdict === undefined) {
    try {
      const bytes = decodeBase64(RELAXED_PROBE);
      const probe = WebAssembly.validate(bytes) && (new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.probe as () => number);
      relaxedVerdict = !!probe && probe() === -63506;
    } catch {
      relaxedVerdict = false; // e.g. workerd, which compiles no bytes at run time
    }
  }
  return relaxedVerdict;
}

/** Why shared wasm memory is unavailable here, or undefined when it is available. */
export function sharedMemoryUnavailable(): string | undefined {
  // Checked first: a page that is not isolated has no SharedArrayBuffer either, and the headers are the fix.
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) return 'the page is not cross-origin isolated (COOP/COEP headers)';
  if (typeof SharedArrayBuffer !== 'function') return 'this runtime has no SharedArrayBuffer';
  if (!WebAssembly.validate(decodeBase64(SHARED_MEMORY_PROBE))) return 'this runtime does not validate shared wasm memory';
  return undefined;
}

/** The wasm file of a variant, next to the default one. */
function variantWasm(variant: KernelVariant): URL {
  return new URL(__ALBERT_WASM_PATH__.replace(/albert\.wasm$/, VARIANT_FILES[variant]), import.meta.url);
}

export interface LoadedKernels {
  kernels: Kernels;
  /** The compiled module, for worker threads to instantiate on the same (shared) memory. */
  module: WebAssembly.Module;
  variant: KernelVariant;
}

function variantOf(features: number): KernelVariant {
  const relaxed = (features & 1) !== 0;
  if (features & 2) return relaxed ? 'relaxed-threads' : 'threads';
  return relaxed ? 'relaxed' : 'simd';
}

async function cachedCompile(source: WasmSource): Promise<WebAssembly.Module> {
  if (typeof source === 'string' || source instanceof URL) {
    const key = String(source);
    if (!compiled.has(key)) compiled.set(key, compile(source));
    const module = compiled.get(key)!;
    module.catch(() => compiled.delete(key));
    return module;
  }
  return compile(source);
}

/** A fresh instance of a compiled kernels module: its own memory, or a new shared one for threads builds. */
async function instantiate(module: WebAssembly.Module): Promise<Kernels> {
  const importsMemory = WebAssembly.Module.imports(module).some((i) => i.kind === 'memory');
  // The threads builds import their memory: 4 pages at first (asconfig.json's initialMemory, which
  // holds the kernels' static data and scratch), at most 65536 (4 GiB), shared, reserved up front.
  const memory = importsMemory ? new WebAssembly.Memory({ initial: 4, maximum: 65536, shared: true }) : undefined;
  const instance = await WebAssembly.instantiate(module, {
    env: {
      ...(memory ? { memory } : {}),
      abort(_msg: number, _file: number, line: number, column: number) {
        throw new AlbertError('RUNTIME_UNSUPPORTED', `wasm kernel aborted at ${line}:${column}`);
      },
    },
  });
  return (memory ? { ...instance.exports, memory } : instance.exports) as unknown as Kernels;
}

/** A fresh instance (own linear memory) of the kernels module; compilation is cached per URL. */
export async function instantiateKernels(source: WasmSource = defaultWasm()): Promise<Kernels> {
  return instantiate(await cachedCompile(source));
}

/**
 * The kernels for a model. A given `wasm` (or the bundled module) is used as it is and says which
 * build it is. Otherwise the best build this runtime validates and computes right: relaxed SIMD where
 * relaxedSimdWorks(), threads where asked for and shared memory is available; `kernels` forces one
 * (and fails if the runtime cannot run it). A variant file that cannot be read falls back to `simd`
 * unless it was forced.
 */
export async function loadKernels(options: { wasm?: WasmSource; kernels?: KernelVariant; threads?: boolean } = {}): Promise<LoadedKernels> {
  const given = options.wasm ?? bundledModule;
  let variant: KernelVariant;
  let module: WebAssembly.Module;
  if (given !== undefined) {
    module = await cachedCompile(given);
  } else {
    const relaxed = options.kernels ? options.kernels.startsWith('relaxed') : relaxedSimdWorks();
    const threads = options.kernels ? options.kernels.endsWith('threads') : !!options.threads && !sharedMemoryUnavailable();
    variant = relaxed ? (threads ? 'relaxed-threads' : 'relaxed') : threads ? 'threads' : 'simd';
    if (options.kernels && relaxed && !relaxedSimdWorks()) {
      throw new AlbertError('RUNTIME_UNSUPPORTED', `kernels '${variant}' need relaxed SIMD, which this runtime does not validate or computes wrong (Node 20: wrong int8 dots before tier-up)`);
    }
    const noShared = threads && sharedMemoryUnavailable();
    if (options.kernels && noShared) throw new AlbertError('RUNTIME_UNSUPPORTED', `kernels '${variant}' need shared wasm memory, but ${noShared}`);
    try {
      module = await cachedCompile(variant === 'simd' ? defaultWasm() : variantWasm(variant));
    } catch (err) {
      if (options.kernels || variant === 'simd') throw err;
      module = await cachedCompile(defaultWasm());
    }
  }
  const kernels = await instantiate(module);
  variant = variantOf(kernels.kernel_features());
  if (options.kernels && options.kernels !== variant) {
    throw new AlbertError('RUNTIME_UNSUPPORTED', `kernels '${options.kernels}' were asked for, but the given wasm is the '${variant}' build`);
  }
  return { kernels, module, variant };
}

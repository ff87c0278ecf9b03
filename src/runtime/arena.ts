import { AlbertError } from '../errors.js';
import type { Kernels } from './kernels.js';

const PAGE = 65536;
/** wasm32 addresses 4 GiB; V8 and JavaScriptCore allow up to that many pages. */
export const MAX_MEMORY_BYTES = 65536 * PAGE;

/**
 * A bump allocator over the module's linear memory. The kernels never allocate; the host places
 * weights first (for the model's lifetime), then activations, which are reset and re-placed when a
 * call needs more room. Everything below the initial memory size belongs to the module itself.
 */
export class Arena {
  readonly memory: WebAssembly.Memory;
  private readonly base: number;
  private top: number;

  constructor(kernels: Kernels) {
    this.memory = kernels.memory;
    this.base = this.memory.buffer.byteLength;
    this.top = this.base;
  }

  get used(): number {
    return this.top - this.base;
  }

  /** Bytes the arena could still grow by before the wasm32 limit. */
  get available(): number {
    return MAX_MEMORY_BYTES - this.top;
  }

  alloc(bytes: number, align = 64): number {
    const ptr = Math.ceil(this.top / align) * align;
    const end = ptr + bytes;
    if (end > MAX_MEMORY_BYTES) {
      throw new AlbertError('OUT_OF_MEMORY', `needs ${formatBytes(end)} of wasm memory; the limit is ${formatBytes(MAX_MEMORY_BYTES)}`);
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch (cause) {
        throw new AlbertError('OUT_OF_MEMORY', `could not grow wasm memory to ${formatBytes(end)}`, { cause });
      }
    }
    this.top = end;
    return ptr;
  }

  /** The current top, to hand back to `release` (everything allocated after it is freed). */
  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    this.top = mark;
  }

  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} bytes`;
}

import { AlbertError } from '../errors.js';
import type { Arena } from './arena.js';
import type { Kernels } from './kernels.js';
import { sharedMemoryUnavailable, type LoadedKernels } from './module.js';

/** The kernels a pool thread may be asked to run, by export name. */
export const POOL_KERNELS = ['gemm_f32', 'gemm_i8', 'quantize_rows_u7', 'attention_f32', 'layernorm_f32'] as const;
export type PoolKernel = (typeof POOL_KERNELS)[number];
/** One kernel call: the export's name and its (numeric) arguments. */
export type KernelCall = [PoolKernel, ...number[]];

// One 128-byte slot per worker in shared memory (its own cache lines): i32 [seq, done, kernel, argc],
// then up to 12 f64 arguments (every kernel argument is an i32 or an f32, both exact in an f64).
const SLOT_BYTES = 128;
const SEQ = 0;
const DONE = 1;
const KERNEL = 2;
const ARGC = 3;
const ARGS_OFFSET = 16;
const MAX_ARGS = 12;
/**
 * Polls (a few microseconds) before sleeping in Atomics.wait, on both sides: a forward pass posts a
 * call every few hundred microseconds, and waking a thread from a futex takes tens. Longer spins
 * only burn the core that the other thread needs when the machine is oversubscribed.
 */
const SPINS = 2000;

/**
 * A worker's whole program, as source: instantiate the same module on the same memory, then wait on
 * its slot's seq, run the posted call, publish done = seq (−seq if it threw), and wait again. seq −1
 * ends it. It runs as a node:worker_threads eval script (CommonJS; NODE_WORKER is prepended) or as a
 * module Web Worker.
 */
const WORKER_SOURCE = `
const start = ({ module, memory, slot, kernels }) => {
  const { exports } = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm kernel aborted'); } } });
  const fns = kernels.map((name) => exports[name]);
  const ctl = new Int32Array(memory.buffer, slot, ${SLOT_BYTES / 4});
  const args = new Float64Array(memory.buffer, slot + ${ARGS_OFFSET}, ${MAX_ARGS});
  reply('ready');
  let seen = 0;
  for (;;) {
    for (let spin = 0; spin < ${SPINS} && Atomics.load(ctl, ${SEQ}) === seen; spin++);
    Atomics.wait(ctl, ${SEQ}, seen);
    const seq = Atomics.load(ctl, ${SEQ});
    if (seq === seen) continue;
    if (seq < 0) return;
    seen = seq;
    try {
      fns[ctl[${KERNEL}]](...args.subarray(0, ctl[${ARGC}]));
      Atomics.store(ctl, ${DONE}, seq);
    } catch {
      Atomics.store(ctl, ${DONE}, -seq);
    }
    Atomics.notify(ctl, ${DONE});
  }
};
let reply;
if (NODE_WORKER) {
  const { parentPort } = require('node:worker_threads');
  reply = (message) => parentPort.postMessage(message);
  parentPort.once('message', start);
} else {
  reply = (message) => self.postMessage(message);
  self.onmessage = (event) => start(event.data);
}
`;

interface PoolWorker {
  post(message: unknown): void;
  ready: Promise<void>;
  terminate(): void;
}

/**
 * A node:worker_threads worker where the runtime has them (Node, Deno, Bun: unref'd, so an idle pool
 * never keeps the process alive), else a Web Worker (browsers); undefined where there are neither
 * (workerd).
 */
async function spawnWorker(): Promise<PoolWorker | undefined> {
  const threads = await nodeWorkerThreads();
  if (threads) {
    const worker = new threads.Worker(`const NODE_WORKER = true;${WORKER_SOURCE}`, { eval: true });
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return { post: (m) => worker.postMessage(m), ready, terminate: () => void worker.terminate() };
  }
  if (typeof Worker !== 'function') return undefined;
  const url = URL.createObjectURL(new Blob([`const NODE_WORKER = false;${WORKER_SOURCE}`], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module' });
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (event) => reject(new Error(event.message));
  });
  return { post: (m) => worker.postMessage(m), ready: ready.finally(() => URL.revokeObjectURL(url)), terminate: () => worker.terminate() };
}

async function nodeWorkerThreads(): Promise<typeof import('node:worker_threads') | undefined> {
  try {
    return await import('node:worker_threads');
  } catch {
    return undefined; // browsers' bundles replace node:* modules with ones that throw
  }
}

/** Whether this thread may block in Atomics.wait (browsers' main threads may not: they spin instead). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fork-join over worker threads that share the kernels' memory: `run` gives call i to thread i, the
 * calling thread taking the first, and returns when every call is done. Splits are the caller's
 * business; each is chosen so that no output element's arithmetic depends on it.
 */
export class ThreadPool {
  /** Threads, the calling one included. */
  readonly size: number;
  private readonly kernels: Kernels;
  private readonly workers: PoolWorker[];
  private readonly slots: number[];
  private readonly blocks = canBlock();
  private seq = 0;

  private constructor(kernels: Kernels, workers: PoolWorker[], slots: number[]) {
    this.kernels = kernels;
    this.workers = workers;
    this.slots = slots;
    this.size = workers.length + 1;
  }

  /**
   * Starts threads − 1 workers on a threads build, their slots allocated in the arena. Returns the
   * reason instead when this runtime cannot run workers on shared memory.
   */
  static async start(loaded: LoadedKernels, arena: Arena, threads: number): Promise<ThreadPool | string> {
    if (!loaded.variant.endsWith('threads')) {
      // Name the runtime's reason (as loadKernels saw it), not just the build it fell back to.
      const noWorker = typeof Worker !== 'function' && !(await nodeWorkerThreads());
      return sharedMemoryUnavailable() ?? (noWorker ? 'this runtime has no Worker' : `the '${loaded.variant}' kernels have no shared memory`);
    }
    const workers: PoolWorker[] = [];
    const slots: number[] = [];
    try {
      for (let i = 1; i < threads; i++) {
        const worker = await spawnWorker();
        if (!worker) return 'this runtime has no Worker';
        workers.push(worker);
        const slot = arena.alloc(SLOT_BYTES, SLOT_BYTES);
        arena.i32(slot, SLOT_BYTES / 4).fill(0);
        slots.push(slot);
        worker.post({ module: loaded.module, memory: loaded.kernels.memory, slot, kernels: POOL_KERNELS });
      }
      await Promise.all(workers.map((w) => w.ready));
    } catch (err) {
      workers.forEach((w) => w.terminate());
      return `workers could not start: ${(err as Error).message}`;
    }
    return new ThreadPool(loaded.kernels, workers, slots);
  }

  /** Runs calls[0] here and calls[i] on worker i; at most `size` calls. */
  run(calls: KernelCall[]): void {
    const seq = ++this.seq;
    const posted = calls.length - 1;
    const memory = this.kernels.memory.buffer;
    for (let w = 0; w < posted; w++) {
      const [name, ...args] = calls[w + 1];
      const ctl = new Int32Array(memory, this.slots[w], SLOT_BYTES / 4);
      new Float64Array(memory, this.slots[w] + ARGS_OFFSET, MAX_ARGS).set(args);
      ctl[KERNEL] = POOL_KERNELS.indexOf(name);
      ctl[ARGC] = args.length;
      Atomics.store(ctl, SEQ, seq);
      Atomics.notify(ctl, SEQ);
    }
    const [name, ...args] = calls[0];
    (this.kernels[name] as (...a: number[]) => void)(...args);
    for (let w = 0; w < posted; w++) {
      const ctl = new Int32Array(memory, this.slots[w], SLOT_BYTES / 4);
      for (let spins = 0; ; ) {
        const done = Atomics.load(ctl, DONE);
        if (done === seq) break;
        if (done === -seq) throw new AlbertError('RUNTIME_UNSUPPORTED', `${calls[w + 1][0]} failed on worker thread ${w + 1}`);
        if (this.blocks && ++spins > SPINS) Atomics.wait(ctl, DONE, done);
      }
    }
  }

  /** Ends the workers; the pool cannot run again. */
  close(): void {
    for (let w = 0; w < this.workers.length; w++) {
      const ctl = new Int32Array(this.kernels.memory.buffer, this.slots[w], SLOT_BYTES / 4);
      Atomics.store(ctl, SEQ, -1);
      Atomics.notify(ctl, SEQ);
      this.workers[w].terminate();
    }
    this.workers.length = 0;
  }
}

/** [from, to) of part `i` when `count` items are cut into `parts` near-equal contiguous ranges. */
const range = (count: number, parts: number, i: number) => [Math.floor((count * i) / parts), Math.floor((count * (i + 1)) / parts)];

/** Below this many multiply-adds a product runs on the calling thread: waking a worker costs more. */
const MIN_PARALLEL_MACS = 1 << 18;

/**
 * The kernels the forward pass calls, each split over the pool's threads when there is one: products
 * by 8-column panels (each thread a column range, every element summed in the same k order), rows for
 * quantization and LayerNorm, (batch, head) pairs for attention. The same signatures as Kernels.
 */
export class ParallelKernels {
  readonly threads: number;

  constructor(
    private readonly k: Kernels,
    private readonly pool?: ThreadPool,
  ) {
    this.threads = pool?.size ?? 1;
  }

  private split(count: number, call: (from: number, to: number) => KernelCall): void {
    const parts = Math.min(this.threads, count);
    if (parts <= 1) {
      const [name, ...args] = call(0, count);
      (this.k[name] as (...a: number[]) => void)(...args);
      return;
    }
    this.pool!.run(Array.from({ length: parts }, (_, i) => call(...(range(count, parts, i) as [number, number]))));
  }

  gemm_f32(c: number, ldc: number, a: number, lda: number, m: number, k: number, bp: number, n: number, bias: number, act: number): void {
    const panelBytes = this.k.gemm_packed_b_size(8, k) * 4;
    this.splitColumns(m, k, n, (j0, j1) => ['gemm_f32', c + j0 * 4, ldc, a, lda, m, k, bp + (j0 / 8) * panelBytes, j1 - j0, bias && bias + j0 * 4, act]);
  }

  gemm_i8(c: number, ldc: number, qa: number, qs: number, m: number, k: number, bp: number, n: number, bias: number, act: number): void {
    const panelBytes = this.k.gemm_i8_packed_b_size(8, k);
    this.splitColumns(m, k, n, (j0, j1) => ['gemm_i8', c + j0 * 4, ldc, qa, qs, m, k, bp + (j0 / 8) * panelBytes, j1 - j0, bias && bias + j0 * 4, act]);
  }

  /** Columns [j0, j1) per thread, cut at panel boundaries. */
  private splitColumns(m: number, k: number, n: number, call: (j0: number, j1: number) => KernelCall): void {
    const panels = Math.ceil(n / 8);
    if (m * n * k < MIN_PARALLEL_MACS) return this.split(1, () => call(0, n));
    this.split(panels, (p0, p1) => call(p0 * 8, Math.min(n, p1 * 8)));
  }

  quantize_rows_u7(qa: number, qs: number, a: number, lda: number, m: number, k: number): void {
    const rowBytes = this.k.gemm_i8_a_row_bytes(k);
    this.split(m, (r0, r1) => ['quantize_rows_u7', qa + r0 * rowBytes, qs + r0 * 8, a + r0 * lda * 4, lda, r1 - r0, k]);
  }

  layernorm_f32(out: number, x: number, residual: number, gamma: number, beta: number, rows: number, cols: number, eps: number): void {
    const at = (p: number, r: number) => p && p + r * cols * 4;
    this.split(rows, (r0, r1) => ['layernorm_f32', at(out, r0), at(x, r0), at(residual, r0), gamma, beta, r1 - r0, cols, eps]);
  }

  /** f32 count of scratch attention_f32 needs: one attention_scratch_size per thread. */
  attentionScratchSize(seq: number, d: number): number {
    return this.threads * this.k.attention_scratch_size(seq, d);
  }

  /** Every (batch, head) pair; `scratch` holds attentionScratchSize(seq, hidden / heads) f32. */
  attention_f32(ctx: number, qkv: number, maskAdd: number, batch: number, seq: number, hidden: number, heads: number, scratch: number): void {
    const perThread = this.k.attention_scratch_size(seq, hidden / heads) * 4;
    let thread = 0;
    this.split(batch * heads, (from, to) => ['attention_f32', ctx, qkv, maskAdd, seq, hidden, heads, from, to, scratch + perThread * thread++]);
  }
}

import { AlbertError } from '../errors.js';
import type { Arena } from './arena.js';
import { PANEL_COLUMNS, type Kernels } from './kernels.js';
import { sharedMemoryUnavailable, type LoadedKernels } from './module.js';

/** The kernels a pool thread may be asked to run, by export name. */
export const POOL_KERNELS = ['gemm_f32', 'gemm_pack_a_f32', 'gemm_f32_packed_a', 'gemm_i8', 'quantize_rows_u7', 'attention_f32', 'layernorm_f32'] as const;
export type PoolKernel = (typeof POOL_KERNELS)[number];

/**
 * How one kernel argument follows the chunk [from, to) of items a thread runs, and the thread's
 * index: value = base + from·stride (FROM), min(base, to·stride) (TO), min(base, to·stride) −
 * from·stride (COUNT: columns or rows in the chunk, the last one trimmed), base + thread·stride
 * (THREAD: per-thread scratch). A constant is FROM with stride 0.
 */
const FROM = 0;
const TO = 1;
const COUNT = 2;
const THREAD = 3;
export interface Arg {
  form: typeof FROM | typeof TO | typeof COUNT | typeof THREAD;
  base: number;
  stride: number;
}
const fixed = (value: number): Arg => ({ form: FROM, base: value, stride: 0 });
const perItem = (base: number, stride: number): Arg => ({ form: FROM, base, stride });
const upTo = (items: number): Arg => ({ form: TO, base: items, stride: 1 });
const count = (total: number, stride: number): Arg => ({ form: COUNT, base: total, stride });
const perThread = (base: number, stride: number): Arg => ({ form: THREAD, base, stride });

// The job block in shared memory, read by every thread (i32 indices unless said). Line 0: SEQ (the
// job's number; workers sleep on it, −1 ends them), DONE (chunks finished), FAILED. Line 1: CLAIM,
// the job's number (low 15 bits) << 16 | the next unclaimed chunk, so a thread that wakes late
// cannot claim a chunk of a newer job. Then the descriptor: kernel, argc, items, chunk, each
// argument's form (i32) and its base and stride (f64 indices BASE, STRIDE).
const LAYOUT = { SEQ: 0, DONE: 1, FAILED: 2, CLAIM: 16, KERNEL: 32, ARGC: 33, ITEMS: 34, CHUNK: 35, FORMS: 36, BASE: 24, STRIDE: 36 } as const;
const MAX_ARGS = 12;
const JOB_BYTES = 384;
/** CLAIM while no job is open: matches no job's number. */
const CLOSED = -1;
/**
 * Polls (on the order of 100 µs) before sleeping in Atomics.wait, on both sides: within a forward
 * pass the next job comes a few microseconds to a few hundred after the last, while waking a thread
 * from a futex takes tens of microseconds on bare metal and more in a VM. With 2,000 polls (a few
 * µs) a worker slept through every short solo step of the caller and two threads ran int8 only
 * 1.15–1.3× faster than one (Deno, B1 L128); between passes it sleeps after the polls.
 */
const SPINS = 20000;

// The two functions below run on every thread and are shipped to the workers as source text
// (Function.prototype.toString), so they refer to nothing outside their parameters and each other.

function argValue(form: number, base: number, stride: number, from: number, to: number, thread: number): number {
  if (form === 0) return base + from * stride;
  if (form === 1) return Math.min(base, to * stride);
  if (form === 2) return Math.min(base, to * stride) - from * stride;
  return base + thread * stride;
}

/**
 * Claims chunks of job `seq` and runs them until none is left. Chunks go to whichever thread is
 * free, so a thread that starts late (its core busy with another process) just takes fewer; each
 * output element is still computed by exactly one call, in the same order, whoever runs it.
 */
function runChunks(job: Int32Array, nums: Float64Array, fns: ((...args: number[]) => void)[], seq: number, thread: number, L: typeof LAYOUT): void {
  const tag = (seq & 0x7fff) << 16;
  const kernel = fns[job[L.KERNEL]];
  const argc = job[L.ARGC];
  const items = job[L.ITEMS];
  const chunk = job[L.CHUNK];
  const chunks = Math.ceil(items / chunk);
  const args = new Array<number>(argc);
  for (;;) {
    const claim = Atomics.load(job, L.CLAIM);
    // A stale view of the descriptor (a newer job's) is harmless: the exchange below then fails.
    if ((claim & 0xffff0000) !== tag || (claim & 0xffff) >= chunks) return;
    if (Atomics.compareExchange(job, L.CLAIM, claim, claim + 1) !== claim) continue;
    const from = (claim & 0xffff) * chunk;
    const to = Math.min(items, from + chunk);
    for (let i = 0; i < argc; i++) args[i] = argValue(job[L.FORMS + i], nums[L.BASE + i], nums[L.STRIDE + i], from, to, thread);
    try {
      kernel(...args);
    } catch {
      Atomics.store(job, L.FAILED, 1);
    }
    Atomics.add(job, L.DONE, 1);
    Atomics.notify(job, L.DONE);
  }
}

/**
 * A worker's whole program, as source: instantiate the same module on the same memory, then sleep
 * on SEQ and run chunks of each new job. It runs as a node:worker_threads eval script (CommonJS;
 * NODE_WORKER is prepended) or as a module Web Worker.
 */
const WORKER_SOURCE = `
${argValue.toString()}
${runChunks.toString()}
const start = ({ module, memory, job: at, thread, kernels, layout }) => {
  const { exports } = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm kernel aborted'); } } });
  const fns = kernels.map((name) => exports[name]);
  const job = new Int32Array(memory.buffer, at, ${JOB_BYTES / 4});
  const nums = new Float64Array(memory.buffer, at, ${JOB_BYTES / 8});
  reply('ready');
  let seen = 0;
  for (;;) {
    for (let spin = 0; spin < ${SPINS} && Atomics.load(job, layout.SEQ) === seen; spin++);
    Atomics.wait(job, layout.SEQ, seen);
    const seq = Atomics.load(job, layout.SEQ);
    if (seq === seen) continue;
    if (seq < 0) return;
    seen = seq;
    ${runChunks.name}(job, nums, fns, seq, thread, layout);
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
 * Fork-join over worker threads that share the kernels' memory: `run` posts a job of `items` in
 * chunks, every thread (the calling one included) claims chunks until none is left, and it returns
 * when all are done. Splits are the caller's business; each is chosen so that no output element's
 * arithmetic depends on it.
 */
export class ThreadPool {
  /** Threads, the calling one included. */
  readonly size: number;
  private readonly kernels: Kernels;
  private readonly fns: ((...args: number[]) => void)[];
  private readonly workers: PoolWorker[];
  private readonly jobAt: number;
  private readonly blocks = canBlock();
  private seq = 0;

  private constructor(kernels: Kernels, workers: PoolWorker[], jobAt: number) {
    this.kernels = kernels;
    this.fns = POOL_KERNELS.map((name) => kernels[name] as (...args: number[]) => void);
    this.workers = workers;
    this.jobAt = jobAt;
    this.size = workers.length + 1;
  }

  /**
   * Starts threads − 1 workers on a threads build, the job block allocated in the arena before the
   * first await (so a caller may go on allocating while the workers start). Returns the reason
   * instead when this runtime cannot run workers on shared memory.
   */
  static async start(loaded: LoadedKernels, arena: Arena, threads: number): Promise<ThreadPool | string> {
    if (!loaded.variant.endsWith('threads')) {
      // Name the runtime's reason (as loadKernels saw it), not just the build it fell back to.
      const noWorker = typeof Worker !== 'function' && !(await nodeWorkerThreads());
      return sharedMemoryUnavailable() ?? (noWorker ? 'this runtime has no Worker' : `the '${loaded.variant}' kernels have no shared memory`);
    }
    const jobAt = arena.alloc(JOB_BYTES, 64);
    arena.i32(jobAt, JOB_BYTES / 4).fill(0);
    arena.i32(jobAt + LAYOUT.CLAIM * 4, 1)[0] = CLOSED;
    const workers: PoolWorker[] = [];
    try {
      for (let thread = 1; thread < threads; thread++) {
        const worker = await spawnWorker();
        if (!worker) return 'this runtime has no Worker';
        workers.push(worker);
        worker.post({ module: loaded.module, memory: loaded.kernels.memory, job: jobAt, thread, kernels: POOL_KERNELS, layout: LAYOUT });
      }
      await Promise.all(workers.map((w) => w.ready));
    } catch (err) {
      workers.forEach((w) => w.terminate());
      return `workers could not start: ${(err as Error).message}`;
    }
    return new ThreadPool(loaded.kernels, workers, jobAt);
  }

  /** Runs `kernel` over `items` in chunks of `chunk` items on every thread; returns when all are done. */
  run(kernel: PoolKernel, items: number, chunk: number, args: Arg[]): void {
    const memory = this.kernels.memory.buffer;
    const job = new Int32Array(memory, this.jobAt, JOB_BYTES / 4);
    const nums = new Float64Array(memory, this.jobAt, JOB_BYTES / 8);
    // At most 0xffff chunks fit CLAIM's low half.
    chunk = Math.max(chunk, Math.ceil(items / 0xffff));
    const chunks = Math.ceil(items / chunk);
    const seq = (this.seq = (this.seq % 0x7fff) + 1);
    job[LAYOUT.KERNEL] = POOL_KERNELS.indexOf(kernel);
    job[LAYOUT.ARGC] = args.length;
    job[LAYOUT.ITEMS] = items;
    job[LAYOUT.CHUNK] = chunk;
    args.forEach((arg, i) => {
      job[LAYOUT.FORMS + i] = arg.form;
      nums[LAYOUT.BASE + i] = arg.base;
      nums[LAYOUT.STRIDE + i] = arg.stride;
    });
    Atomics.store(job, LAYOUT.DONE, 0);
    Atomics.store(job, LAYOUT.FAILED, 0);
    Atomics.store(job, LAYOUT.CLAIM, (seq << 16) | 0);
    Atomics.store(job, LAYOUT.SEQ, seq);
    Atomics.notify(job, LAYOUT.SEQ);
    runChunks(job, nums, this.fns, seq, 0, LAYOUT);
    for (let spins = 0; ; ) {
      const done = Atomics.load(job, LAYOUT.DONE);
      if (done === chunks) break;
      if (this.blocks && ++spins > SPINS) Atomics.wait(job, LAYOUT.DONE, done);
    }
    // Closed before the next descriptor is written, so a late thread's claim on this job fails.
    Atomics.store(job, LAYOUT.CLAIM, CLOSED);
    if (job[LAYOUT.FAILED]) throw new AlbertError('RUNTIME_UNSUPPORTED', `${kernel} failed on one of the pool's threads`);
  }

  /** Ends the workers; the pool cannot run again. */
  close(): void {
    const job = new Int32Array(this.kernels.memory.buffer, this.jobAt, JOB_BYTES / 4);
    Atomics.store(job, LAYOUT.SEQ, -1);
    Atomics.notify(job, LAYOUT.SEQ);
    this.workers.forEach((w) => w.terminate());
    this.workers.length = 0;
  }
}

/** Below this many multiply-adds a product runs on the calling thread: sharing it out costs more. */
const MIN_PARALLEL_MACS = 1 << 18;
/**
 * Below this many elements LayerNorm, quantization and packing run on the calling thread. At 1 << 18
 * the 128 × 768 ones (LayerNorm 90–175 µs here) ran alone while the other thread waited: sharing them
 * out made two-thread int8 passes 2.8% faster (Deno, B1 L128, per-pair median of interleaved passes).
 */
const MIN_PARALLEL_ELEMENTS = 1 << 14;
/** Bytes of one panel's columns in an f32 row (of C or of the bias). */
const PANEL_BYTES_F32 = PANEL_COLUMNS * 4;
/**
 * Chunks per thread for row and column splits: enough that a thread slowed by another process hands
 * its share to the others, and that the threads finish a product within a small chunk of each other.
 * Together with the threshold above, 12 instead of 6 made two-thread f32 passes 2.4% faster; on top
 * of the threshold, int8 1.7%. 24 measured no faster than 12.
 */
const CHUNKS_PER_THREAD = 12;

/**
 * The kernels the forward pass calls, each split over the pool's threads when there is one: products
 * by 8-column panels (every element summed in the same k order), rows for quantization, packing and
 * LayerNorm, (batch, head) pairs for attention. The same signatures as Kernels.
 */
export class ParallelKernels {
  readonly threads: number;
  /**
   * Whether an f32 Linear layer packs its input once with gemm_pack_a_f32 and then runs (on threads,
   * shares out) gemm_f32_packed_a: on the relaxed build, whose products pack A. gemm_f32 alone packs
   * A again for every 1 MB block of columns, and on threads in every chunk; once per layer ran
   * one-thread passes 1.3% faster (Deno, B1 L128). The plain SIMD kernels read A in place, faster
   * with mul + add.
   */
  readonly packsA: boolean;

  constructor(
    private readonly k: Kernels,
    private readonly pool?: ThreadPool,
  ) {
    this.threads = pool?.size ?? 1;
    this.packsA = (k.kernel_features() & 1) === 1;
  }

  /** Runs `kernel` over all `items`: on the pool in chunks, or here in one call. */
  private split(kernel: PoolKernel, items: number, chunk: number, args: Arg[]): void {
    if (this.pool && items > chunk) return this.pool.run(kernel, items, chunk, args);
    (this.k[kernel] as (...a: number[]) => void)(...args.map((a) => argValue(a.form, a.base, a.stride, 0, items, 0)));
  }

  /** Items per chunk when `items` are shared out in about CHUNKS_PER_THREAD chunks per thread. */
  private chunkOf(items: number): number {
    return Math.max(1, Math.ceil(items / (this.threads * CHUNKS_PER_THREAD)));
  }

  /** Rows per chunk for a row-wise kernel over rows × cols elements: all of them when that is small. */
  private rowChunkOf(rows: number, cols: number): number {
    return rows * cols < MIN_PARALLEL_ELEMENTS ? rows : this.chunkOf(rows);
  }

  gemm_f32(c: number, ldc: number, a: number, lda: number, m: number, k: number, bp: number, n: number, bias: number, act: number): void {
    this.splitColumns('gemm_f32', c, ldc, [a, lda], m, k, bp, this.k.gemm_packed_b_size(PANEL_COLUMNS, k) * 4, n, bias, act);
  }

  gemm_pack_a_f32(dst: number, a: number, lda: number, m: number, k: number): void {
    // Items are the packing's row tiles: one row rounds up to a whole tile.
    const tileRows = this.k.gemm_packed_a_size(1, 1);
    const tileFloats = tileRows * k;
    const tiles = Math.ceil(m / tileRows);
    this.split('gemm_pack_a_f32', tiles, this.rowChunkOf(tiles, tileFloats), [perItem(dst, tileFloats * 4), perItem(a, tileRows * lda * 4), fixed(lda), count(m, tileRows), fixed(k)]);
  }

  gemm_f32_packed_a(c: number, ldc: number, ap: number, m: number, k: number, bp: number, n: number, bias: number, act: number): void {
    this.splitColumns('gemm_f32_packed_a', c, ldc, [ap], m, k, bp, this.k.gemm_packed_b_size(PANEL_COLUMNS, k) * 4, n, bias, act);
  }

  gemm_i8(c: number, ldc: number, qa: number, qs: number, m: number, k: number, bp: number, n: number, bias: number, act: number): void {
    this.splitColumns('gemm_i8', c, ldc, [qa, qs], m, k, bp, this.k.gemm_i8_packed_b_size(PANEL_COLUMNS, k), n, bias, act);
  }

  /**
   * A product C = act(A·Wᵀ + bias) whose kernel takes (c, ldc, …A's arguments, m, k, bp, n, bias,
   * act), split by W's 8-column panels of panelBytes each.
   */
  private splitColumns(kernel: 'gemm_f32' | 'gemm_f32_packed_a' | 'gemm_i8', c: number, ldc: number, aArgs: number[], m: number, k: number, bp: number, panelBytes: number, n: number, bias: number, act: number): void {
    const panels = Math.ceil(n / PANEL_COLUMNS);
    const args = [perItem(c, PANEL_BYTES_F32), fixed(ldc), ...aArgs.map(fixed), fixed(m), fixed(k), perItem(bp, panelBytes), count(n, PANEL_COLUMNS), perItem(bias, bias && PANEL_BYTES_F32), fixed(act)];
    this.split(kernel, panels, m * n * k < MIN_PARALLEL_MACS ? panels : this.chunkOf(panels), args);
  }

  quantize_rows_u7(qa: number, qs: number, a: number, lda: number, m: number, k: number): void {
    // Items are tiles of quantized rows, which a thread writes whole.
    const tileRows = this.k.gemm_i8_a_tile_rows();
    const tiles = Math.ceil(m / tileRows);
    this.split('quantize_rows_u7', tiles, this.rowChunkOf(tiles, tileRows * k), [perItem(qa, this.k.gemm_i8_packed_a_size(1, k)), perItem(qs, tileRows * 8), perItem(a, tileRows * lda * 4), fixed(lda), count(m, tileRows), fixed(k)]);
  }

  layernorm_f32(out: number, x: number, residual: number, gamma: number, beta: number, rows: number, cols: number, eps: number): void {
    const row = (p: number) => perItem(p, p && cols * 4);
    this.split('layernorm_f32', rows, this.rowChunkOf(rows, cols), [row(out), row(x), row(residual), fixed(gamma), fixed(beta), count(rows, 1), fixed(cols), fixed(eps)]);
  }

  /** f32 count of scratch attention_f32 needs: one attention_scratch_size per thread. */
  attentionScratchSize(seq: number, d: number): number {
    return this.threads * this.k.attention_scratch_size(seq, d);
  }

  /** Every (batch, head) pair, one per chunk; `scratch` holds attentionScratchSize(seq, hidden / heads) f32. */
  attention_f32(ctx: number, qkv: number, maskAdd: number, batch: number, seq: number, hidden: number, heads: number, scratch: number): void {
    const perThreadBytes = this.k.attention_scratch_size(seq, hidden / heads) * 4;
    const pairs = batch * heads;
    this.split('attention_f32', pairs, 1, [fixed(ctx), fixed(qkv), fixed(maskAdd), fixed(seq), fixed(hidden), fixed(heads), perItem(0, 1), upTo(pairs), perThread(scratch, perThreadBytes)]);
  }
}

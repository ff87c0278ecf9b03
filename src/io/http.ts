/**
 * Downloads over fetch: connection failures and short bodies become AlbertErrors naming the URL,
 * and the body is read in chunks so callers can show progress: whole (readBody), or opened as a
 * file while it arrives (streamDownload).
 */
import { AlbertError } from '../errors.js';
import type { RandomAccessFile } from './files.js';

export interface DownloadProgress {
  /** The file name as requested, e.g. 'model.safetensors'. */
  file: string;
  loaded: number;
  /** Bytes expected, when the server says. */
  total?: number;
}

export type ProgressCallback = (progress: DownloadProgress) => void;

/** What every source that reads files takes. */
export interface ReadOptions {
  /** Used for http(s) and hub sources instead of the global fetch. */
  fetch?: typeof fetch;
  /** Called as a file is read from disk, the network or the cache; the last call for a file has `loaded` equal to its size. */
  onProgress?: ProgressCallback;
  /**
   * Milliseconds a download may go without receiving anything (the response, or the next part of its
   * body) before it fails with SOURCE_FAILED. Default 30000; Infinity waits forever.
   */
  stallTimeoutMs?: number;
}

/**
 * fetch itself never gives up on a server that stops sending (Node's undici does after 5 minutes),
 * so a tab or a worker would wait forever. huggingface_hub allows 10 s; we allow a slow link more.
 */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
/** setTimeout fires at once when asked to wait longer than this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `promise`, unless nothing settles it for `ms`: then `onStall` releases what it waits on, and it rejects. */
function unlessStalled<T>(promise: Promise<T>, ms: number, onStall: () => void): Promise<T> {
  if (ms === Infinity) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // Rejected first: releasing a reader settles its pending read, which must not win the race.
      reject(new Error(`nothing received for ${ms / 1000} s`));
      onStall();
    }, Math.min(ms, MAX_TIMER_MS));
  });
  return Promise.race([promise, stalled]).finally(() => clearTimeout(timer));
}

/** The caller's fetch, or the global one called as a plain function (browsers reject other receivers). */
export function resolveFetch(custom: typeof fetch | undefined): typeof fetch {
  if (custom) return custom;
  return (input, init) => {
    if (typeof globalThis.fetch !== 'function') {
      throw new AlbertError('RUNTIME_UNSUPPORTED', 'this runtime has no global fetch; pass options.fetch');
    }
    return globalThis.fetch(input, init);
  };
}

/** GET `url`; a failure to get any response (DNS, refused, offline, TLS, a stall) is SOURCE_FAILED. */
export async function httpGet(
  fetchFn: typeof fetch,
  url: string,
  headers?: Record<string, string>,
  stallTimeoutMs = DEFAULT_STALL_TIMEOUT_MS,
): Promise<Response> {
  const controller = new AbortController();
  try {
    return await unlessStalled(fetchFn(url, { headers, signal: controller.signal }), stallTimeoutMs, () => controller.abort());
  } catch (error) {
    if (error instanceof AlbertError) throw error;
    throw new AlbertError('SOURCE_FAILED', `could not fetch ${url}: ${describeError(error)}`, { cause: error });
  }
}

/** "HTTP 503 Service Unavailable", for messages. */
export function describeStatus(response: Response): string {
  return `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
}

/** The body's length from Content-Length, when that counts the bytes fetch hands us (no Content-Encoding). */
export function declaredLength(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding');
  const declared = Number(response.headers.get('content-length') ?? NaN);
  return (!encoding || encoding === 'identity') && Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
}

/** Whoever keeps a copy of a download (the hub's cache) gets it chunk by chunk, then whether it all came. */
export interface DownloadTap {
  write(chunk: Uint8Array): void;
  /** Called once: `complete` when every announced byte arrived, else after a failure or a cancel. */
  end(complete: boolean): Promise<void>;
}

/**
 * Past this many bytes received and kept but not yet read, a streamed download stops reading from
 * the network until a read needs more: a fast link never fills memory ahead of the packing.
 */
const STREAM_HIGH_WATER_BYTES = 8 << 20;

/** A streamed download, with how much of it was ever held at once (for tests and measurements). */
export interface StreamedFile extends RandomAccessFile {
  readonly peakHeldBytes: number;
  willRead(ranges: readonly (readonly [number, number])[]): void;
  finish(): Promise<void>;
}

/**
 * A download of `size` bytes (its Content-Length) opened as a file while it arrives: a read waits
 * until its bytes are in. Until `willRead` is told which ranges will be read, everything is kept;
 * after, only those ranges, each dropped as soon as it has been read. Read in the file's order (as
 * placeWeights reads), a checkpoint goes into linear memory a few MB at a time and is never whole in
 * JS memory. A body that stops or ends short fails every read waiting for what is missing, and
 * `finish`, with the message readBody gives.
 */
export function streamDownload(
  response: Response,
  url: string,
  file: string,
  size: number,
  options: { onProgress?: ProgressCallback; stallTimeoutMs?: number; tap?: DownloadTap } = {},
): StreamedFile {
  const { onProgress, stallTimeoutMs = DEFAULT_STALL_TIMEOUT_MS, tap } = options;
  const reader = response.body?.getReader();
  /** Kept chunks, in file order. */
  const chunks: { start: number; bytes: Uint8Array }[] = [];
  let held = 0;
  let peakHeldBytes = 0;
  let received = 0;
  let failure: AlbertError | undefined;
  let closed = false;
  /** Ranges still to be read, sorted and disjoint; undefined keeps everything. */
  let wanted: [number, number][] | undefined;
  const waiting: { until: number; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let wakePump: (() => void) | undefined;
  const wake = () => {
    wakePump?.();
    wakePump = undefined;
  };

  const isWanted = (start: number, end: number) => {
    if (!wanted) return true;
    // The first range ending past start, by binary search.
    let lo = 0;
    let hi = wanted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (wanted[mid]![1] <= start) lo = mid + 1;
      else hi = mid;
    }
    return lo < wanted.length && wanted[lo]![0] < end;
  };
  const dropUnwanted = (from: number, to: number) => {
    for (let i = chunks.length - 1; i >= 0; i--) {
      const { start, bytes } = chunks[i]!;
      if (start + bytes.length > from && start < to && !isWanted(start, start + bytes.length)) {
        chunks.splice(i, 1);
        held -= bytes.length;
      }
    }
  };
  const settle = () => {
    for (let i = waiting.length - 1; i >= 0; i--) {
      const waiter = waiting[i]!;
      if (failure) waiter.reject(failure);
      else if (waiter.until <= received) waiter.resolve();
      else continue;
      waiting.splice(i, 1);
    }
  };

  const pump = (async () => {
    onProgress?.({ file, loaded: 0, total: size });
    try {
      for (;;) {
        while (!closed && held >= STREAM_HIGH_WATER_BYTES && waiting.length === 0) await new Promise<void>((resolve) => (wakePump = resolve));
        if (closed) throw new Error('cancelled');
        const chunk = reader
          ? await unlessStalled(reader.read(), stallTimeoutMs, () => void reader.cancel().catch(() => {}))
          : { done: true as const, value: undefined };
        if (closed) throw new Error('cancelled');
        if (chunk.done) break;
        const bytes = chunk.value;
        if (received + bytes.length > size) {
          throw new AlbertError('SOURCE_FAILED', `download of ${file} from ${url} is longer than the ${size} bytes its Content-Length announced`);
        }
        tap?.write(bytes);
        if (isWanted(received, received + bytes.length)) {
          chunks.push({ start: received, bytes });
          held += bytes.length;
          peakHeldBytes = Math.max(peakHeldBytes, held);
        }
        received += bytes.length;
        onProgress?.({ file, loaded: received, total: size });
        settle();
      }
      if (received < size) throw endedShort(file, url, received, size);
    } catch (error) {
      failure = error instanceof AlbertError
        ? error
        : cutOff(file, url, received, size, error);
      settle();
      if (!closed) void reader?.cancel().catch(() => {});
      await tap?.end(false);
      return;
    }
    settle();
    await tap?.end(true);
  })();

  return {
    size,
    get peakHeldBytes() {
      return peakHeldBytes;
    },
    async read(into, position) {
      const end = Math.min(size, position + into.length);
      if (end <= position) return 0;
      if (end > received) {
        await new Promise<void>((resolve, reject) => {
          waiting.push({ until: end, resolve, reject });
          if (failure) settle();
          wake();
        });
      }
      // Copy [position, end) out of the kept chunks, which must cover it.
      let at = position;
      for (const { start, bytes } of chunks) {
        if (start + bytes.length <= at) continue;
        if (start > at || at >= end) break;
        const part = bytes.subarray(at - start, Math.min(bytes.length, end - start));
        into.set(part, at - position);
        at += part.length;
      }
      if (at < end) throw new Error(`${file}: bytes ${at} to ${end} of the download were read before or never wanted (a second read of one range)`);
      if (wanted) {
        wanted = withoutRange(wanted, position, end);
        dropUnwanted(position, end);
        wake();
      }
      return end - position;
    },
    willRead(ranges) {
      const sorted = ranges.filter(([a, b]) => b > a).map(([a, b]): [number, number] => [a, b]).sort((x, y) => x[0] - y[0]);
      wanted = [];
      for (const range of sorted) {
        const last = wanted.at(-1);
        if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
        else wanted.push(range);
      }
      dropUnwanted(0, Infinity);
      wake();
    },
    async finish() {
      // Nothing more will be read: the rest streams past (into the tap) without being kept.
      wanted = [];
      dropUnwanted(0, Infinity);
      wake();
      await pump;
      if (failure) throw failure;
    },
    async close() {
      if (received < size && !failure) {
        closed = true;
        void reader?.cancel().catch(() => {});
        wake();
      }
      await pump;
    },
  };
}

/** Sorted disjoint ranges less [from, to). */
function withoutRange(ranges: [number, number][], from: number, to: number): [number, number][] {
  return ranges.flatMap(([a, b]): [number, number][] => {
    if (b <= from || a >= to) return [[a, b]];
    const left: [number, number][] = a < from ? [[a, from]] : [];
    return b > to ? [...left, [to, b]] : left;
  });
}

/**
 * Reads the whole body, reporting progress after every chunk. Checks the length against
 * Content-Length, so a connection that ends early never passes for a complete file, and fails a
 * body that stops arriving.
 */
export async function readBody(
  response: Response,
  url: string,
  file: string,
  onProgress?: ProgressCallback,
  stallTimeoutMs = DEFAULT_STALL_TIMEOUT_MS,
): Promise<Uint8Array> {
  // With Content-Encoding the header counts compressed bytes, not the ones fetch hands us.
  const total = declaredLength(response);

  let buffer: Uint8Array;
  try {
    buffer = new Uint8Array(total ?? 1 << 16);
  } catch (cause) {
    await response.body?.cancel();
    throw new AlbertError('OUT_OF_MEMORY', `${file} from ${url} is ${total} bytes (Content-Length), more than this runtime can hold in memory`, { cause });
  }
  let loaded = 0;
  onProgress?.({ file, loaded, total });
  const reader = response.body?.getReader();
  try {
    for (;;) {
      const chunk = reader
        ? await unlessStalled(reader.read(), stallTimeoutMs, () => void reader.cancel().catch(() => {}))
        : { done: true as const, value: undefined };
      if (chunk.done) break;
      if (loaded + chunk.value.length > buffer.length) {
        const grown = new Uint8Array(Math.max(buffer.length * 2, loaded + chunk.value.length));
        grown.set(buffer.subarray(0, loaded));
        buffer = grown;
      }
      buffer.set(chunk.value, loaded);
      loaded += chunk.value.length;
      onProgress?.({ file, loaded, total });
    }
  } catch (error) {
    throw cutOff(file, url, loaded, total, error);
  }
  if (total !== undefined && loaded < total) throw endedShort(file, url, loaded, total);
  return loaded === buffer.length ? buffer : buffer.slice(0, loaded);
}

/** A body that failed or stalled after `received` bytes (of `total`, when announced). */
function cutOff(file: string, url: string, received: number, total: number | undefined, error: unknown): AlbertError {
  const of = total !== undefined ? ` of ${total}` : '';
  return new AlbertError('SOURCE_FAILED', `download of ${file} from ${url} was cut off after ${received}${of} bytes (truncated: ${describeError(error)})`, { cause: error });
}

/** A body that ended before the length it announced. */
function endedShort(file: string, url: string, received: number, total: number): AlbertError {
  return new AlbertError('SOURCE_FAILED', `download of ${file} from ${url} is truncated: received ${received} of ${total} bytes`);
}

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed" and keeps the reason (ECONNREFUSED, …) in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

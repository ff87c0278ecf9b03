/**
 * Downloads over fetch: connection failures and short bodies become AlbertErrors naming the URL,
 * and the body is read in chunks so callers can show progress.
 */
import { AlbertError } from '../errors.js';

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
  const encoding = response.headers.get('content-encoding');
  const declared = Number(response.headers.get('content-length') ?? NaN);
  const total = (!encoding || encoding === 'identity') && Number.isSafeInteger(declared) ? declared : undefined;

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
    const of = total !== undefined ? ` of ${total}` : '';
    throw new AlbertError(
      'SOURCE_FAILED',
      `download of ${file} from ${url} was cut off after ${loaded}${of} bytes (truncated: ${describeError(error)})`,
      { cause: error },
    );
  }
  if (total !== undefined && loaded < total) {
    throw new AlbertError('SOURCE_FAILED', `download of ${file} from ${url} is truncated: received ${loaded} of ${total} bytes`);
  }
  return loaded === buffer.length ? buffer : buffer.slice(0, loaded);
}

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed" and keeps the reason (ECONNREFUSED, …) in `cause`.
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}

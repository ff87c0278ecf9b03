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

/** GET `url`; a failure to get any response (DNS, refused, offline, TLS) is SOURCE_FAILED. */
export async function httpGet(fetchFn: typeof fetch, url: string, headers?: Record<string, string>): Promise<Response> {
  try {
    return await fetchFn(url, headers ? { headers } : undefined);
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
 * Content-Length, so a connection that ends early never passes for a complete file.
 */
export async function readBody(
  response: Response,
  url: string,
  file: string,
  onProgress?: ProgressCallback,
): Promise<Uint8Array> {
  // With Content-Encoding the header counts compressed bytes, not the ones fetch hands us.
  const encoding = response.headers.get('content-encoding');
  const declared = Number(response.headers.get('content-length') ?? NaN);
  const total = (!encoding || encoding === 'identity') && Number.isSafeInteger(declared) ? declared : undefined;

  let buffer = new Uint8Array(total ?? 1 << 16);
  let loaded = 0;
  onProgress?.({ file, loaded, total });
  const reader = response.body?.getReader();
  try {
    for (;;) {
      const chunk = reader ? await reader.read() : { done: true as const, value: undefined };
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

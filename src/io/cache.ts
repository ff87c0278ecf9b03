/**
 * Where downloaded hub files are kept: a directory in Node, Deno and Bun; Cache Storage in
 * browsers and workers. An entry is only ever a complete, verified download: files are written
 * to a temporary name and renamed into place, so a crash or a cut connection leaves nothing a
 * later run could mistake for the real file.
 */
import { AlbertError } from '../errors.js';
import { fileInMemory, openLocalFile, type RandomAccessFile } from './files.js';
import { declaredLength, streamDownload } from './http.js';
import { hasLocalFileSystem, readEnv } from './platform.js';

/** Identifies one file of one revision of one hub repository. */
export interface CacheKey {
  repo: string;
  revision: string;
  file: string;
  /** The URL it is downloaded from (the key in Cache Storage). */
  url: string;
}

/** A stored file, or the hub's word that there is no such file (so an offline run knows it need not ask). */
export type CacheEntry =
  | {
      readonly missing: false;
      /** The stored file, opened where it lies: on disk, it is read by ranges. */
      open(): Promise<RandomAccessFile>;
      /** The server's ETag when the file was stored, used to ask whether it changed. */
      readonly etag: string | undefined;
      /** Where the entry lives, for messages. */
      readonly location: string;
    }
  | { readonly missing: true; readonly etag: undefined; readonly location: string };

export interface DownloadCache {
  readonly description: string;
  lookup(key: CacheKey): Promise<CacheEntry | undefined>;
  /** `bytes` null records that the file does not exist in that revision. */
  store(key: CacheKey, bytes: Uint8Array | null, etag: string | undefined): Promise<void>;
  /**
   * Starts storing a file of `size` bytes that is still downloading; it becomes an entry only if
   * `end(true)` is called after exactly `size` bytes were written, and its writing succeeds.
   */
  begin(key: CacheKey, etag: string | undefined, size: number): Promise<CacheWrite>;
}

export interface CacheWrite {
  write(chunk: Uint8Array): void;
  /** Rejects when the entry could not be stored; `complete` false discards what was written. */
  end(complete: boolean): Promise<void>;
}

/** A directory cache where there is a file system, else Cache Storage where there is one, else none. */
export async function openDownloadCache(directory?: string): Promise<DownloadCache | undefined> {
  if (hasLocalFileSystem()) return new DirectoryCache(directory ?? (await defaultCacheDirectory()));
  if (typeof caches !== 'undefined') return new CacheStorageCache(await caches.open(CACHE_STORAGE_NAME));
  return undefined;
}

/**
 * Beside the Hugging Face cache, honouring the variables its tools use:
 * $HF_HOME/albert-wasm, else $XDG_CACHE_HOME/huggingface/albert-wasm, else ~/.cache/huggingface/albert-wasm.
 */
export async function defaultCacheDirectory(): Promise<string> {
  const { join } = await import('node:path');
  const hfHome = readEnv('HF_HOME');
  if (hfHome) return join(hfHome, 'albert-wasm');
  const xdgCache = readEnv('XDG_CACHE_HOME') || join((await import('node:os')).homedir(), '.cache');
  return join(xdgCache, 'huggingface', 'albert-wasm');
}

/**
 * Layout: `<root>/<owner>/<name>/<revision>/<file>`, so a cached revision is itself a model
 * directory; `<revision>/.meta/<file>.json` holds the ETag and size the file was verified against.
 */
class DirectoryCache implements DownloadCache {
  readonly description: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = root;
    this.description = `cache directory ${root}`;
  }

  private async paths(key: CacheKey) {
    const { join } = await import('node:path');
    const revisionDir = join(this.root, ...key.repo.split('/'), encodeURIComponent(key.revision));
    return { file: join(revisionDir, key.file), meta: join(revisionDir, '.meta', `${key.file}.json`) };
  }

  async lookup(key: CacheKey): Promise<CacheEntry | undefined> {
    const fs = await import('node:fs/promises');
    const paths = await this.paths(key);
    let meta: { etag?: unknown; size?: unknown; missing?: unknown };
    let size: number;
    try {
      meta = JSON.parse(await fs.readFile(paths.meta, 'utf8'));
      if (meta.missing === true) return { missing: true, etag: undefined, location: paths.meta };
      size = (await fs.stat(paths.file)).size;
    } catch {
      return undefined; // never stored, or removed since
    }
    if (size !== meta.size) return undefined;
    return {
      missing: false,
      // Files only ever arrive here whole (renamed into place), so whatever is opened later is complete.
      open: () =>
        openLocalFile(paths.file).catch((error: unknown) => {
          throw new AlbertError('SOURCE_FAILED', `could not read ${paths.file}: ${(error as Error).message}`, { cause: error });
        }),
      etag: typeof meta.etag === 'string' ? meta.etag : undefined,
      location: paths.file,
    };
  }

  async store(key: CacheKey, bytes: Uint8Array | null, etag: string | undefined): Promise<void> {
    if (bytes === null) {
      const paths = await this.paths(key);
      const fs = await import('node:fs/promises');
      const { dirname } = await import('node:path');
      await fs.mkdir(dirname(paths.meta), { recursive: true });
      await writeAtomically(paths.meta, JSON.stringify({ missing: true, url: key.url, stored: new Date().toISOString() }));
      return;
    }
    const entry = await this.begin(key, etag, bytes.length);
    entry.write(bytes);
    await entry.end(true);
  }

  /** Written to a temporary name as it arrives, renamed into place once whole. */
  async begin(key: CacheKey, etag: string | undefined, size: number): Promise<CacheWrite> {
    const fs = await import('node:fs/promises');
    const { dirname } = await import('node:path');
    const paths = await this.paths(key);
    await fs.mkdir(dirname(paths.meta), { recursive: true });
    await fs.mkdir(dirname(paths.file), { recursive: true });
    // Without its metadata an entry does not exist, so removing it first means a crash between
    // the two renames leaves no entry rather than new bytes described by the old ETag.
    await fs.rm(paths.meta, { force: true });
    const temporary = temporaryName(paths.file);
    const handle = await fs.open(temporary, 'w');
    let written = 0;
    let failure: unknown;
    // Chunks are written one after another, in order; the first failure stops the rest.
    let writing: Promise<void> = Promise.resolve();
    return {
      write: (chunk) => {
        writing = writing.then(async () => {
          if (failure !== undefined) return;
          try {
            // A write may take fewer bytes than given; the rest go in the next one.
            for (let done = 0; done < chunk.length; ) {
              const { bytesWritten } = await handle.write(chunk, done, chunk.length - done);
              if (bytesWritten === 0) throw new Error('the disk took no more bytes');
              done += bytesWritten;
            }
            written += chunk.length;
          } catch (error) {
            failure = error;
          }
        });
      },
      end: async (complete) => {
        await writing;
        await handle.close().catch((error: unknown) => (failure ??= error));
        if (!complete || failure !== undefined || written !== size) {
          await fs.rm(temporary, { force: true });
          if (complete) throw failure ?? new Error(`${written} bytes written of ${size}`);
          return;
        }
        await fs.rename(temporary, paths.file).catch(async (error: unknown) => {
          await fs.rm(temporary, { force: true });
          throw error;
        });
        await writeAtomically(paths.meta, JSON.stringify({ etag, size, url: key.url, stored: new Date().toISOString() }));
      },
    };
  }
}

const temporaryName = (path: string) => `${path}.${Math.random().toString(36).slice(2)}.partial`;

async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const fs = await import('node:fs/promises');
  const temporary = temporaryName(path);
  try {
    await fs.writeFile(temporary, data);
    await fs.rename(temporary, path);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
}

const CACHE_STORAGE_NAME = 'albert-wasm';

/** Browsers and workers: one Cache Storage entry per file URL; `put` stores a response whole or not at all. */
export class CacheStorageCache implements DownloadCache {
  readonly description = `Cache Storage "${CACHE_STORAGE_NAME}"`;
  private readonly cache: Cache;

  constructor(cache: Cache) {
    this.cache = cache;
  }

  async lookup(key: CacheKey): Promise<CacheEntry | undefined> {
    const response = await this.cache.match(key.url);
    if (!response) return undefined;
    const location = `${this.description} (${key.url})`;
    if (response.status === 404) return { missing: true, etag: undefined, location };
    const etag = response.headers.get('etag') ?? undefined;
    const size = declaredLength(response);
    // Without a length it cannot be opened as it streams: read whole (put stores only whole bodies).
    if (size === undefined) {
      const bytes = new Uint8Array(await response.arrayBuffer());
      return { missing: false, open: async () => fileInMemory(bytes), etag, location };
    }
    // Streamed out as it is read, like a download: a page's load never holds the checkpoint whole.
    // A body shorter than stored (storage gone bad) fails the load and takes the entry with it, so the
    // next load downloads the file again.
    const open = async (): Promise<RandomAccessFile> => {
      const file = streamDownload(response, location, key.file, size);
      const dropIfCut = <T>(promise: Promise<T>) => promise.catch(async (error: unknown) => {
        if (error instanceof AlbertError && error.code === 'SOURCE_FAILED') await this.cache.delete(key.url).catch(() => {});
        throw error;
      });
      return { ...file, read: (into, position) => dropIfCut(file.read(into, position)), finish: () => dropIfCut(file.finish()) };
    };
    return { missing: false, open, etag, location };
  }

  async store(key: CacheKey, bytes: Uint8Array | null, etag: string | undefined): Promise<void> {
    if (bytes === null) {
      await this.cache.put(key.url, new Response(null, { status: 404 }));
      return;
    }
    const entry = await this.begin(key, etag, bytes.length);
    entry.write(bytes);
    await entry.end(true);
  }

  /** One `put` of a response whose body is the download as it arrives: stored whole or not at all. */
  async begin(key: CacheKey, etag: string | undefined, size: number): Promise<CacheWrite> {
    const headers: Record<string, string> = {
      'content-length': String(size),
      'content-type': 'application/octet-stream',
      // Cloudflare's Cache API takes an entry's lifetime from this; browsers ignore it.
      'cache-control': 'public, max-age=31536000',
    };
    if (etag !== undefined) headers.etag = etag;
    const { readable, writable } = lengthKeepingStream(size);
    const body = writable.getWriter();
    const stored = this.cache.put(key.url, new Response(readable, { headers }));
    // Awaited in end; an early rejection must not go unhandled meanwhile.
    stored.catch(() => {});
    body.closed.catch(() => {});
    return {
      write: (chunk) => void body.write(chunk).catch(() => {}),
      end: async (complete) => {
        if (complete) {
          await body.close();
          await stored;
        } else {
          await body.abort(new Error('download cut off')).catch(() => {});
          await stored.catch(() => {});
        }
      },
    };
  }
}

/**
 * A pipe for a body of `size` bytes. workerd stores a streamed body's Content-Length only when it
 * comes through its FixedLengthStream (otherwise the entry comes back chunked, without one); other
 * runtimes keep the header as given.
 */
function lengthKeepingStream(size: number): TransformStream<Uint8Array, Uint8Array> {
  const FixedLength = (globalThis as { FixedLengthStream?: new (length: number) => TransformStream<Uint8Array, Uint8Array> }).FixedLengthStream;
  return FixedLength ? new FixedLength(size) : new TransformStream<Uint8Array, Uint8Array>();
}

/**
 * Models by Hugging Face hub id (`albert/albert-base-v2`): files at
 * `{endpoint}/{id}/resolve/{revision}/{file}`, kept in a download cache and revalidated by ETag,
 * so a second run downloads nothing and an offline run still works from the cache.
 */
import { AlbertError } from '../errors.js';
import { openDownloadCache, type CacheEntry, type CacheKey, type DownloadCache } from './cache.js';
import { fileInMemory, FindingSource, readWhole, type RandomAccessFile } from './files.js';
import { declaredLength, describeError, describeStatus, httpGet, readBody, resolveFetch, streamDownload, type DownloadTap, type ProgressCallback, type ReadOptions } from './http.js';
import { hasLocalFileSystem, readEnv } from './platform.js';

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** `owner/name` as the hub spells repository ids; `.` and `..` are never names, only paths. */
export function looksLikeHubId(id: string): boolean {
  return /^[\w.-]+\/[\w.-]+$/.test(id) && !id.split('/').some((part) => part === '.' || part === '..');
}

export interface HubOptions extends ReadOptions {
  /** Branch, tag or commit; default 'main'. */
  revision?: string;
  /** Default: $HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Keep downloads for later and offline runs; default true. */
  cache?: boolean;
  /** Cache root for Node, Deno and Bun; default defaultCacheDirectory() in cache.ts. */
  cacheDir?: string;
  /**
   * Ask the hub whether a cached file changed before using it. Default: true in Node, Deno and
   * Bun; false in browsers and workers, where the conditional request costs a CORS preflight
   * the CDN may refuse; never needed for a commit-hash revision, whose files cannot change.
   */
  revalidate?: boolean;
  /** Told when a cached copy is used because the hub could not be asked; default console.warn. */
  onWarning?: (message: string) => void;
}

export class HubSource extends FindingSource {
  readonly description: string;
  private readonly id: string;
  private readonly revision: string;
  private readonly endpoint: string;
  private readonly fetch: typeof fetch;
  private readonly onProgress: ProgressCallback | undefined;
  private readonly stallTimeoutMs: number | undefined;
  private readonly onWarning: (message: string) => void;
  private readonly cacheDir: string | undefined;
  private readonly revalidate: boolean;
  private cache: Promise<DownloadCache | undefined> | undefined;
  /** One warning per source when the hub cannot be asked, however many files come from the cache. */
  private warnedOffline = false;

  constructor(id: string, options: HubOptions = {}) {
    super();
    if (!looksLikeHubId(id)) {
      throw new AlbertError('INPUT_INVALID', `"${id}" is not a hub model id (expected owner/name, e.g. albert/albert-base-v2)`);
    }
    this.id = id;
    this.revision = options.revision ?? 'main';
    if (this.revision === '') throw new AlbertError('INPUT_INVALID', `hub model "${id}": revision must not be empty`);
    this.endpoint = (options.endpoint ?? readEnv('HF_ENDPOINT') ?? DEFAULT_HUB_ENDPOINT).replace(/\/+$/, '');
    this.fetch = resolveFetch(options.fetch);
    this.onProgress = options.onProgress;
    this.stallTimeoutMs = options.stallTimeoutMs;
    this.onWarning = options.onWarning ?? ((message) => console.warn(message));
    if (options.cache === false) this.cache = Promise.resolve(undefined);
    this.cacheDir = options.cacheDir;
    this.revalidate = !/^[0-9a-f]{40}$/.test(this.revision) && (options.revalidate ?? hasLocalFileSystem());
    this.description = `hub model "${id}" (revision ${this.revision}) at ${this.endpoint}`;
  }

  async tryRead(file: string): Promise<Uint8Array | undefined> {
    const opened = await this.fetchFile(file, false);
    return opened && readWhole(opened);
  }

  /**
   * A cached copy is a local file, opened in place. A first download whose length the hub announces
   * is opened as it streams in (streamDownload), into the cache as it goes; other downloads come
   * whole, in memory, so that one cut off can still fall back on the cached copy.
   */
  tryOpen(file: string): Promise<RandomAccessFile | undefined> {
    return this.fetchFile(file, true);
  }

  private async fetchFile(file: string, stream: boolean): Promise<RandomAccessFile | undefined> {
    // Empty parts catch '', '/abs' and 'a//b'; the file name becomes a cache path, so no '..' either.
    if (file.split(/[\\/]/).some((part) => part === '..' || part === '.' || part === '')) {
      throw new AlbertError('INPUT_INVALID', `"${file}" is not a file name inside ${this.description}`);
    }
    const encodedFile = file.split('/').map(encodeURIComponent).join('/');
    const url = `${this.endpoint}/${this.id}/resolve/${encodeURIComponent(this.revision)}/${encodedFile}`;
    const key: CacheKey = { repo: this.id, revision: this.revision, file, url };
    let cache = await this.openCache();
    let cached: CacheEntry | undefined;
    try {
      cached = await cache?.lookup(key);
    } catch (error) {
      // Storage that cannot be read (workerd without a cache configured: "No Cache was configured")
      // is no cache at all, for this file and the next.
      this.cache = Promise.resolve(undefined);
      this.onWarning(`${this.description}: downloads will not be cached: ${describeError(error)}`);
      cache = undefined;
    }
    if (cached && !this.revalidate) return this.cachedCopy(cached, file);

    let response: Response;
    try {
      response = await httpGet(this.fetch, url, cached?.etag !== undefined ? { 'If-None-Match': cached.etag } : undefined, this.stallTimeoutMs);
    } catch (error) {
      return this.useCached(cached, file, describeError(error), error);
    }

    // Some servers ignore If-None-Match; an unchanged ETag still means the cached copy is current.
    const etag = response.headers.get('etag') ?? undefined;
    if (cached && (response.status === 304 || (response.ok && etag !== undefined && etag === cached.etag))) {
      await response.body?.cancel();
      return this.cachedCopy(cached, file);
    }
    const size = declaredLength(response);
    if (response.ok && stream && !cached && size !== undefined) {
      return streamDownload(response, url, file, size, { onProgress: this.onProgress, stallTimeoutMs: this.stallTimeoutMs, tap: await this.cacheTap(cache, key, etag, size) });
    }
    if (response.ok) {
      let bytes: Uint8Array;
      try {
        bytes = await readBody(response, url, file, this.onProgress, this.stallTimeoutMs);
      } catch (error) {
        return this.useCached(cached, file, describeError(error), error);
      }
      // Stored only now, verified complete by readBody: a cut download never becomes an entry.
      await cache?.store(key, bytes, etag).catch((error: unknown) => this.cacheFailed(cache, file, error));
      return fileInMemory(bytes);
    }

    await response.body?.cancel();
    const errorCode = response.headers.get('x-error-code');
    if (errorCode === 'RepoNotFound' || errorCode === 'RevisionNotFound') {
      const what = errorCode === 'RepoNotFound' ? `hub model "${this.id}"` : `revision "${this.revision}" of hub model "${this.id}"`;
      throw new AlbertError(
        'SOURCE_NOT_FOUND',
        `${what} not found at ${this.endpoint} (HTTP ${response.status} for ${file}; a private or gated model needs a token, which albert-wasm does not send)`,
      );
    }
    if (response.status === 404) {
      await cache?.store(key, null, undefined).catch(() => {});
      return undefined;
    }
    return this.useCached(cached, file, `${describeStatus(response)} from ${url}`);
  }

  /** Opened on first use and shared by concurrent reads; without usable storage, downloads are not kept. */
  private openCache(): Promise<DownloadCache | undefined> {
    this.cache ??= openDownloadCache(this.cacheDir).catch((error: unknown) => {
      this.onWarning(`${this.description}: downloads will not be cached: ${describeError(error)}`);
      return undefined;
    });
    return this.cache;
  }

  /** Where a streamed download is copied as it arrives: an entry only once it all came. */
  private async cacheTap(cache: DownloadCache | undefined, key: CacheKey, etag: string | undefined, size: number): Promise<DownloadTap | undefined> {
    if (!cache) return undefined;
    try {
      const entry = await cache.begin(key, etag, size);
      return { write: (chunk) => entry.write(chunk), end: (complete) => entry.end(complete).catch((error: unknown) => this.cacheFailed(cache, key.file, error)) };
    } catch (error) {
      this.cacheFailed(cache, key.file, error);
      return undefined;
    }
  }

  private cacheFailed(cache: DownloadCache, file: string, error: unknown): void {
    this.onWarning(`${this.description}: could not cache ${file} in ${cache.description}: ${describeError(error)}`);
  }

  /** When the hub cannot answer: the cached copy with a warning, or an error naming id and endpoint. */
  private useCached(cached: CacheEntry | undefined, file: string, reason: string, cause?: unknown): Promise<RandomAccessFile | undefined> {
    if (!cached) {
      throw new AlbertError(
        'SOURCE_FAILED',
        `could not get ${file} of hub model "${this.id}" from ${this.endpoint} (${reason}) and it is not in the download cache`,
        { cause },
      );
    }
    if (!this.warnedOffline) {
      this.warnedOffline = true;
      this.onWarning(`${this.description}: could not check ${file} with the hub (${reason}); using the cached copies (${cached.location})`);
    }
    return this.cachedCopy(cached, file);
  }

  private async cachedCopy(cached: CacheEntry, file: string): Promise<RandomAccessFile | undefined> {
    if (cached.missing) return undefined;
    const opened = await cached.open();
    this.onProgress?.({ file, loaded: opened.size, total: opened.size });
    return opened;
  }
}

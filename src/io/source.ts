/**
 * Where a model's files come from: a local directory, a URL prefix, a hub id, or files already
 * in memory. Every source reads whole files by name and reports progress, so the loader never
 * cares which; local files and downloads can also be opened to read by byte ranges (`openFile`).
 */
import { AlbertError } from '../errors.js';
import { directoryPath, fileInMemory, FindingSource, isLocalDirectory, openLocalFile, pathIn, readWhole, type RandomAccessFile } from './files.js';
import { declaredLength, describeStatus, httpGet, readBody, resolveFetch, streamDownload, type ProgressCallback, type ReadOptions } from './http.js';
import { HubSource, looksLikeHubId, type HubOptions } from './hub.js';
import { fsErrorCode, hasLocalFileSystem } from './platform.js';

export type { DownloadProgress, ProgressCallback, ReadOptions } from './http.js';
export type { HubOptions } from './hub.js';

export type InMemoryFiles = Record<string, Uint8Array | ArrayBuffer | string>;

/** A local directory path, file:// URL, http(s) URL prefix or hub id; a URL; in-memory files by name; or your own source. */
export type ModelSource = string | URL | InMemoryFiles | FileSource;

export interface FileSource {
  /** Says where files come from, for messages. */
  readonly description: string;
  /** The file's bytes; throws SOURCE_NOT_FOUND naming the file and the source. */
  read(name: string): Promise<Uint8Array>;
  /** The file's bytes, or undefined when the source has no such file. */
  tryRead(name: string): Promise<Uint8Array | undefined>;
}

export interface SourceOptions extends HubOptions {
  /**
   * true: the string is a hub id; false: it is a local path. By default an `owner/name` string is
   * a hub id unless a local directory of that name exists.
   */
  hub?: boolean;
}

export function openSource(source: ModelSource, options: SourceOptions = {}): FileSource {
  if (typeof source === 'string') {
    if (/^https?:\/\//i.test(source)) return new UrlPrefixSource(source, options);
    if (/^file:\/\//i.test(source)) return new LocalDirectorySource(new URL(source), options);
    if (options.hub === true) return new HubSource(source, options);
    if (options.hub === undefined && looksLikeHubId(source)) return new LocalDirectoryOrHubSource(source, options);
    return new LocalDirectorySource(source, options);
  }
  if (source instanceof URL) {
    if (source.protocol === 'http:' || source.protocol === 'https:') return new UrlPrefixSource(source.href, options);
    if (source.protocol === 'file:') return new LocalDirectorySource(source, options);
    throw new AlbertError('INPUT_INVALID', `model source ${source.href}: only http:, https: and file: URLs are supported`);
  }
  if (typeof source !== 'object' || source === null) {
    throw new AlbertError('INPUT_INVALID', `model source must be a path, URL, hub id, object of files or FileSource, got ${source === null ? 'null' : typeof source}`);
  }
  return isFileSource(source) ? source : new InMemorySource(source);
}

function isFileSource(source: object): source is FileSource {
  const candidate = source as Partial<FileSource>;
  return typeof candidate.read === 'function' && typeof candidate.tryRead === 'function';
}

/**
 * File `name` of `files`, to read by byte ranges: our sources open local files in place and
 * downloads as they stream in; a caller's FileSource only reads whole files, so its file is read
 * whole first.
 */
export async function openFile(files: FileSource, name: string): Promise<RandomAccessFile> {
  return files instanceof FindingSource ? files.open(name) : fileInMemory(await files.read(name));
}

class InMemorySource extends FindingSource {
  readonly description: string;
  private readonly files: InMemoryFiles;

  constructor(files: InMemoryFiles) {
    super();
    for (const [name, value] of Object.entries(files)) {
      if (!(value instanceof Uint8Array || value instanceof ArrayBuffer || typeof value === 'string')) {
        throw new AlbertError('INPUT_INVALID', `in-memory file ${name} must be a Uint8Array, ArrayBuffer or string`);
      }
    }
    this.files = files;
    this.description = `in-memory files (${Object.keys(files).join(', ') || 'none'})`;
  }

  async tryRead(name: string): Promise<Uint8Array | undefined> {
    if (!Object.hasOwn(this.files, name)) return undefined;
    const value = this.files[name]!;
    if (typeof value === 'string') return new TextEncoder().encode(value);
    return value instanceof Uint8Array ? value : new Uint8Array(value);
  }
}

class LocalDirectorySource extends FindingSource {
  readonly description: string;
  private readonly directory: string | URL;
  private readonly onProgress: ProgressCallback | undefined;

  constructor(directory: string | URL, options: ReadOptions) {
    super();
    this.directory = directory;
    this.description = `directory ${directory instanceof URL ? directory.href : directory}`;
    this.onProgress = options.onProgress;
  }

  async tryRead(name: string): Promise<Uint8Array | undefined> {
    const file = await this.tryOpen(name);
    return file && readWhole(file);
  }

  async tryOpen(name: string): Promise<RandomAccessFile | undefined> {
    if (!hasLocalFileSystem()) {
      throw new AlbertError('RUNTIME_UNSUPPORTED', `cannot read ${this.description}: this runtime has no local files; use a URL or a hub id`);
    }
    const directory = await directoryPath(this.directory);
    const path = await pathIn(directory, name);
    let file: RandomAccessFile;
    try {
      file = await openLocalFile(path);
    } catch (error) {
      if (fsErrorCode(error) !== 'ENOENT') {
        throw new AlbertError('SOURCE_FAILED', `could not read ${path}: ${(error as Error).message}`, { cause: error });
      }
      if (!(await isLocalDirectory(directory))) {
        throw new AlbertError('SOURCE_NOT_FOUND', `model directory ${directory} does not exist (looking for ${name})`);
      }
      return undefined;
    }
    // Reported once the file is found: the loader reads only the parts it needs, when it needs them.
    this.onProgress?.({ file: name, loaded: file.size, total: file.size });
    return file;
  }
}

class UrlPrefixSource extends FindingSource {
  readonly description: string;
  private readonly prefix: string;
  private readonly fetch: typeof fetch;
  private readonly onProgress: ProgressCallback | undefined;
  private readonly stallTimeoutMs: number | undefined;

  constructor(prefix: string, options: ReadOptions) {
    super();
    this.prefix = prefix.replace(/\/+$/, '');
    this.description = `URL prefix ${this.prefix}/`;
    this.fetch = resolveFetch(options.fetch);
    this.onProgress = options.onProgress;
    this.stallTimeoutMs = options.stallTimeoutMs;
  }

  async tryRead(name: string): Promise<Uint8Array | undefined> {
    const got = await this.get(name);
    return got && readBody(got.response, got.url, name, this.onProgress, this.stallTimeoutMs);
  }

  /** A file whose length the server announces is opened as it streams in (streamDownload). */
  async tryOpen(name: string): Promise<RandomAccessFile | undefined> {
    const got = await this.get(name);
    if (!got) return undefined;
    const size = declaredLength(got.response);
    if (size === undefined) return fileInMemory(await readBody(got.response, got.url, name, this.onProgress, this.stallTimeoutMs));
    return streamDownload(got.response, got.url, name, size, { onProgress: this.onProgress, stallTimeoutMs: this.stallTimeoutMs });
  }

  /** The response for file `name`, its body unread; undefined for a 404. */
  private async get(name: string): Promise<{ response: Response; url: string } | undefined> {
    const url = `${this.prefix}/${name.split('/').map(encodeURIComponent).join('/')}`;
    const response = await httpGet(this.fetch, url, undefined, this.stallTimeoutMs);
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new AlbertError('SOURCE_FAILED', `could not download ${name} from ${url} (${describeStatus(response)})`);
    }
    return { response, url };
  }
}

/** `owner/name` is a local directory if one exists here, else a hub id; decided at the first read. */
class LocalDirectoryOrHubSource extends FindingSource {
  private readonly name: string;
  private readonly options: SourceOptions;
  private resolved: Promise<FindingSource> | undefined;
  private resolvedDescription: string | undefined;

  constructor(name: string, options: SourceOptions) {
    super();
    this.name = name;
    this.options = options;
  }

  get description(): string {
    return this.resolvedDescription ?? `"${this.name}" (a local directory if one exists, else a hub model id)`;
  }

  tryRead(name: string): Promise<Uint8Array | undefined> {
    return this.resolve().then((source) => source.tryRead(name));
  }

  tryOpen(name: string): Promise<RandomAccessFile | undefined> {
    return this.resolve().then((source) => source.tryOpen(name));
  }

  private resolve(): Promise<FindingSource> {
    this.resolved ??= (async () => {
      const source = hasLocalFileSystem() && (await isLocalDirectory(this.name))
        ? new LocalDirectorySource(this.name, this.options)
        : new HubSource(this.name, this.options);
      this.resolvedDescription = source.description;
      return source;
    })();
    return this.resolved;
  }
}

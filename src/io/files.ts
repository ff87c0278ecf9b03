/**
 * Files as sources hand them out: opened for reads by byte range, so a checkpoint on local disk goes
 * from the file straight to where its tensors live without ever being whole in JS memory; so does a
 * download as it streams in (streamDownload in http.ts). Files that only come whole (bytes given in
 * memory, a download of unknown length) are wrapped in the same interface.
 */
import { AlbertError } from '../errors.js';
import type { FileSource } from './source.js';

export interface RandomAccessFile {
  /** Bytes, as the file was when opened. */
  readonly size: number;
  /** The whole file, when it is in memory already. */
  readonly bytes?: Uint8Array;
  /** Fills `into` from byte `position` on; resolves to the count read, short only where the file ends. */
  read(into: Uint8Array, position: number): Promise<number>;
  /** How the file was modified since it was opened, or undefined if it was not (bytes in memory never are). */
  modifiedSinceOpened?(): Promise<string | undefined>;
  /** Only these byte ranges [begin, end) will be read from now on, each byte once (see streamDownload). */
  willRead?(ranges: readonly (readonly [number, number])[]): void;
  /** Waits for the rest of a file that arrives as a stream; fails if it was cut off. */
  finish?(): Promise<void>;
  /** Ends reading; a download still arriving is cancelled. */
  close(): Promise<void>;
}

export function fileInMemory(bytes: Uint8Array): RandomAccessFile {
  return {
    size: bytes.length,
    bytes,
    read: async (into, position) => {
      const part = bytes.subarray(position, position + into.length);
      into.set(part);
      return part.length;
    },
    close: async () => {},
  };
}

/**
 * A local file opened for ranged reads. Fails as node:fs does (ENOENT, EACCES…; Deno's errors carry
 * the same codes). Anything but a regular file (a pipe, a device) cannot be read by position, and is
 * read whole as before.
 */
export async function openLocalFile(path: string): Promise<RandomAccessFile> {
  const deno = denoFiles();
  return deno ? openDenoFile(deno, path) : openNodeFile(path);
}

/** A whole local file (a path, or a file: URL). */
export async function readLocalFile(path: string | URL): Promise<Uint8Array> {
  const deno = denoFiles();
  if (deno) return deno.readFile(path);
  const { readFile } = await import('node:fs/promises');
  const contents = await readFile(path);
  return new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength);
}

/** Whether `path` is a directory (false where it does not exist or cannot be looked at). */
export async function isLocalDirectory(path: string): Promise<boolean> {
  const deno = denoFiles();
  if (deno) return deno.stat(path).then((stats) => stats.isDirectory, () => false);
  const { stat } = await import('node:fs/promises');
  return stat(path).then((stats) => stats.isDirectory(), () => false);
}

/** A local directory given as a path or a file: URL, as a path. */
export async function directoryPath(directory: string | URL): Promise<string> {
  if (!(directory instanceof URL)) return directory;
  // A file: URL's path, with a Windows drive letter's leading slash dropped ("/C:/models" → "C:/models").
  if (denoFiles()) return decodeURIComponent(directory.pathname).replace(/^\/([A-Za-z]:)/, '$1');
  const { fileURLToPath } = await import('node:url');
  return fileURLToPath(directory);
}

/** The file `name` in the local directory at path `directory`. */
export async function pathIn(directory: string, name: string): Promise<string> {
  if (denoFiles()) return /[\\/]$/.test(directory) ? directory + name : `${directory}/${name}`;
  const { join } = await import('node:path');
  return join(directory, name);
}

async function openNodeFile(path: string): Promise<RandomAccessFile> {
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'r');
  let stats: Awaited<ReturnType<typeof handle.stat>>;
  try {
    stats = await handle.stat();
  } catch (error) {
    await handle.close();
    throw error;
  }
  if (!stats.isFile()) {
    await handle.close();
    return fileInMemory(await readLocalFile(path));
  }
  return {
    size: stats.size,
    read: async (into, position) => {
      let filled = 0;
      try {
        // One read may return less than asked for (very large reads, signals); only 0 means the end.
        while (filled < into.length) {
          const { bytesRead } = await handle.read(into, filled, into.length - filled, position + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
      } catch (error) {
        throw readFailed(path, error);
      }
      return filled;
    },
    // A rewrite in place that leaves the file no shorter (a new checkpoint of the same shape) is
    // invisible to the reads themselves: its modification time tells.
    modifiedSinceOpened: async () => {
      const now = await handle.stat();
      return describeModification(stats, now);
    },
    close: () => handle.close(),
  };
}

/**
 * The part of Deno's file API this uses. In Deno, node:fs/promises (with node:path) takes 25–35 ms to
 * import the first time: a first load of albert-base took 51–65 ms with Deno's API, 69–97 with it.
 */
interface DenoFiles {
  open(path: string): Promise<DenoFile>;
  readFile(path: string | URL): Promise<Uint8Array>;
  stat(path: string): Promise<{ isDirectory: boolean }>;
}
interface DenoFile {
  stat(): Promise<DenoFileInfo>;
  seek(offset: number, whence: 0): Promise<number>;
  read(into: Uint8Array): Promise<number | null>;
  close(): void;
}
interface DenoFileInfo {
  isFile: boolean;
  size: number;
  mtime: Date | null;
}

function denoFiles(): DenoFiles | undefined {
  return (globalThis as { Deno?: DenoFiles }).Deno;
}

async function openDenoFile(deno: DenoFiles, path: string): Promise<RandomAccessFile> {
  const file = await deno.open(path);
  let stats: DenoFileInfo;
  try {
    stats = await file.stat();
  } catch (error) {
    file.close();
    throw error;
  }
  if (!stats.isFile) {
    file.close();
    return fileInMemory(await readLocalFile(path));
  }
  // Deno has no positional read: a read seeks, then reads, and reads wait for each other so that
  // no other read moves the position in between.
  let previous: Promise<unknown> = Promise.resolve();
  const readAt = async (into: Uint8Array, position: number): Promise<number> => {
    let filled = 0;
    try {
      await file.seek(position, 0);
      while (filled < into.length) {
        const count = await file.read(into.subarray(filled));
        if (!count) break;
        filled += count;
      }
    } catch (error) {
      throw readFailed(path, error);
    }
    return filled;
  };
  return {
    size: stats.size,
    read: (into, position) => {
      const result = previous.then(() => readAt(into, position));
      previous = result.catch(() => undefined);
      return result;
    },
    modifiedSinceOpened: async () => {
      const now = await file.stat();
      return describeModification({ size: stats.size, mtimeMs: stats.mtime?.getTime() }, { size: now.size, mtimeMs: now.mtime?.getTime() });
    },
    close: async () => file.close(),
  };
}

function readFailed(path: string, error: unknown): AlbertError {
  return new AlbertError('SOURCE_FAILED', `could not read ${path}: ${(error as Error).message}`, { cause: error });
}

function describeModification(opened: { size: number; mtimeMs?: number }, now: { size: number; mtimeMs?: number }): string | undefined {
  if (now.mtimeMs === opened.mtimeMs && now.size === opened.size) return undefined;
  const at = (ms?: number) => (ms === undefined ? 'an unknown time' : new Date(ms).toISOString());
  return `${opened.size} bytes modified at ${at(opened.mtimeMs)} when opened, ${now.size} bytes modified at ${at(now.mtimeMs)} now`;
}

/** The whole file (closing it): what `read` of a source gives. */
export async function readWhole(file: RandomAccessFile): Promise<Uint8Array> {
  try {
    if (file.bytes) return file.bytes;
    const bytes = new Uint8Array(file.size);
    const length = await file.read(bytes, 0);
    return length === bytes.length ? bytes : bytes.subarray(0, length);
  } finally {
    await file.close();
  }
}

/**
 * Our sources: each says whether it has a file, as bytes (`tryRead`) or opened (`tryOpen`), and the
 * rest follows. Sources of whole files open what they read; local ones read what they open.
 */
export abstract class FindingSource implements FileSource {
  abstract readonly description: string;
  abstract tryRead(name: string): Promise<Uint8Array | undefined>;

  async tryOpen(name: string): Promise<RandomAccessFile | undefined> {
    const bytes = await this.tryRead(name);
    return bytes && fileInMemory(bytes);
  }

  async read(name: string): Promise<Uint8Array> {
    return this.found(name, await this.tryRead(name));
  }

  async open(name: string): Promise<RandomAccessFile> {
    return this.found(name, await this.tryOpen(name));
  }

  private found<T>(name: string, file: T | undefined): T {
    if (file === undefined) throw new AlbertError('SOURCE_NOT_FOUND', `${name} not found in ${this.description}`);
    return file;
  }
}

/**
 * Files as sources hand them out: opened for reads by byte range, so a checkpoint on local disk goes
 * from the file straight to where its tensors live without ever being whole in JS memory. Files that
 * only come whole (downloads, bytes given in memory) are wrapped in the same interface.
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
 * A local file opened for ranged reads. Fails as node:fs does (ENOENT, EACCES…). Anything but a
 * regular file (a pipe, a device) cannot be read by position, and is read whole as before.
 */
export async function openLocalFile(path: string): Promise<RandomAccessFile> {
  const { open, readFile } = await import('node:fs/promises');
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
    const contents = await readFile(path);
    return fileInMemory(new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength));
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
        throw new AlbertError('SOURCE_FAILED', `could not read ${path}: ${(error as Error).message}`, { cause: error });
      }
      return filled;
    },
    // A rewrite in place that leaves the file no shorter (a new checkpoint of the same shape) is
    // invisible to the reads themselves: its modification time tells.
    modifiedSinceOpened: async () => {
      const now = await handle.stat();
      if (now.mtimeMs === stats.mtimeMs && now.size === stats.size) return undefined;
      return `${stats.size} bytes modified at ${stats.mtime.toISOString()} when opened, ${now.size} bytes modified at ${now.mtime.toISOString()} now`;
    },
    close: () => handle.close(),
  };
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

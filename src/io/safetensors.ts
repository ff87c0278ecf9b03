/**
 * Reader for the safetensors format: an 8-byte little-endian header length, a UTF-8 JSON header
 * `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: { string: string } }`,
 * then the data section the offsets point into. Only the header is read up front; each tensor is
 * read when asked for, straight into the caller's array, so a checkpoint on disk is never whole in
 * memory. The file must stay open, and unchanged, while the SafeTensors is in use.
 */
import { AlbertError } from '../errors.js';
import type { RandomAccessFile } from './files.js';
import { quote } from './quote.js';

export type SafetensorsDtype =
  | 'BOOL' | 'U8' | 'I8' | 'I16' | 'U16' | 'I32' | 'U32' | 'I64' | 'U64'
  | 'F4' | 'F6_E2M3' | 'F6_E3M2'
  | 'F8_E5M2' | 'F8_E4M3' | 'F8_E8M0' | 'F8_E4M3FNUZ' | 'F8_E5M2FNUZ'
  | 'F16' | 'BF16' | 'F32' | 'F64' | 'C64';

/** Bits per element of every dtype the format defines (sub-byte types pack several per byte). */
const DTYPE_BITS: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 8, U8: 8, I8: 8, I16: 16, U16: 16, I32: 32, U32: 32, I64: 64, U64: 64,
  F4: 4, F6_E2M3: 6, F6_E3M2: 6,
  F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8, F8_E5M2FNUZ: 8,
  F16: 16, BF16: 16, F32: 32, F64: 64, C64: 64,
};

/** The dtypes readF32 converts; a weight stored as anything else cannot be loaded. */
export const CONVERTIBLE_TO_F32: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16'];

/** The reference implementation refuses larger headers; so do we, before reading anything. */
const MAX_HEADER_BYTES = 100_000_000;

/** F16 and BF16 pass through a scratch of this many bytes on their way to f32. */
const CONVERSION_CHUNK_BYTES = 1 << 16;

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Element count (the product of `shape`; 1 for a scalar). */
  size: number;
  /** Absolute byte offsets in the file. */
  begin: number;
  end: number;
}

export class SafeTensors {
  readonly fileName: string;
  readonly metadata: Record<string, string>;
  private readonly file: RandomAccessFile;
  private readonly tensors: Map<string, TensorInfo>;

  private constructor(
    file: RandomAccessFile,
    fileName: string,
    metadata: Record<string, string>,
    tensors: Map<string, TensorInfo>,
  ) {
    this.file = file;
    this.fileName = fileName;
    this.metadata = metadata;
    this.tensors = tensors;
  }

  /**
   * Reads the header and validates all of it against the file's size; throws SAFETENSORS_INVALID
   * naming what is wrong. Tensors are read later, by readF32.
   */
  static async open(file: RandomAccessFile, fileName = 'model.safetensors'): Promise<SafeTensors> {
    const fail = (what: string): never => {
      throw new AlbertError('SAFETENSORS_INVALID', `${fileName}: ${what}`);
    };
    const { size } = file;
    const readHeaderBytes = async (length: number, position: number) => {
      const bytes = new Uint8Array(length);
      const got = await file.read(bytes, position);
      if (got < length) fail(`file ended at byte ${position + got}, inside the header; it was ${size} bytes when opened (file changed while loading?)`);
      return bytes;
    };

    if (size < 8) fail(`file is ${size} bytes, too short for the 8-byte header length`);
    const lengthView = new DataView((await readHeaderBytes(8, 0)).buffer);
    const headerLengthHigh = lengthView.getUint32(4, true);
    const headerLength = headerLengthHigh * 2 ** 32 + lengthView.getUint32(0, true);
    if (headerLengthHigh !== 0 || headerLength > MAX_HEADER_BYTES) {
      fail(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
    }
    if (headerLength > size - 8) {
      fail(`header length ${headerLength} exceeds the ${size - 8} bytes after the length field (file truncated?)`);
    }

    const headerBytes = await readHeaderBytes(headerLength, 8);
    let headerText: string;
    try {
      headerText = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    } catch {
      return fail('header is not valid UTF-8');
    }
    let header: unknown;
    try {
      header = JSON.parse(headerText);
    } catch (error) {
      return fail(`header is not valid JSON (${(error as Error).message})`);
    }
    if (!isPlainObject(header)) fail('header must be a JSON object of tensor entries');
    const duplicate = findDuplicateKey(headerText);
    if (duplicate) fail(`header has the key ${duplicate} more than once`);

    const dataBegin = 8 + headerLength;
    const dataLength = size - dataBegin;
    let metadata: Record<string, string> = {};
    const tensors = new Map<string, TensorInfo>();
    for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        metadata = parseMetadata(entry, fail);
        continue;
      }
      const { dtype, shape, begin, end } = parseEntry(name, entry, fail);
      if (end > dataLength) {
        fail(`tensor ${quote(name)} ends at data offset ${end}, past the end of the ${dataLength}-byte data section (file truncated?)`);
      }
      const size = shape.reduce((product, dim) => product * dim, 1);
      const bits = size * DTYPE_BITS[dtype];
      if (!Number.isSafeInteger(bits)) fail(`tensor ${quote(name)} shape [${shape}] is too large`);
      if (bits % 8 !== 0) fail(`tensor ${quote(name)} has ${size} ${dtype} elements, which do not fill whole bytes`);
      if (end - begin !== bits / 8) {
        fail(`tensor ${quote(name)} (${dtype} [${shape}]) needs ${bits / 8} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
      }
      tensors.set(name, { name, dtype, shape, size, begin: dataBegin + begin, end: dataBegin + end });
    }

    const byBegin = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
    for (let i = 1; i < byBegin.length; i++) {
      const previous = byBegin[i - 1]!;
      const current = byBegin[i]!;
      if (current.begin < previous.end) {
        fail(`tensors ${quote(previous.name)} and ${quote(current.name)} overlap in the data section`);
      }
    }
    return new SafeTensors(file, fileName, metadata, tensors);
  }

  /** Tensor names in header order. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new AlbertError('CHECKPOINT_MISMATCH', `${this.fileName} has no tensor ${quote(name)}`);
    return info;
  }

  /**
   * Converts elements [from, from + out.length) of tensor `name` (F32, F16 or BF16, little-endian)
   * to f32 into `out`: F32 bytes are read straight into it, the others through a small scratch.
   */
  async readF32(name: string, out: Float32Array, from = 0): Promise<void> {
    const info = this.info(name);
    if (!(Number.isSafeInteger(from) && from >= 0 && from + out.length <= info.size)) {
      throw new RangeError(`readF32(${quote(name)}): elements [${from}, ${from + out.length}) are not all in the tensor's ${info.size}`);
    }
    switch (info.dtype) {
      case 'F32':
        await this.readBytes(info, new Uint8Array(out.buffer, out.byteOffset, out.byteLength), info.begin + 4 * from);
        return;
      case 'F16':
      case 'BF16': {
        const outBits = new Uint32Array(out.buffer, out.byteOffset, out.length);
        const scratch = new Uint16Array(Math.min(out.length, CONVERSION_CHUNK_BYTES / 2));
        const table = info.dtype === 'F16' ? f16ToF32Table() : undefined;
        for (let done = 0; done < out.length; done += scratch.length) {
          const halves = scratch.subarray(0, Math.min(scratch.length, out.length - done));
          await this.readBytes(info, new Uint8Array(halves.buffer, 0, halves.byteLength), info.begin + 2 * (from + done));
          if (table) {
            for (let i = 0; i < halves.length; i++) out[done + i] = table[halves[i]!]!;
          } else {
            // bf16 is the top half of an f32, so shifting the bits is exact, NaN payloads included.
            for (let i = 0; i < halves.length; i++) outBits[done + i] = halves[i]! << 16;
          }
        }
        return;
      }
      default:
        throw new AlbertError(
          'CHECKPOINT_MISMATCH',
          `${this.fileName}: tensor ${quote(name)} has dtype ${info.dtype}; only ${CONVERTIBLE_TO_F32.join(', ')} can be read as f32`,
        );
    }
  }

  /**
   * Says that of the data only these tensors will be read from now on, each byte once: a download
   * streaming in then keeps nothing else, and drops each part once it is read.
   */
  willRead(names: string[]): void {
    this.file.willRead?.(names.map((name) => {
      const { begin, end } = this.info(name);
      return [begin, end] as const;
    }));
  }

  /**
   * After the last read: waits for the rest of a download (which fails if it was cut off), and fails
   * if a local file was modified since it was opened (the tensors read may mix two versions of it).
   */
  async checkComplete(): Promise<void> {
    await this.file.finish?.();
    const change = await this.file.modifiedSinceOpened?.();
    if (change) throw new AlbertError('SAFETENSORS_INVALID', `${this.fileName}: file changed while loading (${change}); load it again`);
  }

  /** The header put these bytes inside the file; a file that has shrunk since fails here, naming the tensor. */
  private async readBytes(info: TensorInfo, into: Uint8Array, position: number): Promise<void> {
    const got = await this.file.read(into, position);
    if (got < into.length) {
      throw new AlbertError(
        'SAFETENSORS_INVALID',
        `${this.fileName}: file ended at byte ${position + got}, inside tensor ${quote(info.name)} (bytes ${info.begin} to ${info.end}); it was ${this.file.size} bytes when its header was read (file changed while loading?)`,
      );
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseMetadata(entry: unknown, fail: (what: string) => never): Record<string, string> {
  if (entry === null) return {};
  if (!isPlainObject(entry)) return fail('__metadata__ must be an object of strings');
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value !== 'string') fail(`__metadata__[${quote(key)}] must be a string, got ${quote(value)}`);
  }
  return { ...(entry as Record<string, string>) };
}

function parseEntry(name: string, entry: unknown, fail: (what: string) => never) {
  if (!isPlainObject(entry)) return fail(`tensor ${quote(name)} must be an object with dtype, shape and data_offsets`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BITS, dtype)) {
    fail(`tensor ${quote(name)} has unknown dtype ${quote(dtype)} (known: ${Object.keys(DTYPE_BITS).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    fail(`tensor ${quote(name)} shape must be an array of non-negative integers, got ${quote(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger) || offsets[0] > offsets[1]) {
    fail(`tensor ${quote(name)} data_offsets must be [begin, end] integers with 0 <= begin <= end, got ${quote(offsets)}`);
  }
  return {
    dtype: dtype as SafetensorsDtype,
    shape: shape as number[],
    begin: (offsets as number[])[0]!,
    end: (offsets as number[])[1]!,
  };
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * JSON.parse silently keeps the last of two equal keys, which would let a crafted header hide a
 * tensor entry. Walks the (already valid) JSON text and returns the path of the first key that
 * appears twice in one object, e.g. `"a.weight"` or `"a.weight"."dtype"`.
 */
function findDuplicateKey(json: string): string | undefined {
  // One frame per open object ({ keys, name }) or array (null).
  const stack: ({ keys: Set<string>; name: string } | null)[] = [];
  let expectingKey = false;
  let lastKey = '';
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; json.charCodeAt(i) !== 0x22; i++) if (json.charCodeAt(i) === 0x5c /* \ */) i++;
      const frame = stack[stack.length - 1];
      if (expectingKey && frame) {
        const key = JSON.parse(json.slice(start, i + 1)) as string;
        const path = frame.name + JSON.stringify(key);
        if (frame.keys.has(key)) return path;
        frame.keys.add(key);
        lastKey = path;
        expectingKey = false;
      }
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), name: stack.length === 0 ? '' : `${lastKey}.` });
      expectingKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectingKey = stack[stack.length - 1] != null;
    }
  }
  return undefined;
}

let f16Table: Float32Array | undefined;

/** All 65536 half-precision values as f32, built once: a lookup beats per-element bit work. */
function f16ToF32Table(): Float32Array {
  if (f16Table) return f16Table;
  const table = new Float32Array(65536);
  const bits = new Uint32Array(table.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) {
      // Zero and subnormals: mantissa × 2^-24 is exact in f32 (which is normal there).
      table[h] = (sign ? -1 : 1) * mantissa * 2 ** -24;
    } else if (exponent === 0x1f) {
      bits[h] = sign | 0x7f800000 | (mantissa << 13); // inf, or NaN with its payload
    } else {
      bits[h] = sign | ((exponent + 112) << 23) | (mantissa << 13); // rebias 15 → 127
    }
  }
  f16Table = table;
  return table;
}

/**
 * Reader for SentencePiece's ModelProto (the `spiece.model` file): the pieces with their scores and
 * types, and the normalizer spec with its precompiled charsmap. Only the fields that change how
 * text is encoded are kept; everything else is skipped by wire type, as protobuf allows.
 */
import { AlbertError } from '../errors.js';

/** ModelProto.SentencePiece.Type */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type PieceType = (typeof PieceType)[keyof typeof PieceType];

export interface NormalizerSpec {
  /** SentencePiece's compiled normalization rules (a darts-clone trie and its replacement strings). */
  precompiledCharsmap: Uint8Array | null;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
}

/** A Unigram SentencePiece model, whichever file it was read from. */
export interface SentencePieceModel {
  pieces: string[];
  scores: Float32Array;
  types: Uint8Array;
  normalizer: NormalizerSpec;
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

const UNIGRAM = 1;
const MODEL_TYPE_NAMES: Record<number, string> = { 1: 'UNIGRAM', 2: 'BPE', 3: 'WORD', 4: 'CHAR' };

class ProtoReader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
    private readonly fail: (what: string) => never,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Varints above 2^53 lose precision; no field we keep can hold one, and skipping is exact. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('a varint runs past the end of its message');
      const byte = this.bytes[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    return this.fail('a varint is longer than 10 bytes');
  }

  /** Returns [start, end) of a length-delimited field's payload and moves past it. */
  lengthDelimited(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    if (length > this.end - start) this.fail('a length-delimited field runs past the end of its message');
    this.pos = start + length;
    return [start, this.pos];
  }

  float32(): number {
    if (this.end - this.pos < 4) this.fail('a float field runs past the end of its message');
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4);
    this.pos += 4;
    return view.getFloat32(0, true);
  }

  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varint();
    else if (wireType === WIRE_LENGTH) this.lengthDelimited();
    else if (wireType === WIRE_FIXED64 || wireType === WIRE_FIXED32) {
      const size = wireType === WIRE_FIXED64 ? 8 : 4;
      if (this.end - this.pos < size) this.fail('a fixed-size field runs past the end of its message');
      this.pos += size;
    } else this.fail(`wire type ${wireType} is not one protobuf uses for this message`);
  }

  /** Reads a tag; returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const tag = this.varint();
    const field = Math.floor(tag / 8);
    if (field === 0) this.fail('a field has number 0');
    return [field, tag % 8];
  }
}

export function parseSentencePieceModel(bytes: Uint8Array, fileName: string): SentencePieceModel {
  const fail = (what: string): never => {
    throw new AlbertError(
      'TOKENIZER_INVALID',
      `${fileName} is not a SentencePiece model (ModelProto): ${what}`,
    );
  };
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const text = (start: number, end: number): string => {
    try {
      return decoder.decode(bytes.subarray(start, end));
    } catch {
      return fail('a piece is not valid UTF-8');
    }
  };

  const pieces: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const normalizer: NormalizerSpec = {
    precompiledCharsmap: null,
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
  };
  let escapeWhitespaces = true;
  let hasNormalizerSpec = false;
  let modelType = UNIGRAM;
  let treatWhitespaceAsSuffix = false;
  let byteFallback = false;

  const model = new ProtoReader(bytes, 0, bytes.length, fail);
  while (!model.done()) {
    const [field, wire] = model.tag();
    if (field === 1 && wire === WIRE_LENGTH) {
      const [start, end] = model.lengthDelimited();
      const piece = new ProtoReader(bytes, start, end, fail);
      let pieceText: string | null = null;
      let score = 0;
      let type: number = PieceType.NORMAL;
      while (!piece.done()) {
        const [f, w] = piece.tag();
        if (f === 1 && w === WIRE_LENGTH) pieceText = text(...piece.lengthDelimited());
        else if (f === 2 && w === WIRE_FIXED32) score = piece.float32();
        else if (f === 3 && w === WIRE_VARINT) type = piece.varint();
        else piece.skip(w);
      }
      if (pieceText === null || pieceText.length === 0) fail(`piece ${pieces.length} has no text`);
      if (type < PieceType.NORMAL || type > PieceType.BYTE) fail(`piece ${pieces.length} has unknown type ${type}`);
      pieces.push(pieceText!);
      scores.push(score);
      types.push(type);
    } else if (field === 2 && wire === WIRE_LENGTH) {
      const trainer = new ProtoReader(bytes, ...model.lengthDelimited(), fail);
      while (!trainer.done()) {
        const [f, w] = trainer.tag();
        if (f === 3 && w === WIRE_VARINT) modelType = trainer.varint();
        else if (f === 24 && w === WIRE_VARINT) treatWhitespaceAsSuffix = trainer.varint() !== 0;
        else if (f === 35 && w === WIRE_VARINT) byteFallback = trainer.varint() !== 0;
        else trainer.skip(w);
      }
    } else if (field === 3 && wire === WIRE_LENGTH) {
      hasNormalizerSpec = true;
      const spec = new ProtoReader(bytes, ...model.lengthDelimited(), fail);
      while (!spec.done()) {
        const [f, w] = spec.tag();
        if (f === 2 && w === WIRE_LENGTH) {
          const [start, end] = spec.lengthDelimited();
          normalizer.precompiledCharsmap = end > start ? bytes.slice(start, end) : null;
        } else if (f === 3 && w === WIRE_VARINT) normalizer.addDummyPrefix = spec.varint() !== 0;
        else if (f === 4 && w === WIRE_VARINT) normalizer.removeExtraWhitespaces = spec.varint() !== 0;
        else if (f === 5 && w === WIRE_VARINT) escapeWhitespaces = spec.varint() !== 0;
        else spec.skip(w);
      }
    } else {
      model.skip(wire);
    }
  }

  if (pieces.length === 0) fail('it holds no pieces');
  if (modelType !== UNIGRAM) {
    throw new AlbertError(
      'TOKENIZER_INVALID',
      `${fileName}: trainer_spec.model_type is ${MODEL_TYPE_NAMES[modelType] ?? modelType}; only UNIGRAM models are supported`,
    );
  }
  // SentencePiece writes normalizer_spec after the pieces: a file cut between two pieces still
  // parses, but lacks it.
  if (!hasNormalizerSpec) fail('it has no normalizer_spec (is the file truncated?)');
  const unsupported = (what: string): never => {
    throw new AlbertError('TOKENIZER_INVALID', `${fileName}: ${what} is not supported`);
  };
  if (byteFallback) unsupported('trainer_spec.byte_fallback');
  if (treatWhitespaceAsSuffix) unsupported('trainer_spec.treat_whitespace_as_suffix');
  if (!escapeWhitespaces) unsupported('normalizer_spec.escape_whitespaces = false');

  const result = { pieces, scores: Float32Array.from(scores), types: Uint8Array.from(types), normalizer };
  validateSentencePieceModel(result, fileName);
  return result;
}

/** Checks what SentencePiece itself checks when it loads a model: one <unk>, no duplicate piece. */
export function validateSentencePieceModel(model: SentencePieceModel, fileName: string): void {
  const seen = new Set<string>();
  let unknowns = 0;
  model.pieces.forEach((piece, id) => {
    if (seen.has(piece)) {
      throw new AlbertError('TOKENIZER_INVALID', `${fileName}: piece "${piece}" (id ${id}) is defined twice`);
    }
    seen.add(piece);
    if (model.types[id] === PieceType.UNKNOWN) unknowns++;
  });
  if (unknowns !== 1) {
    throw new AlbertError(
      'TOKENIZER_INVALID',
      `${fileName}: expected exactly one piece of type UNKNOWN (<unk>), found ${unknowns}`,
    );
  }
}

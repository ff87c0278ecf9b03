import { AlbertError } from '../errors.js';
import type { AlbertConfig } from '../io/config.js';
import { quote } from '../io/quote.js';

/** A [batch, sequence] integer matrix: nested arrays, or a tensor-like `{ data, dims }` as transformers.js passes. */
export type IdMatrix =
  | ArrayLike<ArrayLike<number | bigint>>
  | { data: ArrayLike<number | bigint>; dims: readonly number[] };

export interface ForwardInputs {
  input_ids: IdMatrix;
  /** 1 for tokens to attend to, 0 for padding. Default: all ones. */
  attention_mask?: IdMatrix;
  /** Segment ids, 0 or 1 for ALBERT. Default: all zeros. */
  token_type_ids?: IdMatrix;
}

/** A validated batch, flattened row-major. */
export interface Batch {
  batch: number;
  seq: number;
  ids: Int32Array;
  types: Int32Array;
  /** Hugging Face's additive mask: 0 where attended, the f32 minimum where padded. */
  maskAdd: Float32Array;
}

const F32_MIN = -3.4028234663852886e38;

/** The values one input may hold: integers in [0, limit), described for messages by `expected`. */
interface ValueRange {
  limit: number;
  expected: string;
}

/** Reads a [batch, sequence] input row-major, checking every value against `range` as it goes. */
function toMatrix(name: string, value: IdMatrix, range: ValueRange): { rows: number; cols: number; data: Int32Array } {
  const read = (v: unknown, r: number, t: number): number => {
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= range.limit) {
      throw new AlbertError('INPUT_INVALID', `${name}[${r}][${t}] is ${quote(v)}, expected ${range.expected}`);
    }
    return n;
  };
  if (value && typeof value === 'object' && 'dims' in value && 'data' in value) {
    const { data, dims } = value;
    if (!Array.isArray(dims) || dims.length !== 2 || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new AlbertError('INPUT_INVALID', `${name} must have dims [batch, sequence] of non-negative integers, got ${quote(dims)}`);
    }
    const [rows, cols] = dims as [number, number];
    if (!data || typeof data.length !== 'number' || data.length !== rows * cols) {
      throw new AlbertError('INPUT_INVALID', `${name} has ${quote(data?.length)} values but dims [${dims}] need ${rows * cols}`);
    }
    const out = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = read(data[i], Math.floor(i / cols), i % cols);
    return { rows, cols, data: out };
  }
  if (!value || typeof (value as ArrayLike<unknown>).length !== 'number') {
    throw new AlbertError('INPUT_INVALID', `${name} must be a [batch][sequence] array of integers or a { data, dims } tensor`);
  }
  const rowsIn = value as ArrayLike<ArrayLike<number | bigint>>;
  const rows = rowsIn.length;
  const cols = rows > 0 && rowsIn[0] ? rowsIn[0].length : 0;
  const out = new Int32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = rowsIn[r];
    if (!row || typeof row !== 'object' || typeof row.length !== 'number') {
      throw new AlbertError('INPUT_INVALID', `${name}[${r}] is not an array: expected [batch][sequence] integers`);
    }
    if (row.length !== cols) {
      throw new AlbertError('INPUT_INVALID', `${name} is ragged: row 0 has ${cols} tokens, row ${r} has ${row.length}; pad the batch (attention_mask 0 on padding)`);
    }
    for (let t = 0; t < cols; t++) out[r * cols + t] = read(row[t], r, t);
  }
  return { rows, cols, data: out };
}

/** Validates a forward call's inputs against the config, applying Hugging Face's defaults. */
export function prepareBatch(inputs: ForwardInputs, config: AlbertConfig): Batch {
  if (!inputs || typeof inputs !== 'object' || inputs.input_ids === undefined) {
    throw new AlbertError('INPUT_INVALID', 'forward() needs { input_ids }, a [batch][sequence] array of token ids');
  }
  const ids = toMatrix('input_ids', inputs.input_ids, {
    limit: config.vocabSize,
    expected: `a token id in [0, ${config.vocabSize}) (vocab_size)`,
  });
  if (ids.rows === 0 || ids.cols === 0) {
    throw new AlbertError('INPUT_INVALID', `input_ids is empty ([${ids.rows}, ${ids.cols}]); give at least one token in one row`);
  }
  if (ids.cols > config.maxPositionEmbeddings) {
    throw new AlbertError('INPUT_INVALID', `input_ids has ${ids.cols} tokens per row; the model's max_position_embeddings is ${config.maxPositionEmbeddings} (truncate the input)`);
  }
  const sameShape = (name: string, m: { rows: number; cols: number }) => {
    if (m.rows !== ids.rows || m.cols !== ids.cols) {
      throw new AlbertError('INPUT_INVALID', `${name} is [${m.rows}, ${m.cols}] but input_ids is [${ids.rows}, ${ids.cols}]`);
    }
  };

  let types: Int32Array = new Int32Array(ids.data.length);
  if (inputs.token_type_ids != null) {
    const m = toMatrix('token_type_ids', inputs.token_type_ids, {
      limit: config.typeVocabSize,
      expected: `a token type in [0, ${config.typeVocabSize}) (type_vocab_size)`,
    });
    sameShape('token_type_ids', m);
    types = m.data;
  }
  const maskAdd = new Float32Array(ids.data.length);
  if (inputs.attention_mask != null) {
    const m = toMatrix('attention_mask', inputs.attention_mask, { limit: 2, expected: '0 or 1' });
    sameShape('attention_mask', m);
    // A row of zeros gives every score the same minimum, so it attends uniformly, as in Hugging Face.
    for (let i = 0; i < m.data.length; i++) maskAdd[i] = m.data[i] ? 0 : F32_MIN;
  }
  return { batch: ids.rows, seq: ids.cols, ids: ids.data, types, maskAdd };
}

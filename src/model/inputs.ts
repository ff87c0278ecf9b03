import { AlbertError } from '../errors.js';
import type { AlbertConfig } from '../io/config.js';

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

function toMatrix(name: string, value: IdMatrix): { rows: number; cols: number; data: Int32Array } {
  if (value && typeof value === 'object' && 'dims' in value && 'data' in value) {
    const { data, dims } = value;
    if (dims.length !== 2) throw new AlbertError('INPUT_INVALID', `${name} must have dims [batch, sequence], got [${dims}]`);
    const [rows, cols] = dims;
    if (data.length !== rows * cols) {
      throw new AlbertError('INPUT_INVALID', `${name} has ${data.length} values but dims [${dims}] need ${rows * cols}`);
    }
    const out = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = toInt(name, data[i], Math.floor(i / cols), i % cols);
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
    for (let t = 0; t < cols; t++) out[r * cols + t] = toInt(name, row[t], r, t);
  }
  return { rows, cols, data: out };
}

function toInt(name: string, v: unknown, r: number, t: number): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || Math.abs(n) > 2 ** 31) {
    throw new AlbertError('INPUT_INVALID', `${name}[${r}][${t}] is ${String(v)}, expected an integer`);
  }
  return n;
}

function checkRange(name: string, m: { cols: number; data: Int32Array }, limit: number, what: string): void {
  for (let i = 0; i < m.data.length; i++) {
    const v = m.data[i];
    if (v < 0 || v >= limit) {
      throw new AlbertError('INPUT_INVALID', `${name}[${Math.floor(i / m.cols)}][${i % m.cols}] is ${v}, outside ${what} [0, ${limit})`);
    }
  }
}

/** Validates a forward call's inputs against the config, applying Hugging Face's defaults. */
export function prepareBatch(inputs: ForwardInputs, config: AlbertConfig): Batch {
  if (!inputs || typeof inputs !== 'object' || inputs.input_ids === undefined) {
    throw new AlbertError('INPUT_INVALID', 'forward() needs { input_ids }, a [batch][sequence] array of token ids');
  }
  const ids = toMatrix('input_ids', inputs.input_ids);
  if (ids.rows === 0 || ids.cols === 0) {
    throw new AlbertError('INPUT_INVALID', `input_ids is empty ([${ids.rows}, ${ids.cols}]); give at least one token in one row`);
  }
  if (ids.cols > config.maxPositionEmbeddings) {
    throw new AlbertError('INPUT_INVALID', `input_ids has ${ids.cols} tokens per row; the model's max_position_embeddings is ${config.maxPositionEmbeddings} (truncate the input)`);
  }
  checkRange('input_ids', ids, config.vocabSize, 'the vocabulary');
  const sameShape = (name: string, m: { rows: number; cols: number }) => {
    if (m.rows !== ids.rows || m.cols !== ids.cols) {
      throw new AlbertError('INPUT_INVALID', `${name} is [${m.rows}, ${m.cols}] but input_ids is [${ids.rows}, ${ids.cols}]`);
    }
  };

  let types: Int32Array = new Int32Array(ids.data.length);
  if (inputs.token_type_ids != null) {
    const m = toMatrix('token_type_ids', inputs.token_type_ids);
    sameShape('token_type_ids', m);
    checkRange('token_type_ids', m, config.typeVocabSize, 'type_vocab_size');
    types = m.data;
  }
  const maskAdd = new Float32Array(ids.data.length);
  if (inputs.attention_mask != null) {
    const m = toMatrix('attention_mask', inputs.attention_mask);
    sameShape('attention_mask', m);
    for (let i = 0; i < m.data.length; i++) {
      const v = m.data[i];
      if (v !== 0 && v !== 1) {
        throw new AlbertError('INPUT_INVALID', `attention_mask[${Math.floor(i / m.cols)}][${i % m.cols}] is ${v}, expected 0 or 1`);
      }
      maskAdd[i] = v ? 0 : F32_MIN;
    }
  }
  return { batch: ids.rows, seq: ids.cols, ids: ids.data, types, maskAdd };
}

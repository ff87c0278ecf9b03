import { AlbertError } from '../errors.js';
import type { AlbertModel, ForwardOutputs, OutputName } from '../model/albert.js';
import type { AlbertTokenizer, EncodeOptions, Encoding } from '../tokenizer/index.js';

/** What every task runs on: a model and the tokenizer that made its vocabulary. */
export interface TaskContext {
  model: AlbertModel;
  tokenizer: AlbertTokenizer;
}

/** Stacks encodings into the model's [batch, sequence] inputs, right-padding rows to the longest. */
export function toInputs(encodings: Encoding[], padId = 0) {
  const L = Math.max(...encodings.map((e) => e.input_ids.length));
  const pad = (row: number[], value: number) => (row.length === L ? row : [...row, ...new Array<number>(L - row.length).fill(value)]);
  return {
    input_ids: encodings.map((e) => pad(e.input_ids, padId)),
    attention_mask: encodings.map((e) => pad(e.attention_mask, 0)),
    token_type_ids: encodings.map((e) => pad(e.token_type_ids, 0)),
  };
}

/** Tokenizes a batch padded to its longest row (truncated to the model's maximum) and runs the model. */
export async function encodeAndRun(
  { model, tokenizer }: TaskContext,
  texts: (string | [string, string])[],
  outputs: OutputName[],
  encodeOptions: EncodeOptions = {},
): Promise<{ encodings: Encoding[]; result: ForwardOutputs }> {
  const encodings = tokenizer.encodeBatch(texts, {
    padding: 'longest',
    truncation: true,
    maxLength: model.config.maxPositionEmbeddings,
    ...encodeOptions,
  });
  const result = await model.forward(toInputs(encodings), { outputs });
  return { encodings, result };
}

export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const out = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Indices of the k largest values, largest first (ties keep the lower index first). */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const picked: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (picked.length === k && !(values[i] > values[picked[k - 1]])) continue;
    let j = picked.length === k ? k - 1 : picked.length;
    while (j > 0 && values[picked[j - 1]] < values[i]) {
      picked[j] = picked[j - 1];
      j--;
    }
    picked[j] = i;
  }
  return picked;
}

export function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new AlbertError('INPUT_INVALID', `${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function requireHead(model: AlbertModel, task: string, heads: string[]): void {
  if (!heads.includes(model.info.head)) {
    throw new AlbertError('OUTPUT_UNAVAILABLE', `${task} needs a ${heads.join(' or ')} checkpoint; this one is ${model.info.head} (${model.config.architectures.join(', ') || 'no architectures in config.json'})`);
  }
}

export function requireTexts(task: string, input: unknown): { texts: string[]; single: boolean } {
  const single = typeof input === 'string';
  const texts = single ? [input as string] : input;
  if (!Array.isArray(texts) || texts.length === 0 || texts.some((t) => typeof t !== 'string')) {
    throw new AlbertError('INPUT_INVALID', `${task} takes a string or a non-empty array of strings`);
  }
  return { texts, single };
}

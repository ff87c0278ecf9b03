import { AlbertError } from '../errors.js';
import { encodeAndRun, positiveInt, requireHead, sigmoid, softmax, topK, type TaskContext } from './common.js';

export type ClassificationInput = string | { text: string; text_pair?: string };

export interface TextClassificationOptions {
  /** How many labels per text, best first; null for all. Default 1. */
  top_k?: number | null;
  /** Default: sigmoid for multi_label_classification or a single label, softmax otherwise (as Hugging Face). */
  function_to_apply?: 'softmax' | 'sigmoid' | 'none';
}

export interface LabelScore {
  label: string;
  score: number;
}

function toText(input: unknown, i: number): string | [string, string] {
  if (typeof input === 'string') return input;
  if (input && typeof input === 'object' && typeof (input as { text?: unknown }).text === 'string') {
    const { text, text_pair } = input as { text: string; text_pair?: unknown };
    if (text_pair === undefined) return text;
    if (typeof text_pair === 'string') return [text, text_pair];
  }
  throw new AlbertError('INPUT_INVALID', `text-classification input ${i} must be a string or { text, text_pair? }`);
}

/** Labels from config.json's id2label with their scores, best first; one list per input. */
export async function textClassification(
  ctx: TaskContext,
  input: ClassificationInput | ClassificationInput[],
  options: TextClassificationOptions = {},
): Promise<LabelScore[] | LabelScore[][]> {
  requireHead(ctx.model, 'text-classification', ['sequence-classification']);
  const single = !Array.isArray(input);
  const items = single ? [input] : input;
  if (items.length === 0) throw new AlbertError('INPUT_INVALID', 'text-classification takes at least one text');
  const { numLabels, id2label, problemType } = ctx.model.config;
  const k = options.top_k === null ? numLabels : Math.min(positiveInt('top_k', options.top_k, 1), numLabels);
  const fn = options.function_to_apply ?? (problemType === 'multi_label_classification' || numLabels === 1 ? 'sigmoid' : 'softmax');
  if (!['softmax', 'sigmoid', 'none'].includes(fn)) {
    throw new AlbertError('INPUT_INVALID', `function_to_apply must be 'softmax', 'sigmoid' or 'none', got ${String(fn)}`);
  }

  const { result } = await encodeAndRun(ctx, items.map(toText), ['logits']);
  const logits = result.logits!.data;
  const perText = items.map((_, b) => {
    const row = logits.subarray(b * numLabels, (b + 1) * numLabels);
    const scores = fn === 'softmax' ? softmax(row) : fn === 'sigmoid' ? Float64Array.from(row, sigmoid) : Float64Array.from(row);
    return topK(scores, k).map((i) => ({ label: id2label[i] ?? `LABEL_${i}`, score: scores[i] }));
  });
  return single ? perText[0] : perText;
}

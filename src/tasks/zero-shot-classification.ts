import { AlbertError } from '../errors.js';
import { encodeAndRun, requireHead, requireTexts, softmax, type TaskContext } from './common.js';

export interface ZeroShotOptions {
  /** Turned into one hypothesis per label by hypothesis_template. */
  candidate_labels: string[] | string;
  /** Default "This example is {}.". */
  hypothesis_template?: string;
  /** Score each label on its own (entailment vs label 0, contradiction) instead of one softmax over labels. Default false. */
  multi_label?: boolean;
  /** Told when config.json names no entailment label and the last label is used, as Hugging Face does. */
  onWarning?: (message: string) => void;
}

export interface ZeroShotResult {
  sequence: string;
  labels: string[];
  scores: number[];
}

/** Classification into arbitrary labels with an NLI model (premise = text, hypothesis = template(label)). */
export async function zeroShotClassification(ctx: TaskContext, input: string | string[], options: ZeroShotOptions) {
  requireHead(ctx.model, 'zero-shot-classification', ['sequence-classification']);
  const { texts, single } = requireTexts('zero-shot-classification', input);
  const labels = typeof options?.candidate_labels === 'string' ? options.candidate_labels.split(',').map((l) => l.trim()) : options?.candidate_labels;
  if (!Array.isArray(labels) || labels.length === 0 || labels.some((l) => typeof l !== 'string' || !l)) {
    throw new AlbertError('INPUT_INVALID', 'zero-shot-classification needs candidate_labels: a non-empty list of label names');
  }
  const template = options.hypothesis_template ?? 'This example is {}.';
  if (!template.includes('{}')) {
    throw new AlbertError('INPUT_INVALID', `hypothesis_template must contain "{}" where the label goes, got "${template}"`);
  }
  const { label2id, numLabels } = ctx.model.config;
  const find = (prefix: string) => Object.entries(label2id).find(([name]) => name.toLowerCase().startsWith(prefix))?.[1];
  let entail = find('entail');
  if (entail === undefined) {
    entail = numLabels - 1;
    options.onWarning?.(`config.json's label2id has no entailment label; using the last label (${entail}) as Hugging Face does`);
  }

  const pairs = texts.flatMap((t) => labels.map((l) => [t, template.replace('{}', l)] as [string, string]));
  const { result } = await encodeAndRun(ctx, pairs, ['logits'], { truncation: 'only_first' });
  const logits = result.logits!.data;
  const at = (pair: number, label: number) => logits[pair * numLabels + label];

  const perText = texts.map((sequence, i): ZeroShotResult => {
    const rows = labels.map((_, j) => i * labels.length + j);
    // As Hugging Face: label 0 plays "contradiction" against entailment when labels are scored alone.
    const scores = options.multi_label || labels.length === 1
      ? rows.map((r) => softmax([at(r, 0), at(r, entail)])[1])
      : Array.from(softmax(rows.map((r) => at(r, entail))));
    const order = labels.map((_, j) => j).sort((a, b) => scores[b] - scores[a]);
    return { sequence, labels: order.map((j) => labels[j]), scores: order.map((j) => scores[j]) };
  });
  return single ? perText[0] : perText;
}

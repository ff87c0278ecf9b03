import { AlbertError } from '../errors.js';
import { encodeAndRun, requireHead, requireTexts, softmax, type TaskContext } from './common.js';

export type AggregationStrategy = 'none' | 'simple' | 'first' | 'average' | 'max';

export interface TokenClassificationOptions {
  /** How sub-word tokens become entities, as in Hugging Face's pipeline. Default 'none'. */
  aggregation_strategy?: AggregationStrategy;
  /** Labels left out of the result. Default ['O']. */
  ignore_labels?: string[];
}

export interface TokenEntity {
  entity: string;
  score: number;
  index: number;
  /** The token as the vocabulary spells it (e.g. "▁paris"). */
  word: string;
  start: number;
  end: number;
}

export interface EntityGroup {
  entity_group: string;
  score: number;
  /** The words of the group as they appear in the text. */
  word: string;
  start: number;
  end: number;
}

/** A token before a label is chosen: Hugging Face's "pre-entity". */
interface Scored {
  word: string;
  scores: Float64Array;
  index: number;
  start: number;
  end: number;
  isSubword: boolean;
}

const argmax = (xs: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
};

/** "B-PER" → ['B', 'PER']; a label without a prefix continues like "I-". */
function splitTag(label: string): [string, string] {
  if (label.startsWith('B-')) return ['B', label.slice(2)];
  if (label.startsWith('I-')) return ['I', label.slice(2)];
  return ['I', label];
}

/**
 * Labels each token (or word, or entity span) of each text. Offsets are UTF-16 indices into the text.
 * One list per text; a single string gives a single list.
 */
export async function tokenClassification(ctx: TaskContext, input: string | string[], options: TokenClassificationOptions = {}) {
  requireHead(ctx.model, 'token-classification', ['token-classification']);
  const { texts, single } = requireTexts('token-classification', input);
  const strategy = options.aggregation_strategy ?? 'none';
  if (!['none', 'simple', 'first', 'average', 'max'].includes(strategy)) {
    throw new AlbertError('INPUT_INVALID', `aggregation_strategy must be none, simple, first, average or max; got ${String(strategy)}`);
  }
  const ignore = new Set(options.ignore_labels ?? ['O']);
  const { id2label, numLabels } = ctx.model.config;
  const label = (i: number) => id2label[i] ?? `LABEL_${i}`;
  const { tokenizer } = ctx;

  const { encodings, result } = await encodeAndRun(ctx, texts, ['logits']);
  const logits = result.logits!.data;
  const L = result.logits!.dims[1];

  const perText = texts.map((text, b) => {
    const e = encodings[b];
    const tokens: Scored[] = [];
    for (let t = 0; t < L; t++) {
      if (e.special_tokens_mask[t] || !e.attention_mask[t]) continue;
      const [start, end] = e.offsets[t];
      const isUnk = e.input_ids[t] === tokenizer.unkTokenId;
      tokens.push({
        word: isUnk ? text.slice(start, end) : tokenizer.idToToken(e.input_ids[t]),
        scores: softmax(logits.subarray((b * L + t) * numLabels, (b * L + t + 1) * numLabels)),
        index: t,
        start,
        end,
        // Hugging Face's fallback for tokenizers without word boundaries: a token continues a word
        // unless it starts the text or a space touches its start.
        isSubword: !isUnk && start > 0 && !/\s/.test(text.slice(start - 1, start + 1)),
      });
    }

    if (strategy === 'none' || strategy === 'simple') {
      const entities: TokenEntity[] = tokens.map((tok) => {
        const i = argmax(tok.scores);
        return { entity: label(i), score: tok.scores[i], index: tok.index, word: tok.word, start: tok.start, end: tok.end };
      });
      if (strategy === 'none') return entities.filter((x) => !ignore.has(x.entity));
      return groupEntities(text, entities).filter((g) => !ignore.has(g.entity_group));
    }

    // first / average / max: decide one label per word, then group words into entities.
    const words: Scored[][] = [];
    for (const tok of tokens) {
      if (tok.isSubword && words.length) words[words.length - 1].push(tok);
      else words.push([tok]);
    }
    const labelled = words.map((parts) => {
      let scores: Float64Array;
      if (strategy === 'first') scores = parts[0].scores;
      else if (strategy === 'max') scores = parts.reduce((a, p) => (Math.max(...p.scores) > Math.max(...a.scores) ? p : a)).scores;
      else scores = Float64Array.from(parts[0].scores, (_, i) => parts.reduce((s, p) => s + p.scores[i], 0) / parts.length);
      const i = argmax(scores);
      return { entity: label(i), score: scores[i], start: parts[0].start, end: parts[parts.length - 1].end };
    });
    return groupEntities(text, labelled).filter((g) => !ignore.has(g.entity_group));
  });
  return single ? perText[0] : perText;
}

/** Hugging Face's group_entities: consecutive tokens of one type merge unless a "B-" starts anew. */
function groupEntities(text: string, entities: { entity: string; score: number; start: number; end: number }[]): EntityGroup[] {
  const groups: EntityGroup[] = [];
  let current: typeof entities = [];
  const close = () => {
    if (!current.length) return;
    const first = current[0];
    const last = current[current.length - 1];
    groups.push({
      entity_group: splitTag(first.entity)[1],
      score: current.reduce((s, x) => s + x.score, 0) / current.length,
      word: text.slice(first.start, last.end),
      start: first.start,
      end: last.end,
    });
  };
  for (const entity of entities) {
    const [bi, tag] = splitTag(entity.entity);
    if (current.length && tag === splitTag(current[current.length - 1].entity)[1] && bi !== 'B') {
      current.push(entity);
    } else {
      close();
      current = [entity];
    }
  }
  close();
  return groups;
}

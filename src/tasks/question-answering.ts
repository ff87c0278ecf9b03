import { AlbertError } from '../errors.js';
import type { Encoding } from '../tokenizer/index.js';
import { positiveInt, requireHead, toInputs, type TaskContext } from './common.js';

export interface QuestionAnsweringInput {
  question: string;
  context: string;
}

export interface QuestionAnsweringOptions {
  /** How many answers, best first. Default 1 (a single answer object instead of a list). */
  top_k?: number;
  /** Longest answer in tokens. Default 15. */
  max_answer_len?: number;
  /** Tokens per window (question + context + special tokens). Default min(384, the model's maximum). */
  max_seq_len?: number;
  /** Tokens shared by consecutive windows of a long context. Default min(128, max_seq_len / 2). */
  doc_stride?: number;
  /** Also consider "no answer" (the [CLS] score), returned as an empty answer at 0..0. Default false. */
  handle_impossible_answer?: boolean;
}

export interface Answer {
  score: number;
  /** UTF-16 offsets of the answer in the context. */
  start: number;
  end: number;
  answer: string;
}

/**
 * Extractive question answering as Hugging Face's pipeline does it: the context is split into
 * overlapping windows, each scored by softmax(start)·softmax(end) over context tokens only, spans
 * up to max_answer_len tokens, the best spans of all windows ranked together.
 */
export async function questionAnswering(
  ctx: TaskContext,
  input: QuestionAnsweringInput | QuestionAnsweringInput[],
  options: QuestionAnsweringOptions = {},
): Promise<Answer | Answer[] | (Answer | Answer[])[]> {
  requireHead(ctx.model, 'question-answering', ['question-answering']);
  const single = !Array.isArray(input);
  const examples = single ? [input] : input;
  examples.forEach((ex, i) => {
    if (!ex || typeof ex.question !== 'string' || typeof ex.context !== 'string') {
      throw new AlbertError('INPUT_INVALID', `question-answering input ${i} must be { question: string, context: string }`);
    }
  });
  const { model, tokenizer } = ctx;
  const topN = positiveInt('top_k', options.top_k, 1);
  const maxAnswerLen = positiveInt('max_answer_len', options.max_answer_len, 15);
  const maxSeqLen = positiveInt('max_seq_len', options.max_seq_len, Math.min(384, model.config.maxPositionEmbeddings));
  const docStride = positiveInt('doc_stride', options.doc_stride, Math.min(128, Math.floor(maxSeqLen / 2)));
  if (maxSeqLen > model.config.maxPositionEmbeddings) {
    throw new AlbertError('INPUT_INVALID', `max_seq_len ${maxSeqLen} exceeds the model's max_position_embeddings ${model.config.maxPositionEmbeddings}`);
  }

  // Every window of every example in one batch.
  const windows: { example: number; encoding: Encoding }[] = [];
  examples.forEach((ex, example) => {
    const first = tokenizer.encode(ex.question, {
      pair: ex.context,
      truncation: 'only_second',
      maxLength: maxSeqLen,
      stride: docStride,
      returnOverflowing: true,
    });
    for (const encoding of [first, ...(first.overflowing ?? [])]) windows.push({ example, encoding });
  });
  const result = await model.forward(toInputs(windows.map((w) => w.encoding), tokenizer.padTokenId), { outputs: ['start_logits', 'end_logits'] });
  const L = result.start_logits!.dims[1];

  const answers: Answer[][] = examples.map(() => []);
  const nullScore = examples.map(() => Infinity);
  windows.forEach(({ example, encoding }, w) => {
    // Candidates: context tokens only ([CLS] stays in the softmax for the "no answer" score).
    const candidate = (t: number) => t < encoding.input_ids.length && encoding.sequence_ids[t] === 1;
    const probs = (logits: Float32Array) => {
      const masked = Array.from({ length: L }, (_, t) => (candidate(t) || t === 0 ? logits[w * L + t] : -10000));
      const max = Math.max(...masked);
      const exp = masked.map((v) => Math.exp(v - max));
      const sum = exp.reduce((a, b) => a + b, 0);
      return exp.map((v) => v / sum);
    };
    const start = probs(result.start_logits!.data);
    const end = probs(result.end_logits!.data);
    nullScore[example] = Math.min(nullScore[example], start[0] * end[0]);

    const spans: { s: number; e: number; score: number }[] = [];
    for (let s = 0; s < L; s++) {
      if (!candidate(s)) continue;
      for (let e = s; e < Math.min(L, s + maxAnswerLen); e++) {
        if (candidate(e)) spans.push({ s, e, score: start[s] * end[e] });
      }
    }
    spans.sort((a, b) => b.score - a.score);
    const context = examples[example].context;
    for (const { s, e, score } of spans.slice(0, topN)) {
      const from = encoding.offsets[s][0];
      const to = encoding.offsets[e][1];
      answers[example].push({ score, start: from, end: to, answer: context.slice(from, to) });
    }
  });

  const perExample = answers.map((list, i) => {
    // No context tokens at all (an empty context) leaves only the "no answer" answer.
    if (options.handle_impossible_answer || list.length === 0) list.push({ score: nullScore[i], start: 0, end: 0, answer: '' });
    const best = list.sort((a, b) => b.score - a.score).slice(0, topN);
    return topN === 1 ? best[0] : best;
  });
  return single ? perExample[0] : perExample;
}

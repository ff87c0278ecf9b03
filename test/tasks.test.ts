import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlbertModel } from '../src/model/albert.js';
import { softmax } from '../src/tasks/common.js';
import { pipeline } from '../src/tasks/pipeline.js';
import { AlbertTokenizer } from '../src/tokenizer/index.js';
import { BASE_V2_DIR, expectedOf, FIXTURES_DIR } from './helpers/fixtures.js';

const baseTokenizer = () => AlbertTokenizer.fromSentencePiece(readFileSync(`${BASE_V2_DIR}spiece.model`));
/** A 137-piece model with ALBERT's special ids, small enough for the tiny fixtures' 512-entry vocabularies. */
const tinyTokenizer = () => AlbertTokenizer.fromSentencePiece(readFileSync(new URL('./assets/tiny-spiece.model', import.meta.url)));

const argmax = (xs: ArrayLike<number>) => Array.from(xs).reduce((best, v, i, a) => (v > a[best] ? i : best), 0);

describe('fill-mask', () => {
  let unmasker: Awaited<ReturnType<typeof pipeline<'fill-mask'>>>;
  beforeAll(async () => {
    unmasker = await pipeline('fill-mask', `${FIXTURES_DIR}base`, { tokenizer: baseTokenizer() });
  });

  it("gives the reference top 5 at the fixture's [MASK]", async () => {
    const c = expectedOf('base').cases.find((x) => x.name === 'single')!;
    const text = unmasker.tokenizer.decode(c.inputs.input_ids[0].slice(1, -1));
    expect(unmasker.tokenizer.encode(text).input_ids).toEqual(c.inputs.input_ids[0]);
    const predictions = (await unmasker(text, { top_k: 5 })) as { token: number; score: number }[];
    const mask = c.outputs.mlm.masked_positions[0];
    expect(predictions.map((p) => p.token)).toEqual(mask.top5_ids);
    // Scores are the softmax over the whole vocabulary: exp(logit - logsumexp) with the reference's values.
    const lse = c.outputs.mlm.per_position.logsumexp.f64[mask.position];
    predictions.forEach((p, i) => expect(p.score).toBeCloseTo(Math.exp(mask.top5_f64[i] - lse), 6));
  });

  it('agrees with the model logits at the [MASK] for real text, and fills the sequence', async () => {
    const text = 'Paris is the [MASK] of France.';
    const enc = unmasker.tokenizer.encode(text);
    expect(enc.input_ids).toEqual([2, 1162, 25, 14, 4, 16, 714, 9, 3]);
    const { logits } = await unmasker.model.forward({ input_ids: [enc.input_ids] });
    const V = unmasker.model.config.vocabSize;
    const probs = softmax(logits!.data.subarray(4 * V, 5 * V));
    const top = Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]).slice(0, 3);
    const predictions = (await unmasker(text, { top_k: 3 })) as { token: number; score: number; token_str: string; sequence: string }[];
    expect(predictions.map((p) => p.token)).toEqual(top);
    predictions.forEach((p) => {
      expect(p.score).toBeCloseTo(probs[p.token], 6);
      expect(p.token_str).toBe(unmasker.tokenizer.decode([p.token]));
      expect(p.sequence).toBe(`paris is the ${p.token_str} of france.`.replace(/ +/g, ' '));
    });
  });

  it('answers per mask and per text in batches', async () => {
    const out = (await unmasker(['Paris is the [MASK] of France.', 'A [MASK] and a [MASK].'], { top_k: 2 })) as unknown[];
    expect(out).toHaveLength(2);
    expect(out[0]).toHaveLength(2);
    expect((out[1] as unknown[][]).map((m) => m.length)).toEqual([2, 2]);
  });

  it('refuses a text without [MASK]', async () => {
    await expect(unmasker('no mask here')).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });
});

describe('feature-extraction', () => {
  it('mean-pools over real tokens only and normalizes', async () => {
    const extractor = await pipeline('feature-extraction', `${FIXTURES_DIR}tiny`, { tokenizer: tinyTokenizer() });
    const texts = ['The cat sees the city.', 'A dog.'];
    const none = await extractor(texts);
    const [B, L, H] = none.dims;
    expect(B).toBe(2);
    const mean = await extractor(texts, { pooling: 'mean', normalize: true });
    expect(mean.dims).toEqual([2, H]);
    const alone = await extractor('A dog.', { pooling: 'mean', normalize: true });
    for (let i = 0; i < H; i++) expect(mean.data[H + i]).toBeCloseTo(alone.data[i], 5);
    const n = Math.hypot(...mean.data.subarray(0, H));
    expect(n).toBeCloseTo(1, 5);
    const cls = await extractor(texts, { pooling: 'cls' });
    expect(Array.from(cls.data.subarray(H, 2 * H))).toEqual(Array.from(none.data.subarray(L * H, L * H + H)));
  });
});

describe('text-classification', () => {
  it('gives the softmax of the logits with id2label names', async () => {
    const classifier = await pipeline('text-classification', `${FIXTURES_DIR}tiny-groups`, { tokenizer: tinyTokenizer() });
    const text = 'The old teacher moved to London.';
    const enc = classifier.tokenizer.encode(text);
    const { logits } = await classifier.model.forward({ input_ids: [enc.input_ids] });
    const probs = softmax(logits!.data);
    const all = (await classifier(text, { top_k: null })) as { label: string; score: number }[];
    expect(all.map((x) => x.label)).toEqual(Array.from(probs.keys()).sort((a, b) => probs[b] - probs[a]).map((i) => `LABEL_${i}`));
    all.forEach((x) => expect(x.score).toBeCloseTo(probs[Number(x.label.slice(6))], 6));
    const batch = (await classifier([text, { text: 'A dog.', text_pair: 'The sea.' }])) as unknown[][];
    expect(batch.map((r) => r.length)).toEqual([1, 1]);
    expect(batch[0][0]).toEqual(all[0]);
  });

  it('runs zero-shot classification over the candidate labels', async () => {
    const warnings: string[] = [];
    const zs = await pipeline('zero-shot-classification', `${FIXTURES_DIR}tiny-groups`, { tokenizer: tinyTokenizer() });
    const out = await zs('The cat sees the sea.', { candidate_labels: ['city', 'garden', 'river'], onWarning: (m) => warnings.push(m) });
    const single = out as { labels: string[]; scores: number[] };
    expect(single.labels.sort()).toEqual(['city', 'garden', 'river']);
    expect(single.scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(warnings[0]).toMatch(/no entailment label/);
  });
});

describe('token-classification', () => {
  it('labels tokens with offsets into the text and aggregates words', async () => {
    const ner = await pipeline('ner', `${FIXTURES_DIR}tiny-tok`, { tokenizer: tinyTokenizer() });
    const text = 'John Smith visited Berlin yesterday.';
    const tokens = (await ner(text, { ignore_labels: [] })) as { entity: string; score: number; index: number; word: string; start: number; end: number }[];
    const enc = ner.tokenizer.encode(text);
    const { logits } = await ner.model.forward({ input_ids: [enc.input_ids] });
    const n = ner.model.config.numLabels;
    expect(tokens.map((t) => t.index)).toEqual(enc.input_ids.map((_, i) => i).slice(1, -1));
    for (const t of tokens) {
      const probs = softmax(logits!.data.subarray(t.index * n, (t.index + 1) * n));
      expect(t.entity).toBe(`LABEL_${argmax(probs)}`);
      expect(t.score).toBeCloseTo(Math.max(...probs), 6);
      // A lone "▁" piece (the dummy prefix) is aligned to the character it precedes, as in Hugging Face.
      expect(text.slice(t.start, t.end).toLowerCase()).toContain(t.word.replace('▁', '').toLowerCase());
    }
    for (const strategy of ['simple', 'first', 'average', 'max'] as const) {
      const groups = (await ner(text, { aggregation_strategy: strategy, ignore_labels: [] })) as { entity_group: string; word: string; start: number; end: number }[];
      expect(groups.length).toBeGreaterThan(0);
      // Groups tile the text's tokens in order, each word being the text it spans.
      expect(groups[0].start).toBe(0);
      expect(groups[groups.length - 1].end).toBe(text.length);
      groups.forEach((g) => expect(g.word).toBe(text.slice(g.start, g.end)));
    }
  });
});

describe('question-answering', () => {
  let qa: Awaited<ReturnType<typeof pipeline<'question-answering'>>>;
  beforeAll(async () => {
    qa = await pipeline('question-answering', `${FIXTURES_DIR}tiny-qa`, { tokenizer: tinyTokenizer() });
  });

  /** The best span by brute force over one window's logits. */
  async function bestSpan(question: string, context: string, maxAnswerLen: number) {
    const enc = qa.tokenizer.encode(question, { pair: context });
    const out = await qa.model.forward({ input_ids: [enc.input_ids], token_type_ids: [enc.token_type_ids] });
    const isContext = (t: number) => enc.sequence_ids[t] === 1;
    const probs = (logits: Float32Array) => softmax(Array.from(logits, (v, t) => (isContext(t) || t === 0 ? v : -10000)));
    const start = probs(out.start_logits!.data);
    const end = probs(out.end_logits!.data);
    let best = { score: -1, s: 0, e: 0 };
    for (let s = 0; s < start.length; s++) {
      for (let e = s; e < Math.min(end.length, s + maxAnswerLen); e++) {
        if (isContext(s) && isContext(e) && start[s] * end[e] > best.score) best = { score: start[s] * end[e], s, e };
      }
    }
    return { score: best.score, start: enc.offsets[best.s][0], end: enc.offsets[best.e][1] };
  }

  it('returns the best context span the logits give', async () => {
    const question = 'Who moved to London?';
    const context = 'My sister moved to London in 1999. The old teacher works in Paris.';
    const answer = (await qa({ question, context })) as { score: number; start: number; end: number; answer: string };
    const want = await bestSpan(question, context, 15);
    expect(answer.start).toBe(want.start);
    expect(answer.end).toBe(want.end);
    expect(answer.score).toBeCloseTo(want.score, 6);
    expect(answer.answer).toBe(context.slice(want.start, want.end));
  });

  it('splits a context longer than the model into windows and never answers inside the question', async () => {
    const question = 'Where is the museum?';
    const sentences = Array.from({ length: 30 }, (_, i) => (i === 22 ? 'The museum is near the river.' : `The cat ${i} sees the city again.`));
    const context = sentences.join(' ');
    expect(qa.tokenizer.encode(question, { pair: context }).input_ids.length).toBeGreaterThan(qa.model.config.maxPositionEmbeddings);
    const answers = (await qa({ question, context }, { top_k: 3, max_seq_len: 64, doc_stride: 16 })) as { score: number; start: number; end: number; answer: string }[];
    expect(answers).toHaveLength(3);
    for (const a of answers) {
      expect(a.answer).toBe(context.slice(a.start, a.end));
      expect(a.end).toBeGreaterThan(a.start);
    }
    expect(answers[0].score).toBeGreaterThanOrEqual(answers[1].score);
  });
});

describe('pipeline loading', () => {
  it('reads the tokenizer from the model files and refuses unknown tasks', async () => {
    const dir = `${FIXTURES_DIR}base`;
    const files = {
      'config.json': readFileSync(`${dir}/config.json`),
      'model.safetensors': readFileSync(`${dir}/model.safetensors`),
      'spiece.model': readFileSync(`${BASE_V2_DIR}spiece.model`),
    };
    const unmasker = await pipeline('fill-mask', files);
    expect(unmasker.tokenizer.vocabSize).toBe(30000);
    expect(unmasker.model).toBeInstanceOf(AlbertModel);
    await expect(pipeline('translation' as never, files)).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    // A second task on the same loaded weights.
    const embed = await pipeline('feature-extraction', unmasker);
    expect(embed.model).toBe(unmasker.model);
    expect((await embed('Paris.', { pooling: 'cls' })).dims).toEqual([1, 768]);
  });
});

// Model inputs with Hugging Face's semantics (AlbertTokenizerFast): templates, type ids, truncation
// strategies and budgets, overflowing windows with stride, padding, batches and decoding. The
// expectations are worked out by hand from tokenizers' truncate_encodings, Encoding::truncate,
// TemplateProcessing and pad_encodings.
import { describe, expect, it } from 'vitest';
import { AlbertError } from '../../src/errors.js';
import { albertBaseV2 } from './fixtures.js';

const tokenizer = albertBaseV2();
const CLS = 2;
const SEP = 3;
const PAD = 0;
const QUESTION = 'Who wrote Hamlet?'; // ▁who ▁wrote ▁hamlet ?
const QUESTION_IDS = [72, 738, 6974, 60];
const COUNT = 'one two three four five six seven eight nine ten'; // ten pieces, one per word
const COUNT_IDS = [53, 81, 132, 222, 355, 490, 810, 970, 1391, 652];

function expectInvalid(run: () => unknown, message: RegExp) {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(AlbertError);
    expect((e as AlbertError).code).toBe('INPUT_INVALID');
    expect((e as AlbertError).message).toMatch(message);
    return;
  }
  throw new Error('expected an AlbertError INPUT_INVALID');
}

describe('templates', () => {
  it('single text: [CLS] A [SEP], all type 0', () => {
    const e = tokenizer.encode(QUESTION);
    expect(e.input_ids).toEqual([CLS, ...QUESTION_IDS, SEP]);
    expect(e.tokens).toEqual(['[CLS]', '▁who', '▁wrote', '▁hamlet', '?', '[SEP]']);
    expect(e.token_type_ids).toEqual([0, 0, 0, 0, 0, 0]);
    expect(e.attention_mask).toEqual([1, 1, 1, 1, 1, 1]);
    expect(e.special_tokens_mask).toEqual([1, 0, 0, 0, 0, 1]);
    expect(e.sequence_ids).toEqual([null, 0, 0, 0, 0, null]);
    expect(e.offsets).toEqual([[0, 0], [0, 3], [4, 9], [10, 16], [16, 17], [0, 0]]);
    expect(e.overflowing).toBeUndefined();
  });

  it('pair: [CLS] A [SEP] B [SEP], type 1 from B to its [SEP], offsets into each text', () => {
    const e = tokenizer.encode(QUESTION, { pair: 'one two' });
    expect(e.input_ids).toEqual([CLS, ...QUESTION_IDS, SEP, 53, 81, SEP]);
    expect(e.token_type_ids).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1]);
    expect(e.sequence_ids).toEqual([null, 0, 0, 0, 0, null, 1, 1, null]);
    expect(e.special_tokens_mask).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 1]);
    expect(e.offsets.slice(6)).toEqual([[0, 3], [4, 7], [0, 0]]);
  });

  it('addSpecialTokens: false leaves the sequences bare', () => {
    expect(tokenizer.encode(QUESTION, { addSpecialTokens: false }).input_ids).toEqual(QUESTION_IDS);
    const pair = tokenizer.encode(QUESTION, { pair: 'one two', addSpecialTokens: false });
    expect(pair.input_ids).toEqual([...QUESTION_IDS, 53, 81]);
    expect(pair.token_type_ids).toEqual([0, 0, 0, 0, 1, 1]);
  });

  it('[MASK] in the text is the mask token and swallows the space on its left', () => {
    const e = tokenizer.encode('Paris is the [MASK] of France.');
    expect(e.input_ids).toEqual([2, 1162, 25, 14, tokenizer.maskTokenId, 16, 714, 9, 3]);
    expect(e.offsets[4]).toEqual([12, 19]);
    expect(e.special_tokens_mask[4]).toBe(0);
    expect(tokenizer.maskToken).toBe('[MASK]');
    expect(tokenizer.encode('[mask]').input_ids).not.toContain(tokenizer.maskTokenId);
  });
});

describe('truncation', () => {
  it("'longest_first' on a single text keeps maxLength tokens including [CLS] and [SEP]", () => {
    const e = tokenizer.encode(COUNT, { truncation: true, maxLength: 6 });
    expect(e.input_ids).toEqual([CLS, 53, 81, 132, 222, SEP]);
  });

  it('a maxLength without padding truncates, as transformers does', () => {
    expect(tokenizer.encode(COUNT, { maxLength: 4 }).input_ids).toEqual([CLS, 53, 81, SEP]);
    expect(tokenizer.encode(COUNT, { maxLength: 4, truncation: false }).input_ids.length).toBe(12);
  });

  it("'longest_first' on a pair shortens the longer sequence first", () => {
    // budget 12 - 3 = 9: the question keeps its 4, the count gets 5.
    const e = tokenizer.encode(QUESTION, { pair: COUNT, truncation: 'longest_first', maxLength: 12 });
    expect(e.input_ids).toEqual([CLS, ...QUESTION_IDS, SEP, 53, 81, 132, 222, 355, SEP]);
  });

  it("'longest_first' splits the budget evenly when both are too long", () => {
    // budget 7 - 3 = 4 against 10 and 10 tokens: 2 and 2.
    const e = tokenizer.encode(COUNT, { pair: COUNT, truncation: 'longest_first', maxLength: 7 });
    expect(e.input_ids).toEqual([CLS, 53, 81, SEP, 53, 81, SEP]);
    // budget 8 - 3 = 5 (odd): the second gets the extra token.
    const odd = tokenizer.encode(COUNT, { pair: COUNT, truncation: 'longest_first', maxLength: 8 });
    expect(odd.input_ids).toEqual([CLS, 53, 81, SEP, 53, 81, 132, SEP]);
  });

  it("'only_first' and 'only_second' cut one sequence only", () => {
    expect(tokenizer.encode(COUNT, { pair: QUESTION, truncation: 'only_first', maxLength: 10 }).input_ids).toEqual([
      CLS, 53, 81, 132, SEP, ...QUESTION_IDS, SEP,
    ]);
    expect(tokenizer.encode(QUESTION, { pair: COUNT, truncation: 'only_second', maxLength: 10 }).input_ids).toEqual([
      CLS, ...QUESTION_IDS, SEP, 53, 81, 132, SEP,
    ]);
  });

  it("fails clearly when 'only_second' has no pair or too short a sequence, or maxLength has no room", () => {
    expectInvalid(() => tokenizer.encode(COUNT, { truncation: 'only_second', maxLength: 4 }), /only_second.*pair/);
    expectInvalid(() => tokenizer.encode(COUNT, { pair: QUESTION, truncation: 'only_second', maxLength: 6 }), /only_second/);
    expectInvalid(() => tokenizer.encode(COUNT, { truncation: true, maxLength: 1 }), /maxLength 1/);
  });
});

describe('overflowing windows with stride (question answering over long contexts)', () => {
  it("'only_second' windows of the context, each with the question, sharing `stride` tokens", () => {
    // budget 12 - 3 - 4 = 5 context tokens per window, stride 2: windows start at 0, 3, 6.
    const e = tokenizer.encode(QUESTION, {
      pair: COUNT,
      truncation: 'only_second',
      maxLength: 12,
      stride: 2,
      returnOverflowing: true,
    });
    const windows = [e, ...e.overflowing!];
    expect(windows.map((w) => w.input_ids)).toEqual([
      [CLS, ...QUESTION_IDS, SEP, ...COUNT_IDS.slice(0, 5), SEP],
      [CLS, ...QUESTION_IDS, SEP, ...COUNT_IDS.slice(3, 8), SEP],
      [CLS, ...QUESTION_IDS, SEP, ...COUNT_IDS.slice(6, 10), SEP],
    ]);
    const last = windows[2]!;
    expect(last.sequence_ids).toEqual([null, 0, 0, 0, 0, null, 1, 1, 1, 1, null]);
    expect(last.token_type_ids).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    // Offsets still point into the context: "seven" is at 28.
    expect(last.offsets[6]).toEqual([28, 33]);
    expect(COUNT.slice(...last.offsets[9]!)).toBe('ten');
  });

  it('padding applies to the overflowing windows too', () => {
    const e = tokenizer.encode(QUESTION, {
      pair: COUNT,
      truncation: 'only_second',
      maxLength: 12,
      stride: 2,
      returnOverflowing: true,
      padding: 'max_length',
    });
    const last = e.overflowing![1]!;
    expect(last.input_ids).toEqual([CLS, ...QUESTION_IDS, SEP, ...COUNT_IDS.slice(6, 10), SEP, PAD]);
    expect(last.attention_mask.at(-1)).toBe(0);
  });

  it('a single text overflows into windows', () => {
    const e = tokenizer.encode(COUNT, { truncation: true, maxLength: 6, stride: 1, returnOverflowing: true });
    expect([e, ...e.overflowing!].map((w) => w.input_ids)).toEqual([
      [CLS, ...COUNT_IDS.slice(0, 4), SEP],
      [CLS, ...COUNT_IDS.slice(3, 7), SEP],
      [CLS, ...COUNT_IDS.slice(6, 10), SEP],
    ]);
  });

  it("'longest_first' with both sequences overflowing lists the windows in Hugging Face's order", () => {
    // budget 7 - 3 = 4: two tokens each; A = 3 tokens -> windows [0,2) [1,3) with stride 1; B likewise.
    const a = 'one two three';
    const e = tokenizer.encode(a, { pair: a, truncation: 'longest_first', maxLength: 7, stride: 1, returnOverflowing: true });
    const [one, two, three] = COUNT_IDS;
    expect(e.input_ids).toEqual([CLS, one, two, SEP, one, two, SEP]);
    expect(e.overflowing!.map((w) => w.input_ids)).toEqual([
      [CLS, two, three, SEP, one, two, SEP],
      [CLS, two, three, SEP, two, three, SEP],
      [CLS, one, two, SEP, two, three, SEP],
    ]);
  });

  it('no overflow leaves an empty list; without returnOverflowing there is none', () => {
    expect(tokenizer.encode(QUESTION, { truncation: true, returnOverflowing: true }).overflowing).toEqual([]);
    expect(tokenizer.encode(COUNT, { truncation: true, maxLength: 5 }).overflowing).toBeUndefined();
  });

  it('a stride as long as the window is refused', () => {
    expectInvalid(() => tokenizer.encode(COUNT, { truncation: true, maxLength: 6, stride: 4, returnOverflowing: true }), /stride 4/);
  });
});

describe('padding and batches', () => {
  it("'longest' pads a batch to its longest encoding with <pad>, type 0, attention 0", () => {
    const [short, long] = tokenizer.encodeBatch(['one two', 'one two three four'], { padding: true });
    expect(short!.input_ids).toEqual([CLS, 53, 81, SEP, PAD, PAD]);
    expect(short!.attention_mask).toEqual([1, 1, 1, 1, 0, 0]);
    expect(short!.token_type_ids).toEqual([0, 0, 0, 0, 0, 0]);
    expect(short!.special_tokens_mask).toEqual([1, 0, 0, 1, 1, 1]);
    expect(short!.sequence_ids).toEqual([null, 0, 0, null, null, null]);
    expect(short!.tokens.slice(4)).toEqual(['<pad>', '<pad>']);
    expect(short!.offsets.slice(4)).toEqual([[0, 0], [0, 0]]);
    expect(long!.input_ids).toEqual([CLS, 53, 81, 132, 222, SEP]);
  });

  it("'max_length' pads to maxLength; a single encode with 'longest' is not padded", () => {
    expect(tokenizer.encode('one', { padding: 'max_length', maxLength: 5 }).input_ids).toEqual([CLS, 53, SEP, PAD, PAD]);
    expect(tokenizer.encode('one', { padding: 'longest' }).input_ids).toEqual([CLS, 53, SEP]);
  });

  it('batches mix single texts and pairs, each item encoded as encode() would', () => {
    const batch = tokenizer.encodeBatch([QUESTION, [QUESTION, 'one two']], { padding: 'longest' });
    expect(batch[1]).toEqual(tokenizer.encode(QUESTION, { pair: 'one two' }));
    expect(batch[0]!.input_ids).toEqual([CLS, ...QUESTION_IDS, SEP, PAD, PAD, PAD]);
  });

  it('truncation and padding together give one length', () => {
    const batch = tokenizer.encodeBatch([COUNT, 'one'], { truncation: true, padding: 'max_length', maxLength: 5 });
    expect(batch.map((e) => e.input_ids)).toEqual([
      [CLS, 53, 81, 132, SEP],
      [CLS, 53, SEP, PAD, PAD],
    ]);
  });

  it('rejects malformed options and inputs with INPUT_INVALID', () => {
    expectInvalid(() => tokenizer.encode(QUESTION, { maxLength: -1 }), /maxLength/);
    expectInvalid(() => tokenizer.encode(QUESTION, { padding: 'left' as never }), /padding/);
    expectInvalid(() => tokenizer.encode(QUESTION, { truncation: 'middle' as never }), /truncation/);
    expectInvalid(() => tokenizer.encode(42 as never), /text must be a string/);
    expectInvalid(() => tokenizer.encode(QUESTION, { pair: null as never }), /pair must be a string/);
    expectInvalid(() => tokenizer.encodeBatch([QUESTION], { pair: 'x' }), /\[text, textPair\]/);
    expectInvalid(() => tokenizer.encodeBatch([['a'] as never]), /texts\[0\]/);
  });
});

describe('decode, vocabulary', () => {
  it('joins pieces, reads ▁ as a space, trims, and skips special tokens on request', () => {
    const ids = tokenizer.encode('Paris is the [MASK] of France.', { pair: 'Yes.' }).input_ids;
    expect(tokenizer.decode(ids)).toBe('[CLS] paris is the[MASK] of france.[SEP] yes.[SEP]');
    expect(tokenizer.decode(ids, { skipSpecialTokens: true })).toBe('paris is the of france. yes.');
    expect(tokenizer.decode(new Int32Array([48, 25, 21, 1289]))).toBe('this is a test');
    expect(tokenizer.decode([])).toBe('');
  });

  it('maps ids and tokens both ways', () => {
    expect(tokenizer.vocabSize).toBe(30000);
    expect([tokenizer.padTokenId, tokenizer.unkTokenId, tokenizer.clsTokenId, tokenizer.sepTokenId, tokenizer.maskTokenId]).toEqual([0, 1, 2, 3, 4]);
    expect(tokenizer.idToToken(1289)).toBe('▁test');
    expect(tokenizer.tokenToId('▁test')).toBe(1289);
    expect(tokenizer.tokenToId('<unk>')).toBe(1);
    expect(tokenizer.tokenToId('no such piece')).toBeUndefined();
    expectInvalid(() => tokenizer.idToToken(30000), /30000/);
    expectInvalid(() => tokenizer.decode([1.5]), /1.5/);
    expectInvalid(() => tokenizer.decode([Symbol('id')] as never), /token ids must be numbers, got symbol/);
    expectInvalid(() => tokenizer.decode([Object.create(null)]), /token ids must be numbers, got object/);
  });
});

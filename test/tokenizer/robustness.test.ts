// Bad input and bad files: a defined result or a clear AlbertError, never a crash or a hang.
import { describe, expect, it } from 'vitest';
import { AlbertError } from '../../src/errors.js';
import { AlbertTokenizer } from '../../src/tokenizer/index.js';
import { albertBaseV2, spieceModelBytes, tokenizerJsonText } from './fixtures.js';

const tokenizer = albertBaseV2();

function expectError(code: string, run: () => unknown, message: RegExp) {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(AlbertError);
    expect((e as AlbertError).code).toBe(code);
    expect((e as AlbertError).message).toMatch(message);
    return;
  }
  throw new Error(`expected an AlbertError ${code}`);
}

/** Minimal protobuf writing, to make ModelProtos that are well formed but not what we accept. */
const varint = (n: number): number[] => (n < 0x80 ? [n] : [(n & 0x7f) | 0x80, ...varint(n >>> 7)]);
const bytesField = (field: number, payload: number[]) => [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
const varintField = (field: number, value: number) => [...varint(field << 3), ...varint(value)];
const piece = (text: string, type: number) => bytesField(1, [...bytesField(1, [...new TextEncoder().encode(text)]), ...varintField(3, type)]);

describe('text the Python tokenizer cannot or does not expect', () => {
  it('empty and blank texts give just the special tokens', () => {
    expect(tokenizer.encode('').input_ids).toEqual([2, 3]);
    expect(tokenizer.encode(' \t\n\u3000').input_ids).toEqual([2, 3]);
    expect(tokenizer.encode('', { pair: '' }).input_ids).toEqual([2, 3, 3]);
    expect(tokenizer.encodeBatch([])).toEqual([]);
  });

  it('lone surrogates read as U+FFFD, as a UTF-8 encoder writes them', () => {
    const e = tokenizer.encode('\ud800abc\udfff x\udbff', { addSpecialTokens: false });
    expect(e.input_ids).toEqual(tokenizer.encode('\ufffdabc\ufffd x\ufffd', { addSpecialTokens: false }).input_ids);
    expect(e.offsets.every(([s, t]) => s < t && t <= 11)).toBe(true);
  });

  it('control characters and unassigned code points do not break anything', () => {
    const text = '\u0000\u0001a\u0007b\u007f\u0085c\u2028\ue000\u{10ffff}\u{e0001}';
    const e = tokenizer.encode(text);
    expect(e.input_ids[0]).toBe(2);
    expect(e.input_ids.at(-1)).toBe(3);
  });

  it.each([
    ['one letter', 'a'.repeat(1 << 20)],
    ['random letters', randomText(1 << 20, 'abcdefghijklmnopqrstuvwxyz')],
    ['digits and commas (the re-split path)', randomText(1 << 20, '0123456789,')],
    ['unknown CJK characters (one merged <unk>)', randomText(1 << 20, '龘靐齉爩')],
    ['accented letters, decomposed by NFKD', '\u00e9'.repeat(1 << 20)],
    ['[MASK] without spaces', '[MASK]'.repeat(1 << 17)],
    ['capital sigmas made by NFKD, whose case depends on their neighbours', "\u2140a'".repeat(1 << 18)],
  ])('a megabyte without spaces (%s) is encoded in linear time', (_, text) => {
    const started = performance.now();
    const e = tokenizer.encode(text);
    const seconds = (performance.now() - started) / 1000;
    expect(e.input_ids.length).toBeGreaterThan(2);
    expect(e.offsets.at(-2)![1]).toBe(text.length);
    // Measured at 0.1 to 0.8 s; a quadratic pass over a megabyte would take minutes.
    expect(seconds).toBeLessThan(5);
  });
});

describe('files that are not SentencePiece or ALBERT tokenizer files', () => {
  const model = spieceModelBytes();

  it.each([
    ['random bytes', randomBytes(4096)],
    ['a truncated spiece.model', model.slice(0, 100_000)],
    ['a truncated spiece.model, cut in a piece', model.slice(0, 1001)],
    ['a JSON file', new TextEncoder().encode(tokenizerJsonText().slice(0, 5000))],
    ['an empty file', new Uint8Array(0)],
  ])('%s -> TOKENIZER_INVALID naming the file', (_, bytes) => {
    expectError('TOKENIZER_INVALID', () => AlbertTokenizer.fromSentencePiece(bytes, { fileName: 'my.model' }), /my\.model/);
  });

  it('a BPE SentencePiece model is refused as such', () => {
    const bpe = Uint8Array.from([...piece('<unk>', 2), ...bytesField(2, varintField(3, 2)), ...bytesField(3, [])]);
    expectError('TOKENIZER_INVALID', () => AlbertTokenizer.fromSentencePiece(bpe), /model_type is BPE; only UNIGRAM/);
  });

  it('a model without <unk>, or without ALBERT’s special pieces, is refused', () => {
    const model = (...pieces: number[][]) => Uint8Array.from([...pieces.flat(), ...bytesField(3, [])]);
    expectError('TOKENIZER_INVALID', () => AlbertTokenizer.fromSentencePiece(model(piece('a', 1))), /UNKNOWN/);
    expectError('TOKENIZER_INVALID', () => AlbertTokenizer.fromSentencePiece(model(piece('<unk>', 2))), /no <pad> piece/);
  });

  it('a broken precompiled charsmap is refused', () => {
    const json = JSON.parse(tokenizerJsonText());
    json.normalizer.normalizers[5].precompiled_charsmap = btoa('\u00ff\u00ff\u0000\u0000garbage');
    expectError('TOKENIZER_INVALID', () => AlbertTokenizer.fromTokenizerJson(json), /precompiled_charsmap/);
  });

  it.each([
    ['WordPiece', { type: 'WordPiece', vocab: { '[UNK]': 0 }, unk_token: '[UNK]' }],
    ['BPE', { type: 'BPE', vocab: { a: 0 }, merges: [] }],
  ])('a tokenizer.json with a %s model -> TOKENIZER_INVALID', (type, modelSection) => {
    const json = { ...JSON.parse(tokenizerJsonText()), model: modelSection };
    expectError('TOKENIZER_INVALID', () => AlbertTokenizer.fromTokenizerJson(json), new RegExp(`"${type}"; only "Unigram"`));
  });

  it('a tokenizer.json that is not JSON, or has no vocabulary -> TOKENIZER_INVALID', () => {
    expectError('TOKENIZER_INVALID', () => AlbertTokenizer.fromTokenizerJson('{"model": '), /not JSON/);
    expectError('TOKENIZER_INVALID', () => AlbertTokenizer.fromTokenizerJson({ model: { type: 'Unigram' } }), /model\.vocab/);
  });

  it('a failed load leaves other tokenizers working', () => {
    expect(() => AlbertTokenizer.fromSentencePiece(randomBytes(64))).toThrow(AlbertError);
    expect(tokenizer.encode('This is a test', { addSpecialTokens: false }).input_ids).toEqual([48, 25, 21, 1289]);
  });
});

/** Deterministic text of `length` UTF-16 units drawn from `alphabet`. */
function randomText(length: number, alphabet: string): string {
  const chars = Array.from(alphabet);
  let state = 12345;
  let out = '';
  while (out.length < length) {
    state = (state * 1103515245 + 12345) >>> 0;
    out += chars[(state >>> 8) % chars.length];
  }
  return out;
}

function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let state = 987654321;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/**
 * Wrong tokenizer files and wrong calls give TOKENIZER_INVALID or INPUT_INVALID naming the file or
 * the argument; after each, the same tokenizer instance still gives Python AlbertTokenizer's ids.
 * (test/tokenizer/robustness.test.ts covers more file shapes; this file is about recovering.)
 */
import { describe, expect, it } from 'vitest';
import type { AlbertErrorCode } from '../../src/errors.js';
import { AlbertTokenizer } from '../../src/tokenizer/index.js';
import { albertBaseV2, referenceVectors, spieceModelBytes, tokenizerJsonText } from '../tokenizer/fixtures.js';
import { expectAlbertError, fixtureFiles } from './helpers.js';

const tokenizer = albertBaseV2();

/** One reference line per category (prose, numbers, languages, emoji, ...), ids from Python. */
const referenceLines = [...new Map(referenceVectors().lines.map((line) => [line.category, line])).values()];

function expectStillCorrect(t: AlbertTokenizer = tokenizer): void {
  for (const line of referenceLines) {
    expect(t.encode(line.text, { addSpecialTokens: false }).input_ids, `${line.category}: ${JSON.stringify(line.text.slice(0, 40))}`).toEqual(line.ids);
  }
}

async function expectTokenizerError(action: () => unknown, code: AlbertErrorCode, message: RegExp): Promise<void> {
  await expectAlbertError(action, code, message);
  expectStillCorrect();
}

describe('tokenizer files', () => {
  it('a spiece.model that is not a SentencePiece model, naming the file', async () => {
    const notModels = [
      fixtureFiles('tiny').weights.slice(0, 4096), // the start of a safetensors file
      new TextEncoder().encode(fixtureFiles('tiny').config),
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), // a PNG header
      spieceModelBytes().slice(0, 250_000),
    ];
    for (const bytes of notModels) {
      await expectTokenizerError(() => AlbertTokenizer.fromSentencePiece(bytes, { fileName: 'x/spiece.model' }), 'TOKENIZER_INVALID', /^x\/spiece\.model/);
    }
  });

  it('bytes that are not a Uint8Array', async () => {
    await expectTokenizerError(() => AlbertTokenizer.fromSentencePiece('spiece.model' as never), 'INPUT_INVALID', /spiece\.model: expected the file's bytes as a Uint8Array/);
  });

  it('a tokenizer.json of another model type names the type and the supported one', async () => {
    const albert = JSON.parse(tokenizerJsonText());
    for (const model of [
      { type: 'WordPiece', vocab: { '[UNK]': 0 }, unk_token: '[UNK]' },
      { type: 'BPE', vocab: { a: 0 }, merges: [] },
      { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' },
    ]) {
      await expectTokenizerError(() => AlbertTokenizer.fromTokenizerJson({ ...albert, model }, { fileName: 'x/tokenizer.json' }), 'TOKENIZER_INVALID',
        new RegExp(`^x/tokenizer\\.json: model\\.type is "${model.type}"; only "Unigram" \\(SentencePiece\\) models are supported$`));
    }
  });

  it('a tokenizer.json that is not JSON or not a tokenizer', async () => {
    await expectTokenizerError(() => AlbertTokenizer.fromTokenizerJson(tokenizerJsonText().slice(0, 1000)), 'TOKENIZER_INVALID', /^tokenizer\.json is not JSON/);
    await expectTokenizerError(() => AlbertTokenizer.fromTokenizerJson(fixtureFiles('tiny').config), 'TOKENIZER_INVALID', /^tokenizer\.json: has no "model" object$/);
  });
});

describe('tokenizer calls', () => {
  it('encode of something that is not a string', async () => {
    for (const bad of [null, undefined, 42, ['a'], { text: 'a' }]) {
      await expectTokenizerError(() => tokenizer.encode(bad as never), 'INPUT_INVALID', /^text must be a string, got /);
    }
  });

  it('decode of ids outside the vocabulary', async () => {
    for (const bad of [30000, -1, 1.5, NaN]) {
      await expectTokenizerError(() => tokenizer.decode([2, bad, 3]), 'INPUT_INVALID', /^token id .* is outside the vocabulary \[0, 30000\)$/);
    }
    await expectTokenizerError(() => tokenizer.decode(5 as never), 'INPUT_INVALID', /^decode expects an array of token ids$/);
  });

  it('decode of a Symbol or a null-prototype object, which cannot be printed or used as a key', async () => {
    await expectTokenizerError(() => tokenizer.decode([Symbol('id')] as never), 'INPUT_INVALID', /token id/);
    await expectTokenizerError(() => tokenizer.decode([Object.create(null)]), 'INPUT_INVALID', /token id/);
  });

  it('encodeBatch with malformed items', async () => {
    await expectTokenizerError(() => tokenizer.encodeBatch(['ok', ['a'] as never]), 'INPUT_INVALID', /^texts\[1\] must be a string or \[text, textPair\]$/);
    await expectTokenizerError(() => tokenizer.encodeBatch('text' as never), 'INPUT_INVALID', /^encodeBatch expects an array of texts$/);
  });
});

// Offsets are [start, end) UTF-16 indices into the original text, as Hugging Face fast tokenizers'
// offset_mapping: a token covers the characters it came from, and a '▁' stands for the word it
// starts, not for the space before it.
import { describe, expect, it } from 'vitest';
import { albertBaseV2, referenceVectors } from './fixtures.js';

const tokenizer = albertBaseV2();

function spans(text: string): [string, string][] {
  const e = tokenizer.encode(text, { addSpecialTokens: false });
  return e.tokens.map((t, i) => [t, text.slice(...e.offsets[i]!)]);
}

describe('offsets of single tokens', () => {
  it.each([
    ['accents, composed', 'Héllo wörld', [['▁hello', 'Héllo'], ['▁world', 'wörld']]],
    ['accents, decomposed', 'e\u0301te', [['▁', 'e'], ['ete', 'e\u0301te']]],
    ['NFKC expansion: ligature, circled digit', 'ﬁne ①', [['▁fine', 'ﬁne'], ['▁1', '①']]],
    ['fullwidth', 'ＡＢＣ', [['▁abc', 'ＡＢＣ']]],
    ['astral letters', '𝐇𝐞𝐥𝐥𝐨', [['▁hello', '𝐇𝐞𝐥𝐥𝐨']]],
    ['CJK, unknown characters merged into one <unk>', '東京タワー 你好', [['▁', '東'], ['<unk>', '東京タワー'], ['▁', '你'], ['<unk>', '你好']]],
    ['collapsed whitespace', 'a \t\n  b', [['▁a', 'a'], ['▁b', 'b']]],
    ['quotes replaced', "``hi''", [['▁', '``'], ['"', '``'], ['hi', 'hi'], ['"', "''"]]],
    ['digit-comma re-split', 'in 1999, 2000,', [['▁in', 'in'], ['▁1999', '1999'], [',', ','], ['▁2000', '2000'], [',', ',']]],
    ['dotted capital I', 'İstanbul', [['▁istanbul', 'İstanbul']]],
    ['[MASK] includes the space it swallowed', 'the [MASK]ing', [['▁the', 'the'], ['[MASK]', ' [MASK]'], ['▁', 'i'], ['ing', 'ing']]],
  ] as [string, string, [string, string][]][])('%s', (_, text, expected) => {
    expect(spans(text)).toEqual(expected);
  });

  it('offsets of a pair point into each text; special tokens and padding are [0, 0]', () => {
    const e = tokenizer.encode('Café?', { pair: 'Ｙｅｓ.', padding: 'max_length', maxLength: 8 });
    expect(e.tokens).toEqual(['[CLS]', '▁cafe', '?', '[SEP]', '▁yes', '.', '[SEP]', '<pad>']);
    expect(e.offsets).toEqual([[0, 0], [0, 4], [4, 5], [0, 0], [0, 3], [3, 4], [0, 0], [0, 0]]);
  });
});

describe('offsets over the reference corpus', () => {
  const lines = referenceVectors().lines;

  it('lie in the text, are never empty, and never go backwards', () => {
    const failures: string[] = [];
    for (const { text } of lines) {
      const e = tokenizer.encode(text, { addSpecialTokens: false });
      let previousStart = 0;
      e.offsets.forEach(([start, end], i) => {
        if (!(start >= previousStart && start < end && end <= text.length)) {
          failures.push(`${JSON.stringify(text.slice(0, 60))} token ${i} ${e.tokens[i]} [${start}, ${end})`);
        }
        previousStart = start;
      });
    }
    expect(failures.slice(0, 20)).toEqual([]);
  });

  it('cover the characters each piece came from', () => {
    // An approximation of the normalization, independent of ours: compatibility decomposition,
    // no marks, lowercase, ALBERT's quote replacement. Every piece must be found in what its span becomes.
    const approximate = (s: string) =>
      s.replaceAll('``', '"').replaceAll("''", '"').normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase().normalize('NFKC');
    const failures: string[] = [];
    let checked = 0;
    for (const { text, category } of lines) {
      if (!['prose', 'code', 'numbers', 'languages', 'compatibility', 'quotes', 'long'].includes(category)) continue;
      const e = tokenizer.encode(text, { addSpecialTokens: false });
      e.tokens.forEach((token, i) => {
        const piece = approximate(token.replace(/^▁/, ''));
        if (token === '<unk>' || piece === '') return;
        checked++;
        if (!approximate(text.slice(...e.offsets[i]!)).includes(piece)) {
          failures.push(`${JSON.stringify(text.slice(0, 60))}: ${token} at ${JSON.stringify(e.offsets[i])}`);
        }
      });
    }
    expect(checked).toBeGreaterThan(50_000);
    expect(failures.slice(0, 20)).toEqual([]);
  });
});

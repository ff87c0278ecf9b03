// The tokenizer against references made outside this project: the ids that Hugging Face's test
// suite publishes for albert-base-v2, and vectors produced by the SentencePiece library itself with
// Python AlbertTokenizer's preprocessing (test/tokenizer/generate_vectors.py).
import { describe, expect, it } from 'vitest';
import { AlbertTokenizer } from '../../src/tokenizer/index.js';
import { PUBLISHED_IDS } from '../helpers/fixtures.js';
import { albertBaseV2, referenceVectors, spieceModelBytes, tokenizerJsonText } from './fixtures.js';

describe('published albert-base-v2 ids (models/albert-base-v2/README.md)', () => {
  const tokenizer = albertBaseV2();
  it.each(PUBLISHED_IDS.map((v) => [v.text, v.addSpecialTokens, v.ids] as const))('%s', (text, addSpecialTokens, ids) => {
    expect(tokenizer.encode(text, { addSpecialTokens }).input_ids).toEqual(ids);
  });
});

describe('SentencePiece reference vectors', () => {
  const vectors = referenceVectors();
  const bytes = spieceModelBytes();
  const tokenizer = albertBaseV2();
  const raw = AlbertTokenizer.fromSentencePiece(bytes, { doLowerCase: false, keepAccents: true, removeSpace: false });

  it('cover a varied corpus of at least 5,000 lines', () => {
    expect(vectors.lines.length).toBeGreaterThanOrEqual(5000);
    const categories = new Set(vectors.lines.map((l) => l.category));
    for (const c of ['prose', 'code', 'numbers', 'languages', 'compatibility', 'emoji', 'whitespace', 'control', 'long', 'special', 'quotes', 'random']) {
      expect(categories).toContain(c);
    }
  });

  it('every line gives the ids of Python AlbertTokenizer (default options)', () => {
    const mismatches = vectors.lines.filter((l) => !sameIds(tokenizer.encode(l.text, { addSpecialTokens: false }).input_ids, l.ids));
    expect(mismatches.map((l) => l.text)).toEqual([]);
  });

  it('every line gives the ids of Python AlbertTokenizer(keep_accents, no lowercasing, no remove_space)', () => {
    const mismatches = vectors.lines.filter((l) => !sameIds(raw.encode(l.text, { addSpecialTokens: false }).input_ids, l.raw_ids));
    expect(mismatches.map((l) => l.text)).toEqual([]);
  });

  it('the tokenizer.json reader gives the same ids as the spiece.model reader on every line', () => {
    const fromJson = AlbertTokenizer.fromTokenizerJson(tokenizerJsonText());
    expect(fromJson.vocabSize).toBe(tokenizer.vocabSize);
    const fromBytes = AlbertTokenizer.fromTokenizerJson(new TextEncoder().encode(tokenizerJsonText()));
    expect(fromBytes.encode('Paris is the [MASK] of France.').input_ids).toEqual([2, 1162, 25, 14, 4, 16, 714, 9, 3]);
    const mismatches = vectors.lines.filter(
      (l) => !sameIds(fromJson.encode(l.text).input_ids, tokenizer.encode(l.text).input_ids),
    );
    expect(mismatches.map((l) => l.text)).toEqual([]);
    expect(fromJson.encode('1,000 pieces, 2010, 9,').input_ids).toEqual(tokenizer.encode('1,000 pieces, 2010, 9,').input_ids);
  });

  it.each(referenceVectors().synthetic.map((s) => [s.name, s] as const))(
    'synthetic model "%s" (ties, user-defined and unused pieces, normalizer flags)',
    (_, synthetic) => {
      const model = Uint8Array.from(atob(synthetic.model), (c) => c.charCodeAt(0));
      const t = AlbertTokenizer.fromSentencePiece(model, { fileName: synthetic.name });
      for (const c of synthetic.cases) {
        expect([c.text, t.encode(c.text, { addSpecialTokens: false }).input_ids]).toEqual([c.text, c.ids]);
      }
    },
  );

  it("offsets agree with SentencePiece's own, up to whitespace and characters it drops", () => {
    // SentencePiece gives a '▁' the span of the space it replaced, the pieces of one expanded
    // character (ﬁ -> f i) empty or partial spans, and a dropped character to the piece before it.
    // Ours start at the word and cover every character a piece came from.
    const checked = vectors.lines.filter((l) => l.raw_offsets !== undefined);
    expect(checked.length).toBeGreaterThan(4000);
    const invisible = (s: string) => raw.encode(s, { addSpecialTokens: false }).input_ids.length === 0;
    const failures: string[] = [];
    for (const line of checked) {
      const ours = raw.encode(line.text, { addSpecialTokens: false }).offsets;
      const theirs = line.raw_offsets!;
      expect(ours.length).toBe(theirs.length);
      theirs.forEach(([begin, end], i) => {
        const [start, stop] = ours[i]!;
        const nextBegin = i + 1 < theirs.length ? theirs[i + 1]![0] : Infinity;
        const startOk = start === begin || (start > begin && invisible(line.text.slice(begin, start)));
        const endOk =
          stop === end ||
          (stop < end && invisible(line.text.slice(stop, end))) ||
          (stop > end && nextBegin < stop);
        if (!startOk || !endOk) failures.push(`${JSON.stringify(line.text)} piece ${i}: ours [${start}, ${stop}), SentencePiece [${begin}, ${end})`);
      });
    }
    expect(failures.slice(0, 20)).toEqual([]);
  });
});

function sameIds(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Property tests on the tokenizer: mutated spiece.model and tokenizer.json files load or are refused
 * with an AlbertError (and what loads can encode and decode); any value passed to encode or decode
 * gives a result or an AlbertError; and texts round-trip through encode and decode as the reference does.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AlbertError } from '../../src/errors.js';
import { AlbertTokenizer } from '../../src/tokenizer/index.js';
import { albertBaseV2, spieceModelBytes, tokenizerJsonText } from '../tokenizer/fixtures.js';
import { propertyRuns } from './helpers.js';

const tokenizer = albertBaseV2();
const spiece = spieceModelBytes();
const tokenizerJson = JSON.parse(tokenizerJsonText());
/** Exercises the added tokens, the digit-comma re-split, NFKD, the charsmap and unknown characters. */
const PROBE_TEXT = 'Hello, World! 1,000 café naïve [MASK] 東京 \u00a0 ﬁ ① 🤗';

/** Loads with `load`; what loads must encode and decode the probe text. Only AlbertErrors may escape. */
function loadsOrRefuses(load: () => AlbertTokenizer): 'ok' | 'refused' {
  const start = performance.now();
  try {
    const t = load();
    t.decode(t.encode(PROBE_TEXT).input_ids);
    return 'ok';
  } catch (error) {
    if (!(error instanceof AlbertError)) throw error;
    expect(error.message).not.toMatch(/\n/);
    return 'refused';
  } finally {
    expect(performance.now() - start).toBeLessThan(5_000);
  }
}

describe('tokenizer files', () => {
  it('spiece.model with bits flipped, bytes overwritten or cut short', () => {
    // Pieces come first in the file; the trainer and normalizer specs (with the charsmap) last.
    const position = fc.oneof(fc.nat(spiece.length - 1), fc.integer({ min: spiece.length - 300_000, max: spiece.length - 1 }));
    const mutation = fc.oneof(
      fc.record({ flips: fc.array(fc.record({ at: position, bit: fc.nat(7) }), { minLength: 1, maxLength: 8 }) }),
      fc.record({ at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
      fc.record({ length: fc.nat(spiece.length - 1) }),
    );
    const outcomes = { ok: 0, refused: 0 };
    fc.assert(
      fc.property(mutation, (m) => {
        let bytes = spiece.slice();
        if ('flips' in m) for (const { at, bit } of m.flips) bytes[at] ^= 1 << bit;
        if ('bytes' in m) bytes.set(m.bytes.subarray(0, bytes.length - m.at), m.at);
        if ('length' in m) bytes = bytes.slice(0, m.length);
        outcomes[loadsOrRefuses(() => AlbertTokenizer.fromSentencePiece(bytes))]++;
      }),
      propertyRuns(30),
    );
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  });

  it('tokenizer.json with fields replaced', () => {
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('Unigram', 'BPE', 'Sequence', 'Metaspace', 'Precompiled', '', null));
    const paths = [
      ['model', 'type'], ['model', 'unk_id'], ['model', 'vocab'], ['model', 'byte_fallback'], ['model', 'vocab', 5], ['model', 'vocab', 5, 0],
      ['normalizer'], ['normalizer', 'type'], ['normalizer', 'normalizers'], ['normalizer', 'normalizers', 0], ['normalizer', 'normalizers', 5, 'precompiled_charsmap'],
      ['pre_tokenizer'], ['pre_tokenizer', 'replacement'], ['pre_tokenizer', 'prepend_scheme'], ['added_tokens'], ['added_tokens', 0], ['added_tokens', 0, 'id'], ['added_tokens', 4, 'content'],
      ['post_processor'], ['decoder'],
    ];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...paths), value), { minLength: 1, maxLength: 3 }), (edits) => {
        const json = structuredClone(tokenizerJson);
        for (const [path, v] of edits) {
          let node = json;
          for (const key of path.slice(0, -1)) node = node?.[key];
          if (node && typeof node === 'object') node[path.at(-1)!] = v;
        }
        loadsOrRefuses(() => AlbertTokenizer.fromTokenizerJson(json));
      }),
      propertyRuns(20),
    );
  });
});

describe('tokenizer calls', () => {
  it('encode and decode of any value give a result or an AlbertError', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 1 }), fc.array(fc.oneof(fc.integer({ min: -2, max: 30_002 }), fc.double(), fc.anything({ maxDepth: 1 })), { maxLength: 5 }), (text, ids) => {
        for (const call of [() => tokenizer.encode(text as string), () => tokenizer.decode(ids as number[]), () => tokenizer.decode(text as number[])]) {
          try {
            call();
          } catch (error) {
            if (!(error instanceof AlbertError)) throw error;
          }
        }
      }),
      propertyRuns(300),
    );
  });

  it('random texts round-trip through encode and decode to the normalized text', () => {
    // Characters the albert-base-v2 vocabulary holds once lowercased. Python SentencePiece on this
    // spiece.model gives back, for 5000 random texts over this alphabet, exactly `normalized` below.
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \t\n.,!?;:-()\'"/&%$#*+=[]';
    const normalized = (t: string) => t.split(/[ \t\n]+/).filter(Boolean).join(' ').replaceAll("''", '"').toLowerCase();
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 60 }), (text) => {
        const { input_ids } = tokenizer.encode(text);
        expect(tokenizer.decode(input_ids, { skipSpecialTokens: true })).toBe(normalized(text));
      }),
      propertyRuns(300),
    );
  });
});

/**
 * SentencePiece's Normalizer::Normalize on UTF-8 with spans: user-defined symbols pass through
 * untouched, everything else goes through the precompiled charsmap (longest rule, or one character
 * copied as is), then whitespace is handled as the model's NormalizerSpec says: leading, trailing
 * and repeated spaces dropped (remove_extra_whitespaces), one '▁' prepended (add_dummy_prefix),
 * and every remaining space written as '▁'.
 *
 * A '▁' takes the span of the character after it, as in Hugging Face's ALBERT tokenizer, which
 * splits on whitespace and then prepends '▁' to each word: '▁world' covers "world", not the space.
 */
import { AlignedUnits } from './aligned-units.js';
import { utf8CharLength } from './utf8.js';
import { ByteTrie } from './byte-trie.js';
import type { PrecompiledCharsmap } from './charsmap.js';
import type { NormalizerSpec } from './sentencepiece-model.js';

const SPACE = 0x20;
/** U+2581 '▁' in UTF-8 */
const META_SPACE = [0xe2, 0x96, 0x81] as const;

export class SentencePieceNormalizer {
  /** Output of the last matchPrefix: the normalized bytes, in `input` or in the charsmap. */
  private matchSource: ArrayLike<number> = [];
  private matchStart = 0;
  private matchEnd = 0;

  /** Per byte: 1 for an ASCII character that no rule and no user-defined piece starts with. */
  private readonly untouchedAscii = new Uint8Array(256);

  constructor(
    private readonly spec: NormalizerSpec,
    private readonly charsmap: PrecompiledCharsmap | null,
    /** The USER_DEFINED pieces, matched before the charsmap (SentencePiece's PrefixMatcher). */
    private readonly userDefined: ByteTrie | null,
  ) {
    for (let byte = 0; byte < 0x80; byte++) {
      const userDefinedStart = userDefined !== null && userDefined.next(ByteTrie.ROOT, byte) >= 0;
      const ruleStart = charsmap !== null && charsmap.hasRuleStartingWith(byte);
      this.untouchedAscii[byte] = userDefinedStart || ruleStart ? 0 : 1;
    }
  }

  normalize(input: AlignedUnits, out: AlignedUnits): void {
    out.clear();
    const n = input.length;
    const removeExtra = this.spec.removeExtraWhitespaces;
    let pos = 0;
    if (removeExtra) {
      while (pos < n) {
        const consumed = this.matchPrefix(input, pos);
        if (this.matchEnd - this.matchStart !== 1 || this.matchSource[this.matchStart] !== SPACE) break;
        pos += consumed;
      }
    }
    if (pos === n) return;

    /** Where the '▁'s waiting for the span of the next character begin in `out`, or -1. */
    let pendingMetaSpaces = -1;
    if (this.spec.addDummyPrefix) {
      pendingMetaSpaces = 0;
      pushMetaSpace(out, input.starts[pos]!, input.ends[pos]!);
    }

    let isPrevSpace = removeExtra;
    const units = input.units;
    while (pos < n) {
      let consumed = 1;
      let source: ArrayLike<number> = units;
      let k = pos;
      let end = pos + 1;
      if (this.untouchedAscii[units[pos]!] === 0) {
        consumed = this.matchPrefix(input, pos);
        source = this.matchSource;
        k = this.matchStart;
        end = this.matchEnd;
      }
      while (isPrevSpace && k < end && source[k] === SPACE) k++;
      if (k < end) {
        const spanStart = input.starts[pos]!;
        const spanEnd = input.ends[pos + consumed - 1]!;
        for (; k < end; k++) {
          const byte = source[k]!;
          if (byte === SPACE) {
            if (pendingMetaSpaces < 0) pendingMetaSpaces = out.length;
            pushMetaSpace(out, spanStart, spanEnd);
          } else {
            if (pendingMetaSpaces >= 0) {
              out.starts.fill(spanStart, pendingMetaSpaces, out.length);
              out.ends.fill(spanEnd, pendingMetaSpaces, out.length);
              pendingMetaSpaces = -1;
            }
            out.push(byte, spanStart, spanEnd);
          }
        }
        isPrevSpace = source[end - 1] === SPACE;
      }
      pos += consumed;
      if (!removeExtra) isPrevSpace = false;
    }

    if (removeExtra) {
      const written = out.units;
      while (
        out.length >= 3 &&
        written[out.length - 3] === META_SPACE[0] &&
        written[out.length - 2] === META_SPACE[1] &&
        written[out.length - 1] === META_SPACE[2]
      ) {
        out.length -= 3;
      }
    }
  }

  /** NormalizePrefix: returns the bytes of input consumed and sets matchSource/Start/End. */
  private matchPrefix(input: AlignedUnits, pos: number): number {
    const units = input.units;
    const n = input.length;
    if (this.userDefined !== null) {
      const length = this.userDefined.longestPrefix(units, pos, n);
      if (length > 0) return this.copyThrough(units, pos, length);
    }
    if (this.charsmap !== null) {
      const length = this.charsmap.longestMatch(units, pos, n);
      if (length > 0) {
        this.matchSource = this.charsmap.replacements;
        this.matchStart = this.charsmap.replacementStart;
        this.matchEnd = this.charsmap.replacementEnd;
        return length;
      }
    }
    return this.copyThrough(units, pos, Math.min(utf8CharLength(units[pos]!), n - pos));
  }

  private copyThrough(units: Int32Array, pos: number, length: number): number {
    this.matchSource = units;
    this.matchStart = pos;
    this.matchEnd = pos + length;
    return length;
  }
}

function pushMetaSpace(out: AlignedUnits, start: number, end: number): void {
  out.push(META_SPACE[0], start, end);
  out.push(META_SPACE[1], start, end);
  out.push(META_SPACE[2], start, end);
}

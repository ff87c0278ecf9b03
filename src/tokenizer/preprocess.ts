/**
 * What Python's AlbertTokenizer does to a text before SentencePiece sees it, with spans kept:
 *
 * 1. PreTrainedTokenizer.tokenize() lowercases the text one character at a time (a regex whose `.+?`
 *    matches a single character), so a lone 'Σ' becomes 'σ' whatever surrounds it.
 * 2. preprocess_text(): `" ".join(text.strip().split())` (remove_space),
 *    `.replace("``", '"').replace("''", '"')`,
 *    NFKD and dropping every character with a combining class (unless keep_accents),
 *    and `.lower()` of the whole segment, where Final_Sigma context applies (do_lower_case).
 *
 * Step 1 commutes with the whitespace and quote steps (lowercasing never makes or unmakes a space
 * or a quote), so everything but the whitespace and quotes is a function of one character, cached:
 * NFKD per character is exact here, since the canonical reordering it would also do only moves
 * marks that are dropped right after. The one exception is a capital sigma that NFKD makes (from
 * '⅀' or '𝚺'): its case depends on its neighbours, so it is written 'σ' and settled at the end.
 */
import { AlignedUnits } from './aligned-units.js';
import { codePointAt, isCombiningMark, isPythonWhitespace, utf16Length } from './unicode.js';
import { decodeUtf8At, utf8Length, utf8StartBefore } from './utf8.js';

export interface AlbertTextOptions {
  /** Lowercase the text (AlbertTokenizer do_lower_case). */
  doLowerCase: boolean;
  /** Keep accents: skip NFKD and the removal of combining marks (keep_accents). */
  keepAccents: boolean;
  /** Strip the text and collapse whitespace runs to one space (remove_space). */
  removeSpace: boolean;
}

const BACKTICK = 0x60;
const APOSTROPHE = 0x27;
const DOUBLE_QUOTE = 0x22;
const SPACE = 0x20;
const CAPITAL_SIGMA = 'Σ';
/** Second UTF-8 byte of 'ς'; 'σ' differs from it there only. */
const FINAL_SIGMA_SECOND = 0x82;
const encoder = new TextEncoder();
const CASED = /\p{Cased}/u;
const CASE_IGNORABLE = /\p{Case_Ignorable}/u;

/** What one character becomes, as UTF-8. */
interface CharacterOutput {
  bytes: Uint8Array;
  /** Offsets in `bytes` of each 'σ' that stands for a capital sigma made by NFKD. */
  sigmas: number[] | null;
}

export class AlbertPreprocessor {
  private readonly characters = new Map<number, CharacterOutput>();
  /** Output offsets of the 'σ's whose final form is decided once the whole segment is written. */
  private readonly pendingSigmas: number[] = [];

  constructor(readonly options: AlbertTextOptions) {}

  /** Writes the preprocessed text[start, end) to `out` (cleared first) as UTF-8. */
  run(text: string, start: number, end: number, out: AlignedUnits): void {
    const { doLowerCase, removeSpace } = this.options;
    out.clear();
    let i = start;
    let stop = end;
    if (removeSpace) {
      // Python's whitespace characters are all in the BMP, so one code unit decides.
      while (i < stop && isPythonWhitespace(text.charCodeAt(i))) i++;
      while (stop > i && isPythonWhitespace(text.charCodeAt(stop - 1))) stop--;
    }
    while (i < stop) {
      const unit = text.charCodeAt(i);
      if (unit < 0x80) {
        if (removeSpace && isPythonWhitespace(unit)) {
          i = this.collapseWhitespace(text, i, out);
        } else if ((unit === BACKTICK || unit === APOSTROPHE) && i + 1 < stop && text.charCodeAt(i + 1) === unit) {
          out.push(DOUBLE_QUOTE, i, i + 2);
          i += 2;
        } else {
          out.push(doLowerCase && unit >= 0x41 && unit <= 0x5a ? unit + 32 : unit, i, i + 1);
          i++;
        }
        continue;
      }
      const cp = codePointAt(text, i);
      if (removeSpace && isPythonWhitespace(cp)) {
        i = this.collapseWhitespace(text, i, out);
        continue;
      }
      const next = i + utf16Length(cp);
      let character = this.characters.get(cp);
      if (character === undefined) {
        character = this.transform(cp);
        this.characters.set(cp, character);
      }
      if (character.sigmas !== null) for (const at of character.sigmas) this.pendingSigmas.push(out.length + at);
      const bytes = character.bytes;
      for (let k = 0; k < bytes.length; k++) out.push(bytes[k]!, i, next);
      i = next;
    }
    if (this.pendingSigmas.length > 0) this.settleSigmas(out);
  }

  /** Writes one space for the whitespace run at text[i] (already known to end before the text does). */
  private collapseWhitespace(text: string, i: number, out: AlignedUnits): number {
    let j = i + 1;
    while (isPythonWhitespace(text.charCodeAt(j))) j++;
    out.push(SPACE, i, j);
    return j;
  }

  private transform(cp: number): CharacterOutput {
    const { doLowerCase, keepAccents } = this.options;
    let text = String.fromCodePoint(cp);
    if (doLowerCase) text = text.toLowerCase();
    if (!keepAccents) {
      text = Array.from(text.normalize('NFKD'))
        .filter((c) => !isCombiningMark(c.codePointAt(0)!))
        .join('');
    }
    let sigmas: number[] | null = null;
    if (doLowerCase) {
      let lowered = '';
      for (const c of text) {
        if (c === CAPITAL_SIGMA) (sigmas ??= []).push(encoder.encode(lowered).length);
        lowered += c.toLowerCase();
      }
      text = lowered;
    }
    return { bytes: encoder.encode(text), sigmas };
  }

  /**
   * CPython's handle_capital_sigma, on the written segment: final if a cased letter precedes it and
   * none follows, case-ignorable characters skipped. Lowercasing keeps both properties, so the
   * lowercased text answers as the text before `.lower()` would.
   */
  private settleSigmas(out: AlignedUnits): void {
    const bytes = out.units;
    const test = (re: RegExp, cp: number) => re.test(String.fromCodePoint(cp));
    for (const at of this.pendingSigmas) {
      let before = at;
      let cp = -1;
      while (before > 0) {
        before = utf8StartBefore(bytes, before, 0);
        cp = decodeUtf8At(bytes, before);
        if (!test(CASE_IGNORABLE, cp)) break;
        cp = -1;
      }
      if (cp < 0 || !test(CASED, cp)) continue;
      let after = at + 2;
      let followedByCased = false;
      while (after < out.length) {
        const next = decodeUtf8At(bytes, after);
        if (!test(CASE_IGNORABLE, next)) {
          followedByCased = test(CASED, next);
          break;
        }
        after += utf8Length(next);
      }
      if (!followedByCased) bytes[at + 1] = FINAL_SIGMA_SECOND;
    }
    this.pendingSigmas.length = 0;
  }
}

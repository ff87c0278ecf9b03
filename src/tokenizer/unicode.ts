/** Character classes as Python decides them (see unicode-tables.ts), and code point reading. */
import { COMBINING_MARK_RANGES, PYTHON_DIGIT_RANGES, PYTHON_WHITESPACE_RANGES } from './unicode-tables.js';

function inRanges(ranges: Uint32Array, cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ranges[2 * mid]!) hi = mid - 1;
    else if (cp > ranges[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

/** str.isspace() */
export function isPythonWhitespace(cp: number): boolean {
  if (cp < 0x80) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x1f);
  return inRanges(PYTHON_WHITESPACE_RANGES, cp);
}

/** unicodedata.combining(c) != 0 */
export function isCombiningMark(cp: number): boolean {
  return cp >= 0x300 && inRanges(COMBINING_MARK_RANGES, cp);
}

/** str.isdigit() */
export function isPythonDigit(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x30 && cp <= 0x39;
  return inRanges(PYTHON_DIGIT_RANGES, cp);
}

export const REPLACEMENT_CHARACTER = 0xfffd;

/**
 * The code point at text[i]. A lone surrogate reads as U+FFFD, as TextEncoder and every UTF-8
 * consumer would write it; Python cannot encode such a string at all.
 */
export function codePointAt(text: string, i: number): number {
  const unit = text.charCodeAt(i);
  if (unit < 0xd800 || unit > 0xdfff) return unit;
  if (unit <= 0xdbff && i + 1 < text.length) {
    const next = text.charCodeAt(i + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return ((unit - 0xd800) << 10) + (next - 0xdc00) + 0x10000;
  }
  return REPLACEMENT_CHARACTER;
}

/** UTF-16 length of the character read by codePointAt at the same place. */
export function utf16Length(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

/** Reading UTF-8 held one byte per element, as the normalization buffers hold it. */

/** Byte length of the character whose first byte is `leadByte`, as SentencePiece's OneCharLen. */
export function utf8CharLength(leadByte: number): number {
  return leadByte < 0xc0 ? 1 : leadByte < 0xe0 ? 2 : leadByte < 0xf0 ? 3 : 4;
}

/** Byte length of `cp` in UTF-8. */
export function utf8Length(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** The code point whose first byte is bytes[i]. */
export function decodeUtf8At(bytes: ArrayLike<number>, i: number): number {
  const lead = bytes[i]!;
  if (lead < 0x80) return lead;
  const length = utf8CharLength(lead);
  let cp = lead & (0xff >> (length + 1));
  for (let k = 1; k < length; k++) cp = (cp << 6) | (bytes[i + k]! & 0x3f);
  return cp;
}

/** Where the character that ends at bytes[end - 1] starts, not before `floor`. */
export function utf8StartBefore(bytes: ArrayLike<number>, end: number, floor: number): number {
  let i = end - 1;
  while (i > floor && (bytes[i]! & 0xc0) === 0x80) i--;
  return i;
}

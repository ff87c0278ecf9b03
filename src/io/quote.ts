/**
 * How error messages show a value that came from a file or a caller. As JSON, so a name holding a
 * newline or a quote cannot break a message's single line; cut short, so a huge value cannot make a
 * huge message; and never throwing (a value nested a million deep overflows JSON.stringify's stack,
 * a BigInt or a cycle makes it throw), so reporting a bad value cannot become a crash of its own.
 */
const MAX_QUOTED_LENGTH = 200;

export function quote(value: unknown): string {
  let text: string | undefined;
  try {
    // JSON would show NaN and Infinity as null.
    text = typeof value === 'bigint' || typeof value === 'number' ? String(value) : JSON.stringify(value);
  } catch {
    text = undefined;
  }
  text ??= Array.isArray(value) ? 'an array' : typeof value === 'object' && value !== null ? 'an object' : typeof value;
  return text.length > MAX_QUOTED_LENGTH ? `${text.slice(0, MAX_QUOTED_LENGTH)}… (${text.length} characters)` : text;
}

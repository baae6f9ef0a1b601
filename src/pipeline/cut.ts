/**
 * Texts longer than --max-chars are cut here, before any backend sees them: the HF backend held ~30 bytes
 * of memory per character of a text it sent (a 45 MB field cost 1.34 GB), and a 200 MB field crashed the
 * tokenizer's truncation with RangeError on every resume. Models read a few thousand characters at most.
 */

/** The first `max` characters of `text`, never ending in half a surrogate pair; the text itself when shorter. */
export function cutString(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = isHighSurrogate(text.charCodeAt(max - 1)) ? max - 1 : max;
  return text.slice(0, end);
}

/**
 * The first `max` characters of UTF-8 bytes, decoded from at most 4 × max bytes (a character is at most 4
 * bytes), so a 200 MB field is never decoded whole; the bytes themselves when they cannot hold more.
 */
export function cutUtf8(bytes: Buffer, max: number): Buffer | string {
  if (bytes.length <= max) return bytes; // at most max characters
  const head = bytes.subarray(0, Math.min(bytes.length, 4 * max)).toString('utf8');
  if (head.length <= max && 4 * max >= bytes.length) return bytes;
  return cutString(head, max);
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

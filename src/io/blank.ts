const NOT_SPACE = /\S/;

/**
 * Whether a text is empty or only white space, as `text.trim() === ''` says (\s is the set trim removes),
 * without trim's copy of every text with white space at either end: most reviews, ~1 kB each.
 */
export function isBlank(text: string): boolean {
  return !NOT_SPACE.test(text);
}

/**
 * isBlank of UTF-8 bytes, without decoding them where their first bytes decide: most texts start with a
 * character that is not white space. Any byte beyond ASCII (non-breaking and other Unicode spaces) decodes.
 */
export function isBlankUtf8(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c >= 0x80) return isBlank(b.toString('utf8'));
    if (c !== 0x20 && (c < 0x09 || c > 0x0d)) return false;
  }
  return true;
}

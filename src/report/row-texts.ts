/**
 * The texts of a few rows, read back from the user's input: the checkpoint keeps results, not texts.
 * One streaming pass from the top that stops after the last wanted row.
 */
import { fingerprintInput, type InputFingerprint } from '../job/fingerprint.js';
import type { JobSettings } from '../job/settings.js';
import { openInput } from '../io/index.js';

export interface RowText {
  line: number;
  id: string | undefined;
  /** Cut to the asked length, with "…" where it was cut. */
  text: string;
  /** Characters of the whole text. */
  chars: number;
}

export type RowTexts = { ok: true; rows: Map<number, RowText> } | { ok: false; reason: string };

export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never cut a surrogate pair in half.
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end).trimEnd()}…`;
}

/**
 * Reads rows `ordinals` of the input. When the input is gone or no longer the file that was labeled,
 * says so instead: a changed file's row N is another text, and showing it beside row N's score would mislead.
 */
export async function readRowTexts(settings: JobSettings, fingerprint: InputFingerprint | undefined, ordinals: readonly number[], maxChars: number): Promise<RowTexts> {
  if (!ordinals.length) return { ok: true, rows: new Map() };
  let now: InputFingerprint;
  try {
    now = await fingerprintInput(settings.input);
  } catch {
    return { ok: false, reason: `the input ${settings.input} cannot be read, so the rows' texts are not shown` };
  }
  if (fingerprint && (fingerprint.size !== now.size || fingerprint.sample !== now.sample)) {
    return { ok: false, reason: `the input ${settings.input} changed since it was labeled, so the rows' texts are not shown` };
  }
  const wanted = new Set(ordinals);
  const last = Math.max(...ordinals);
  const rows = new Map<number, RowText>();
  const source = await openInput(settings);
  try {
    for await (const row of source.rows) {
      if (row.ordinal > last) break;
      if (!wanted.has(row.ordinal)) continue;
      const text = row.text ?? row.textBytes?.toString('utf8') ?? '';
      rows.set(row.ordinal, { line: row.line, id: row.id, text: cutText(text, maxChars), chars: text.length });
      if (rows.size === wanted.size) break;
    }
  } finally {
    source.close();
  }
  return { ok: true, rows };
}

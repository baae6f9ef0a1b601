import { isUtf8 } from 'node:buffer';
import { InputError } from '../errors.js';
import { isBlank } from './blank.js';
import { inputBytes } from './bytes.js';
import { UTF8 } from '../core/encoding.js';
import { markBad, markEmpty } from './types.js';
import type { InputRow, ReadPosition, ReaderOptions, RowSource } from './types.js';

const NL = 0x0a;
const CR = 0x0d;

/** `a.b.c` into nested objects; a key that itself contains dots wins over the path. */
export function getPath(obj: unknown, path: string): unknown {
  if (obj !== null && typeof obj === 'object' && path in obj) return (obj as Record<string, unknown>)[path];
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * Lines are split on raw bytes (not with readline) so that every row knows its exact byte offsets:
 * that is what lets a resumed run seek past the finished part of the file instead of re-parsing it.
 */
/** Whether a line's bytes were not valid UTF-8: only a decoded line holding U+FFFD can say so, and those are rare. */
function invalidUtf8(text: string, bytes: Buffer): boolean {
  return text.includes('\uFFFD') && !isUtf8(bytes);
}

export async function openJsonl(opts: ReaderOptions, from: ReadPosition): Promise<RowSource> {
  const encoding = opts.encoding ?? UTF8;
  const { stream, fileOffset } = inputBytes(opts.path, from.byte, encoding, 256 * 1024);
  let consumed = from.byte;

  async function* lines(): AsyncGenerator<{ text: string; start: number; end: number; line: number; invalid: boolean }> {
    let pending: Buffer = Buffer.alloc(0);
    let offset = from.byte; // absolute offset of pending[0]
    let line = from.line;
    let first = from.byte === 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      if (first) {
        first = false;
        if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
          buf = buf.subarray(3);
          offset += 3;
        }
      }
      let pos = 0;
      for (let nl = buf.indexOf(NL, pos); nl >= 0; nl = buf.indexOf(NL, pos)) {
        const endText = nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
        const text = buf.toString('utf8', pos, endText);
        yield { text, start: offset + pos, end: offset + nl + 1, line, invalid: invalidUtf8(text, buf.subarray(pos, endText)) };
        line++;
        pos = nl + 1;
      }
      pending = buf.subarray(pos);
      offset += pos;
    }
    if (pending.length) {
      const endText = pending[pending.length - 1] === CR ? pending.length - 1 : pending.length;
      const text = pending.toString('utf8', 0, endText);
      yield { text, start: offset, end: offset + pending.length, line, invalid: invalidUtf8(text, pending.subarray(0, endText)) };
    }
  }

  async function* rows(): AsyncGenerator<InputRow> {
    let ordinal = from.ordinal;
    let checkedField = from.ordinal > 0;
    try {
      for await (const l of lines()) {
        consumed = l.end;
        if (isBlank(l.text)) continue;
        const row: InputRow = {
          ordinal: ordinal++,
          line: l.line,
          nextLine: l.line + 1,
          byteStart: l.start,
          byteEnd: l.end,
          record: l.text,
        };
        if (l.invalid) row.invalidUtf8 = true;
        let obj: unknown;
        try {
          obj = JSON.parse(l.text);
        } catch (err) {
          row.error = `not valid JSON: ${(err as Error).message}`;
          yield row;
          continue;
        }
        if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
          row.error = 'not a JSON object';
          yield row;
          continue;
        }
        row.object = obj as Record<string, unknown>;
        const value = getPath(obj, opts.textColumn);
        if (!checkedField && value === undefined) {
          // The first object decides whether the field name is a typo: failing every row would waste a night.
          throw new InputError(
            `${opts.path} line ${l.line}: no field "${opts.textColumn}". Fields: ${Object.keys(obj).map((k) => JSON.stringify(k)).join(', ')}. Pass the right one with --text-column (dotted paths like meta.body work).`,
          );
        }
        checkedField = true;
        const text = asText(value);
        if (text === undefined) row.error = value === undefined || value === null ? `no field "${opts.textColumn}"` : `field "${opts.textColumn}" is not a string`;
        else if (isBlank(text)) markEmpty(row, `empty text in field "${opts.textColumn}"`);
        else row.text = text;
        if (opts.textPairColumn !== undefined && row.error === undefined) {
          const pair = asText(getPath(obj, opts.textPairColumn));
          if (pair === undefined) markBad(row, `no text in field "${opts.textPairColumn}"`);
          else if (isBlank(pair)) markEmpty(row, `empty text in field "${opts.textPairColumn}"`);
          else row.textPair = pair;
        }
        if (opts.idColumn !== undefined) row.id = asText(getPath(obj, opts.idColumn));
        yield row;
      }
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(`${opts.path}: cannot read: ${(err as Error).message}`);
    }
  }

  return {
    header: null,
    rows: rows(),
    encoding,
    bytesRead: () => fileOffset(consumed),
    close: () => stream.destroy(),
  };
}

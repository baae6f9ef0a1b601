/**
 * A fast path for csv-parse on the CSV that nearly every export is: a one-byte delimiter, LF or CRLF line
 * ends, fields either bare or wrapped in double quotes with inner quotes doubled. It scans raw bytes with
 * indexOf and decodes each field once, about ten times faster than csv-parse, and produces exactly what
 * csv-parse produces with our options (records, `info.bytes`, `info.empty_lines`).
 *
 * It never guesses: at the first byte sequence whose meaning depends on csv-parse's finer rules (a quote
 * inside a bare field, anything but a delimiter or line end after a closing quote, a quote left open at
 * the end, a CR that is not part of the detected line end, old-Mac CR-only files, a UTF-16 BOM) it stops
 * before that record and says so; the caller then lets csv-parse read from the same start and skips the
 * records already produced, so odd files get csv-parse's exact records and error messages.
 */
import type { Readable } from 'node:stream';

export interface FastRecord {
  record: string[];
  /** Line breaks inside the record's quoted fields (CRLF, CR or LF, each one line), when the scanner counted them. */
  breaks?: number;
  /** With `textField`: that field's value as UTF-8 bytes: a view of the read buffer, or of a copy without the doubled quotes. */
  textBytes?: Buffer;
  /** With `keepRaw`: the record's bytes as in the file, without its line end (a view of the read buffer). */
  raw?: Buffer;
  /** As csv-parse's `info`: bytes from the start of the read to the end of this record (line end included), and blank lines skipped so far. */
  info: { bytes: number; empty_lines: number };
}

const QUOTE = 0x22;
/** A record still incomplete after this many bytes is left to csv-parse, which reads it in one pass (the scan restarts at the record's start with every chunk). */
const MAX_PENDING = 16 * 1024 * 1024;
const LF = 0x0a;
const CR = 0x0d;

/**
 * The bytes of a quoted field buf[from, to) whose inner quotes are doubled, with each pair made one quote.
 * Copied into a new buffer rather than decoded and then replaced in the string: texts with quotes are common,
 * and the replaced string was a second copy of each on the JS heap.
 */
function unquote(buf: Buffer, from: number, to: number): Buffer {
  const n = to - from;
  const out = Buffer.allocUnsafe(n);
  out.set(new Uint8Array(buf.buffer, buf.byteOffset + from, n));
  // In place: each pair's second quote dropped by shifting what follows, up to the next pair, left by the
  // quotes dropped so far. copyWithin, not Buffer.copy: its argument checks and view per call cost more
  // than the bytes (reviews quote a lot).
  let dropped = 0;
  for (let q = out.indexOf(QUOTE); q >= 0; ) {
    const next = out.indexOf(QUOTE, q + 2);
    out.copyWithin(q + 1 - dropped, q + 2, next >= 0 ? next + 1 : n);
    dropped++;
    q = next;
  }
  return out.subarray(0, n - dropped);
}

/** Delimiters the fast path handles: one ASCII byte that is not a quote or a line break. */
export function fastDelimiter(delimiter: string): number | undefined {
  if (delimiter.length !== 1) return undefined;
  const c = delimiter.charCodeAt(0);
  return c < 0x80 && c !== QUOTE && c !== LF && c !== CR ? c : undefined;
}

/** What the scanner yields: records of one chunk; `fallback` ends the scan (csv-parse takes over). */
export type FastChunk = { records: FastRecord[]; fallback: boolean };

/**
 * Records from `stream` (which starts where the read starts), a chunk's worth at a time. `bom`: the read
 * starts at the beginning of the file, where csv-parse (bom: true) drops a UTF-8 byte order mark.
 * `lazyText`: the `textField` is not decoded where its bytes are given (`textBytes`, without line breaks):
 * the record holds '' in its place, and the caller decodes the bytes if it needs the string.
 */
export async function* fastCsvRecords(
  stream: Readable,
  delimiter: number,
  bom: boolean,
  keepRaw = false,
  textField = -1,
  lazyText = false,
): AsyncGenerator<FastChunk> {
  /** 0: line end not seen yet (csv-parse detects it at the first line break outside quotes); 1: LF; 2: CRLF. */
  let lineEnd = 0;
  let emptyLines = 0;
  /** Offset, from the start of the read, of pending[0]. */
  let base = 0;
  let pending: Buffer | undefined;
  let first = bom;

  /**
   * Length of the record delimiter at buf[i] (a CR or LF outside quotes): 1 or 2; 0 if that byte is field
   * content for csv-parse (fall back); -1 if the next byte is needed to tell.
   */
  const recordEnd = (buf: Buffer, i: number, final: boolean): number => {
    const c = buf[i];
    if (lineEnd === 0) {
      if (c === LF) {
        lineEnd = 1;
        return 1;
      }
      if (i + 1 >= buf.length) return final ? 0 : -1; // CR at the very end: CR-only files fall back
      if (buf[i + 1] === LF) {
        lineEnd = 2;
        return 2;
      }
      return 0; // CR-only line ends
    }
    if (lineEnd === 1) return c === LF ? 1 : 0;
    if (c !== CR) return 0; // a bare LF in a CRLF file is content
    if (i + 1 >= buf.length) return final ? 0 : -1;
    return buf[i + 1] === LF ? 2 : 0;
  };

  // Of the record being scanned:
  let breaks = 0;
  let textBytes: Buffer | undefined;
  /** A record spanning buf[start, end) before its line end; `bytes` as csv-parse's info.bytes. */
  const record = (fields: string[], buf: Buffer, start: number, end: number, bytes: number): FastRecord =>
    keepRaw
      ? { record: fields, breaks, textBytes, raw: buf.subarray(start, end), info: { bytes, empty_lines: emptyLines } }
      : { record: fields, breaks, textBytes, info: { bytes, empty_lines: emptyLines } };

  /** Adds the bare field buf[from, to): decoded, except the text field with lazyText (its bytes are kept either way). */
  const addBare = (fields: string[], buf: Buffer, from: number, to: number): void => {
    if (fields.length === textField) {
      textBytes = buf.subarray(from, to);
      if (lazyText) {
        fields.push('');
        return;
      }
    }
    fields.push(buf.toString('utf8', from, to));
  };

  /** Parses whole records of buf; returns where the unparsed rest starts, or -1 to fall back. */
  const scan = (buf: Buffer, final: boolean, out: FastRecord[]): number => {
    const len = buf.length;
    let start = 0;
    records: while (start < len) {
      let pos = start;
      const c0 = buf[pos];
      if (c0 === LF || c0 === CR) {
        const d = recordEnd(buf, pos, final);
        if (d < 0) return start;
        if (d === 0) return -1;
        emptyLines++; // a blank line: csv-parse skips it (skip_empty_lines)
        start = pos + d;
        continue;
      }
      const fields: string[] = [];
      breaks = 0;
      textBytes = undefined;
      for (;;) {
        if (pos < len && buf[pos] === QUOTE) {
          const from = pos + 1;
          let q = from;
          let doubled = false;
          for (;;) {
            q = buf.indexOf(QUOTE, q);
            if (q < 0) return final ? -1 : start; // open quote at the end of the file: csv-parse's error
            if (q + 1 >= len) {
              if (!final) return start;
              break;
            }
            if (buf[q + 1] !== QUOTE) break;
            doubled = true;
            q += 2;
          }
          const bytes = doubled ? unquote(buf, from, q) : buf.subarray(from, q);
          // Only a quoted field holds line breaks; a native search of its bytes rules them out.
          const multiline = bytes.indexOf(LF) >= 0 || bytes.indexOf(CR) >= 0;
          if (fields.length === textField) textBytes = bytes;
          // Line breaks are counted from the string, so a multi-line text is decoded even with lazyText.
          if (fields.length === textField && lazyText && !multiline) fields.push('');
          else {
            const value = bytes.toString('utf8');
            fields.push(value);
            if (multiline) breaks += value.match(/\r\n|\r|\n/g)!.length;
          }
          pos = q + 1;
          if (pos >= len) {
            // final: the last record ends with the file
            out.push(record(fields, buf, start, len, base + len));
            start = len;
            continue records;
          }
          const c = buf[pos];
          if (c === delimiter) {
            pos++;
            continue;
          }
          if (c === LF || c === CR) {
            const d = recordEnd(buf, pos, final);
            if (d < 0) return start;
            if (d === 0) return -1;
            out.push(record(fields, buf, start, pos, base + pos + d));
            start = pos + d;
            continue records;
          }
          return -1; // something after the closing quote: csv-parse decides (error, or relax_quotes)
        }
        const from = pos;
        let c = 0;
        while (pos < len) {
          c = buf[pos]!;
          if (c === delimiter || c === LF || c === CR || c === QUOTE) break;
          pos++;
        }
        if (pos >= len) {
          if (!final) return start;
          addBare(fields, buf, from, len);
          out.push(record(fields, buf, start, len, base + len));
          start = len;
          continue records;
        }
        if (c === QUOTE) return -1; // a quote inside a bare field: csv-parse's error, or relax_quotes
        addBare(fields, buf, from, pos);
        if (c === delimiter) {
          pos++;
          continue;
        }
        const d = recordEnd(buf, pos, final);
        if (d < 0) return start;
        if (d === 0) return -1;
        out.push(record(fields, buf, start, pos, base + pos + d));
        start = pos + d;
        continue records;
      }
    }
    return start;
  };

  const step = (buf: Buffer, final: boolean): FastChunk => {
    if (first) {
      if (buf.length < 3 && !final) {
        pending = buf;
        return { records: [], fallback: false };
      }
      first = false;
      if (buf[0] === 0xff && buf[1] === 0xfe) return { records: [], fallback: true }; // UTF-16 LE: csv-parse re-decodes
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
        buf = buf.subarray(3);
        base += 3;
      }
    }
    const records: FastRecord[] = [];
    const rest = scan(buf, final, records);
    if (rest < 0) return { records, fallback: true };
    base += rest;
    pending = rest < buf.length ? buf.subarray(rest) : undefined;
    return { records, fallback: false };
  };

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = undefined;
    const r = step(buf, false);
    const rest = pending as Buffer | undefined; // set by step()
    if (!r.fallback && rest !== undefined && rest.length > MAX_PENDING) r.fallback = true;
    if (r.records.length || r.fallback) yield r;
    if (r.fallback) return;
  }
  if (pending || first) {
    const r = step(pending ?? Buffer.alloc(0), true);
    if (r.records.length || r.fallback) yield r;
  }
}

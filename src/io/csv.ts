import { isUtf8 } from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { parse, type Info } from 'csv-parse';
import { InputError } from '../errors.js';
import { isBlank, isBlankUtf8 } from './blank.js';
import { markEmpty } from './types.js';
import { fastCsvRecords, fastDelimiter, type FastRecord } from './csv-fast.js';
import { inputBytes } from './bytes.js';
import { UTF8 } from '../core/encoding.js';
import type { Readable } from 'node:stream';
import type { InputRow, ReadPosition, ReaderOptions, RowSource } from './types.js';

type Parsed = { record: string[]; info: Info };

function parser(opts: ReaderOptions, bom: boolean) {
  return parse({
    delimiter: opts.delimiter ?? ',',
    bom,
    info: true,
    relax_column_count: true, // a row with the wrong field count is a failed row, not a crashed run
    relax_quotes: opts.relaxQuotes ?? false,
    skip_empty_lines: true,
  });
}

/**
 * `recordLine`: where the record being parsed starts. A quote never closed is found only at the end of the
 * file, so csv-parse's line is the last one; the record's first line is where the quote opens, and no
 * option parses it (relax_quotes is about quotes inside bare fields), so the advice is to fix that line.
 */
function parseError(path: string, err: unknown, baseLine: number, recordLine?: number): InputError {
  const e = err as { message?: string; code?: string; lines?: number };
  if (e.code === 'CSV_QUOTE_NOT_CLOSED' && recordLine !== undefined) {
    return new InputError(
      `${path} line ${recordLine}: cannot parse CSV: a quoted field that starts in the row at line ${recordLine} is never closed (everything after it would be one field). Close the quote there, or double it ("") if it is part of the text.`,
    );
  }
  const line = typeof e.lines === 'number' ? ` line ${baseLine + e.lines}` : '';
  const msg = (e.message ?? String(err)).replace(/ at line \d+/, '');
  const hint = e.code?.includes('QUOTE')
    ? ' Fix the quoting there (a field with a quote must be wrapped in quotes, inner quotes doubled), or pass --relax-quotes.'
    : '';
  return new InputError(`${path}${line}: cannot parse CSV: ${msg}.${hint}`);
}

/** Reads only the header row (the first record), without touching the rest of the file. */
export async function readCsvHeader(opts: ReaderOptions): Promise<string[]> {
  const { stream } = inputBytes(opts.path, 0, opts.encoding ?? UTF8, 64 * 1024);
  const p = parser(opts, true);
  stream.pipe(p);
  try {
    for await (const { record } of p as AsyncIterable<Parsed>) return record;
  } catch (err) {
    throw parseError(opts.path, err, 0, 1);
  } finally {
    stream.destroy();
    p.destroy();
  }
  throw new InputError(`${opts.path}: the file is empty; a CSV input needs a header row naming its columns.`);
}

function columnIndex(header: string[], name: string, path: string, what: string): number {
  const i = header.indexOf(name);
  if (i < 0) {
    throw new InputError(
      `${path}: no column "${name}" (${what}). Columns: ${header.map((h) => JSON.stringify(h)).join(', ')}. Pass the right one with --${what}.`,
    );
  }
  return i;
}

/**
 * Line breaks inside the record's quoted fields. csv-parse's own line counter counts a CRLF inside
 * quotes twice, so row line numbers are counted here instead.
 */
function lineBreaks(record: string[]): number {
  let n = 0;
  for (const f of record) {
    if (f.indexOf('\n') < 0 && f.indexOf('\r') < 0) continue;
    n += f.match(/\r\n|\r|\n/g)!.length;
  }
  return n;
}

export async function openCsv(opts: ReaderOptions, from: ReadPosition): Promise<RowSource> {
  const header = await readCsvHeader(opts);
  const textIndex = columnIndex(header, opts.textColumn, opts.path, 'text-column');
  const idIndex = opts.idColumn === undefined ? -1 : columnIndex(header, opts.idColumn, opts.path, 'id-column');
  const pairIndex = opts.textPairColumn === undefined ? -1 : columnIndex(header, opts.textPairColumn, opts.path, 'text-pair-column');

  const encoding = opts.encoding ?? UTF8;
  const atStart = from.byte === 0;
  // The id is read from the record, so it must not be the undecoded field.
  const lazy = opts.lazyText === true && idIndex !== textIndex && pairIndex !== textIndex;
  let stream: Readable | undefined;
  let fileOffset = (offset: number) => offset;
  let p: ReturnType<typeof parser> | undefined;

  /**
   * Records with csv-parse's `info`, a chunk's worth at a time: from the fast scanner when the delimiter
   * allows it, and from csv-parse (started at the same byte, skipping the records already produced) from
   * the first record the scanner leaves to it, or from the start otherwise.
   */
  async function* records(): AsyncGenerator<FastRecord[]> {
    let produced = 0;
    const delimiter = fastDelimiter(opts.delimiter ?? ',');
    if (delimiter !== undefined) {
      // 64 KiB reads (Node's default): the scanner copies each chunk once to join it to the previous
      // chunk's unfinished record, and 256 KiB buffers read and copied at this rate held ~40 MB more RSS.
      ({ stream, fileOffset } = inputBytes(opts.path, from.byte, encoding, 64 * 1024));
      let fallback = false;
      for await (const chunk of fastCsvRecords(stream, delimiter, atStart, opts.raw, textIndex, lazy)) {
        produced += chunk.records.length;
        if (chunk.records.length) yield chunk.records;
        fallback = chunk.fallback;
      }
      stream.destroy();
      if (!fallback) return;
    }
    const bytes = inputBytes(opts.path, from.byte, encoding, 256 * 1024);
    const s = bytes.stream;
    fileOffset = bytes.fileOffset;
    const parsed = parser(opts, atStart);
    stream = s;
    p = parsed;
    s.on('error', (err) => parsed.destroy(err));
    s.pipe(parsed);
    for await (const r of parsed as AsyncIterable<Parsed>) {
      if (produced > 0) produced--;
      else yield [r];
    }
  }

  /**
   * Whether the record's bytes in the file are valid UTF-8, for a record csv-parse read (it gives no
   * bytes): asked only of a text holding U+FFFD, which a valid file almost never has.
   */
  let fd: number | undefined;
  const recordIsUtf8 = (row: InputRow): boolean => {
    fd ??= openSync(opts.path, 'r');
    const bytes = Buffer.alloc(row.byteEnd - row.byteStart);
    readSync(fd, bytes, 0, bytes.length, row.byteStart);
    return isUtf8(bytes);
  };

  // csv-parse counts bytes from the start of what it is fed: add where we started.
  const baseByte = from.byte;
  const baseLine = from.line - 1;
  let consumed = from.byte;

  async function* rows(): AsyncGenerator<InputRow> {
    let ordinal = from.ordinal;
    let prevBytes = 0;
    let prevEmpty = 0;
    let line = from.line;
    let skipHeader = atStart;
    try {
      for await (const chunk of records()) {
        for (const { record, raw, breaks, textBytes, info } of chunk) {
          line += info.empty_lines - prevEmpty; // blank lines skipped before this record
          const nextLine = line + 1 + (breaks ?? lineBreaks(record));
          const row: InputRow = {
            ordinal,
            line,
            nextLine,
            byteStart: baseByte + prevBytes,
            byteEnd: baseByte + info.bytes,
            record,
          };
          if (raw) row.raw = raw;
          prevBytes = info.bytes;
          prevEmpty = info.empty_lines;
          line = nextLine;
          consumed = row.byteEnd;
          if (skipHeader) {
            skipHeader = false;
            continue;
          }
          ordinal++;
          // Left undecoded by the scanner (lazyText): decoded here only where the string is needed.
          const undecoded = lazy && textBytes !== undefined;
          if (record.length !== header.length) {
            if (undecoded) record[textIndex] = textBytes.toString('utf8');
            row.error = `expected ${header.length} fields (as in the header), found ${record.length}`;
          } else if (undecoded && isUtf8(textBytes)) {
            if (isBlankUtf8(textBytes)) markEmpty(row, `empty text in column "${opts.textColumn}"`);
            else row.textBytes = textBytes;
          } else {
            const text = undecoded ? (record[textIndex] = textBytes.toString('utf8')) : record[textIndex]!;
            if (isBlank(text)) markEmpty(row, `empty text in column "${opts.textColumn}"`);
            else {
              row.text = text;
              // Invalid UTF-8 was decoded to U+FFFD: then only the text itself says what was classified.
              if (textBytes && isUtf8(textBytes)) row.textBytes = textBytes;
              else if (textBytes || (encoding.utf8 && text.includes('\uFFFD') && !recordIsUtf8(row))) row.invalidUtf8 = true;
            }
          }
          if (pairIndex >= 0 && row.error === undefined) {
            const pair = record[pairIndex]!;
            if (isBlank(pair)) markEmpty(row, `empty text in column "${opts.textPairColumn}"`);
            else row.textPair = pair;
          }
          if (idIndex >= 0 && idIndex < record.length) row.id = record[idIndex];
          yield row;
        }
      }
    } catch (err) {
      if (err instanceof InputError) throw err;
      if ((err as NodeJS.ErrnoException).code?.startsWith('CSV_')) throw parseError(opts.path, err, baseLine, line);
      throw new InputError(`${opts.path}: cannot read: ${(err as Error).message}`);
    }
  }

  return {
    header,
    rows: rows(),
    encoding,
    bytesRead: () => fileOffset(consumed),
    close: () => {
      stream?.destroy();
      p?.destroy();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

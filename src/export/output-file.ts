/**
 * The scored file itself: rows in input order, each with its result, written in chunks to a temporary
 * name that becomes the output's name only when the file is complete. Both ways of exporting use it: the
 * export after a run (rows read again, results paged from the checkpoint) and the export a fresh run
 * writes as it goes (rows and results from the run itself), so both write the same bytes.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, createWriteStream, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { ExportError } from '../errors.js';
import type { JobSettings } from '../job/settings.js';
import { DEFAULTS, type ParquetCompression } from '../job/options.js';
import type { InputRow } from '../io/index.js';
import type { StoredRow } from '../store/checkpoint.js';
import { checkClash, escapeFormula, type AddedColumns } from './columns.js';
import { csvRecords, type CsvRecord } from './csv-out.js';
import { openParquetOutputFile } from './parquet-out.js';
import { countRow } from './summary.js';
import type { ParquetColumn } from '../io/parquet/schema.js';
import { plainValue } from '../io/parquet/values.js';
import { isRunning } from '../core/process.js';
import { EncodeError, textEncoding, UTF8, type TextEncoding } from '../core/encoding.js';

export interface ExportTarget {
  /** The file to write; with `stream`, only the name messages give it. */
  output: string;
  format: 'csv' | 'jsonl' | 'parquet';
  /**
   * Write to this stream (standard output) instead of the file, CSV or JSONL only: rows go out as they
   * are ready, so an export that fails leaves what was written; the stream is not ended.
   */
  stream?: Writable;
  /** CSV field delimiter. @default tab for a .tsv output, else "," */
  delimiter?: string;
  /** CSV, JSONL: the text encoding to write (a WHATWG name). @default the job's output encoding, else the input's */
  encoding?: string;
  /** Parquet: the page compression. @default the job's, else zstd */
  compression?: ParquetCompression;
  /** Aborted: the export stops at the next row, removes its temporary file and throws InterruptedError. @default never */
  signal?: AbortSignal;
}

/** The name messages and summaries give an export written to a stream. */
export const STREAM_OUTPUT_NAME = 'standard output';

export interface ExportSummary {
  rows: number;
  labeled: number;
  failed: number;
  /** Rows with nothing to label (empty texts), left blank. */
  skipped: number;
  unlabeled: number;
}

export interface OutputFile {
  /** Adds the next row in input order with its result (none: left blank). False when the file's buffer is full: wait for drained(). */
  add(row: InputRow, result: StoredRow | undefined): boolean;
  /** As add(), for a row that copiesRaw() said is written from its bytes. */
  addRaw(raw: Buffer, result: StoredRow | undefined): boolean;
  /** Whether the row is written from its original bytes (which are all add() needs of it then). */
  copiesRaw(row: InputRow): row is InputRow & { raw: Buffer };
  drained(): Promise<void>;
  /** Writes what is buffered and gives the file its name. */
  finish(): Promise<ExportSummary>;
  /** Removes the unfinished file. */
  abort(): Promise<void>;
}

/** Rows buffered per write. */
const CHUNK_ROWS = 1000;

function outputDelimiter(target: ExportTarget): string {
  return target.delimiter ?? (/\.tsv$/i.test(target.output) ? '\t' : ',');
}

/** CSV to CSV with the same delimiter: each row's original bytes are copied (ask the reader for them), the added cells appended. */
export function copiesRawRows(settings: Pick<JobSettings, 'format' | 'delimiter'>, target: ExportTarget): boolean {
  return target.format === 'csv' && settings.format === 'csv' && settings.delimiter === outputDelimiter(target);
}

/** Parquet to Parquet: the text column is written from the bytes the reader kept, never from a decoded string. */
export function writesTextBytes(settings: Pick<JobSettings, 'format'>, target: ExportTarget): boolean {
  return target.format === 'parquet' && settings.format === 'parquet';
}

/** The encoding a CSV or JSONL export is written in: as asked, else the input's, whose bytes it copies. */
function outputEncoding(settings: JobSettings, target: ExportTarget, input: TextEncoding | undefined): TextEncoding {
  if (target.encoding !== undefined) return textEncoding(target.encoding, 'output-encoding');
  if (settings.outputEncoding !== undefined) return textEncoding(settings.outputEncoding, 'output-encoding');
  return input ?? UTF8;
}

/** Encodes UTF-8 chunks of the export (whole lines) in `enc`, the byte order mark first. */
function encoder(enc: TextEncoding, output: string): (chunk: Buffer | string) => Buffer | string {
  if (enc.utf8) return (chunk) => chunk;
  let first = true;
  return (chunk) => {
    let bytes: Buffer;
    try {
      bytes = enc.encode(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
    } catch (err) {
      if (!(err instanceof EncodeError)) throw err;
      throw new ExportError(`cannot write ${output}: ${err.message}, the output's encoding. Write it in UTF-8 (--output-encoding utf-8) or as Parquet.`);
    }
    if (!first) return bytes;
    first = false;
    return enc.bom.length ? Buffer.concat([enc.bom, bytes]) : bytes;
  };
}

/**
 * `header`: the input's CSV header (null for JSONL: CSV output then takes its columns from the first object).
 * `columns`: a Parquet input's typed columns, which a Parquet output keeps. `inputEncoding`: the text
 * encoding of a CSV or JSONL input, which the export keeps unless asked for another.
 */
export function openOutputFile(settings: JobSettings, target: ExportTarget, header: string[] | null, added: AddedColumns, columns?: ParquetColumn[], inputEncoding?: TextEncoding): OutputFile {
  if (header) checkClash(added.names, header, settings.columns, settings.input);
  const toStream = target.stream;
  if (toStream && target.format === 'parquet') throw new ExportError(`Parquet cannot be streamed to ${target.output}: write CSV or JSONL there (--output-format csv or jsonl), or name a .parquet file.`);
  if (!toStream) removeStaleTmp(target.output);
  const tmp = toStream ? '' : exportTmpPath(target.output);
  if (target.format === 'parquet') return openParquetOutputFile(settings, target.output, tmp, target.compression ?? settings.parquetCompression ?? DEFAULTS.parquetCompression, header, added, columns);
  // Room for a few chunks, so the next chunk is built while the last one is written.
  const out: Writable = toStream ?? createWriteStream(tmp, { fd: createExclusive(tmp), highWaterMark: 8 * 1024 * 1024 });
  const csvOut = target.format === 'csv';
  // Only the cells we add (labels and errors come from a server): the input's own cells are the user's.
  const escape = csvOut && settings.escapeFormulas !== false;
  const addedValues = escape ? (result: StoredRow | undefined) => escapeCells(added.values(result)) : added.values;
  const delimiter = outputDelimiter(target);
  const eol = inputLineEnd(settings.input, inputEncoding ?? UTF8);
  const encode = encoder(outputEncoding(settings, target, inputEncoding), target.output);
  const summary: ExportSummary = { rows: 0, labeled: 0, failed: 0, skipped: 0, unlabeled: 0 };
  let csvRows: CsvRecord[] = [];
  let lines: string[] = [];
  let wroteHeader = false;
  let failure: unknown;
  out.on('error', (err) => (failure ??= err));

  const flush = (): boolean => {
    if (csvRows.length) {
      const chunk = csvRecords(csvRows, delimiter, eol);
      csvRows = [];
      return out.write(encode(chunk));
    }
    if (lines.length) {
      const chunk = lines.join('');
      lines = [];
      return out.write(encode(chunk));
    }
    return true;
  };
  const writeHeader = (cols: string[]) => {
    csvRows.push([...cols, ...added.names]);
    wroteHeader = true;
  };

  const count = (result: StoredRow | undefined) => countRow(summary, result);
  // A row of the wrong width is written from its fields, padded or cut to the header's width.
  const copiesRaw = (row: InputRow): row is InputRow & { raw: Buffer } => row.raw !== undefined && csvOut && header !== null && row.record.length === header.length;

  return {
    copiesRaw,
    addRaw(raw, result) {
      count(result);
      if (!wroteHeader) writeHeader(header!);
      csvRows.push({ raw, more: addedValues(result) });
      return csvRows.length < CHUNK_ROWS || flush();
    },
    add(row, result) {
      if (copiesRaw(row)) return this.addRaw(row.raw, result);
      count(result);
      const values = addedValues(result);
      if (csvOut) {
        if (!header) {
          // JSONL in: the columns of the first object (an input header was checked on opening).
          header = jsonlColumns(row, settings);
          checkClash(added.names, header, settings.columns, settings.input);
        }
        if (!wroteHeader) writeHeader(header);
        csvRows.push([...csvFields(row, header), ...values]);
        return csvRows.length < CHUNK_ROWS || flush();
      }
      const line = jsonlLine(row, header, added.names, values, settings);
      lines.push(eol === '\n' ? line : `${line.slice(0, -1)}${eol}`);
      return lines.length < CHUNK_ROWS || flush();
    },
    async drained() {
      if (failure) throw writeFailure(target, failure);
      // once() rejects on 'error' while it waits; an error before it is in `failure`, checked above.
      if (out.writableNeedDrain) await once(out, 'drain').catch((err: unknown) => Promise.reject(writeFailure(target, err)));
    },
    async finish() {
      try {
        if (failure) throw failure;
        if (csvOut && !wroteHeader && header) writeHeader(header);
        flush();
        if (toStream) {
          // Not ended: the stream is the caller's (standard output). Written once its buffer drains.
          if (out.writableNeedDrain) await once(out, 'drain');
          if (failure) throw failure;
          return summary;
        }
        const file = out as ReturnType<typeof createWriteStream>;
        file.end();
        // finished(), not once('finish'): a stream that already failed never emits 'finish', and waiting
        // for it let the process end with nothing pending, exit 0 and no file.
        await finished(file);
        if (failure) throw failure;
        await rename(tmp, target.output);
        return summary;
      } catch (err) {
        await this.abort();
        throw writeFailure(target, err);
      }
    },
    async abort() {
      if (toStream) return;
      (out as ReturnType<typeof createWriteStream>).destroy();
      await rm(tmp, { force: true });
    },
  };
}

/** escapeFormula on each string cell, in place: values() builds a new array per row (its blank row has no strings). */
function escapeCells<T>(cells: T[]): (T | string)[] {
  const out: (T | string)[] = cells;
  for (let i = 0; i < out.length; i++) {
    const cell = out[i];
    if (typeof cell === 'string') out[i] = escapeFormula(cell);
  }
  return out;
}

/** A failed write of the export as the one line the user sees (an ExportError passes as it is). */
/**
 * The input's line end, which the export keeps ("the user's file untouched"): CRLF when the first line
 * of a local CSV or JSONL file ends in CRLF, else LF (Hub inputs and Parquet included).
 */
function inputLineEnd(input: string, enc: TextEncoding): '\n' | '\r\n' {
  let fd: number | undefined;
  try {
    fd = openSync(input, 'r');
    const head = Buffer.alloc(64 * 1024);
    const n = readSync(fd, head, 0, head.length, 0);
    if (!enc.utf8) {
      const text = enc.decoder().decode(head.subarray(0, n), { stream: true });
      const nl = text.indexOf('\n');
      return nl > 0 && text[nl - 1] === '\r' ? '\r\n' : '\n';
    }
    const nl = head.subarray(0, n).indexOf(10);
    return nl > 0 && head[nl - 1] === 13 ? '\r\n' : '\n';
  } catch {
    return '\n';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function writeFailure(target: ExportTarget, err: unknown): Error {
  const output = target.output;
  if (err instanceof ExportError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOSPC' ? 'the disk is full' : code === 'EFBIG' ? 'the file is over the size limit (ulimit -f)' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOENT' ? 'its folder no longer exists' : (err as Error).message;
  if (target.stream) return new ExportError(`cannot write the export to ${output}: ${why}.`, { cause: err });
  return new ExportError(`cannot write ${output}: ${why}. Nothing was written under that name; fix the cause and run the same command (or \`batchlabel export\`) again.`, { cause: err });
}

/**
 * Where an export is written until it is complete: the pid (so a dead process's leftovers can be told
 * from a live one's) and a random part, so nobody can plant a file or symlink there in advance.
 */
function exportTmpPath(output: string): string {
  return `${output}.tmp-${process.pid}-${randomBytes(8).toString('hex')}`;
}

/**
 * Creates the temporary file, failing if anything already has that name: O_EXCL never follows a symlink
 * (not even a dangling one), so the export cannot be written through a link planted at that name.
 */
function createExclusive(tmp: string): number {
  try {
    return openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o666);
  } catch (err) {
    throw new ExportError(`cannot create the export's temporary file ${tmp} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check that its folder exists and is writable.`);
  }
}

/**
 * Removes what exports of `output` by processes that no longer run left behind (a run killed while it
 * wrote its export leaves a partial file); a live process's file is left alone.
 */
function removeStaleTmp(output: string): void {
  const dir = path.dirname(output);
  const prefix = `${path.basename(output)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const n of names) {
    // `<pid>-<random>`, or `<pid>` as older versions named it.
    const pid = Number(/^(\d+)(?:-[0-9a-f]+)?$/.exec(n.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isRunning(pid)) continue;
    rmSync(path.join(dir, n), { force: true });
  }
}

function csvFields(row: InputRow, header: string[]): string[] {
  if (row.values) return row.values.map(csvValue);
  if (Array.isArray(row.record)) {
    // A row with too few fields is padded so the output stays rectangular; the error column says why.
    return row.record.length >= header.length ? row.record.slice(0, header.length) : [...row.record, ...Array(header.length - row.record.length).fill('')];
  }
  return header.map((h) => {
    const v = row.object?.[h];
    return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

/** A Parquet value in a CSV cell: nested values as JSON, bytes as base64, dates in ISO 8601. */
function csvValue(v: unknown): string {
  const p = plainValue(v);
  return p === null ? '' : typeof p === 'object' ? JSON.stringify(p) : String(p);
}

function jsonlColumns(row: InputRow, settings: JobSettings): string[] {
  if (!row.object) throw new ExportError(`${settings.input}: the first line is not a JSON object, so there are no columns to write as CSV. Export as JSONL instead (--output-format jsonl).`);
  return Object.keys(row.object);
}

/**
 * The input line is kept byte for byte: the added fields are spliced in before its closing brace.
 * A line that is not a JSON object is written as an object holding the line, so no row goes missing.
 */
function jsonlLine(row: InputRow, header: string[] | null, names: string[], values: unknown[], settings: JobSettings): string {
  const fields = names.map((n, i) => `${JSON.stringify(n)}:${JSON.stringify(values[i] ?? null)}`).join(',');
  if (row.values && header) {
    // Parquet in, JSONL out: one object per row, keyed by the columns.
    const obj: Record<string, unknown> = {};
    header.forEach((h, i) => (obj[h] = plainValue(row.values![i])));
    checkClash(names, header, settings.columns, settings.input);
    const fromParquet = JSON.stringify(obj);
    return `${fromParquet.slice(0, -1)}${header.length ? ',' : ''}${fields}}\n`;
  }
  if (Array.isArray(row.record) && header) {
    // CSV in, JSONL out: one object per row, keyed by the header.
    const obj: Record<string, unknown> = {};
    header.forEach((h, i) => (obj[h] = (row.record as string[])[i] ?? ''));
    const fromCsv = JSON.stringify(obj);
    return `${fromCsv.slice(0, -1)}${header.length ? ',' : ''}${fields}}\n`;
  }
  if (typeof row.record === 'string' && row.object) {
    checkClash(names, Object.keys(row.object), settings.columns, `${settings.input} line ${row.line}`);
    const raw = row.record.trimEnd();
    const body = raw.slice(0, -1).trimEnd();
    const empty = Object.keys(row.object).length === 0;
    return `${body}${empty ? '' : ','}${fields}}\n`;
  }
  return `{${fields},"input":${JSON.stringify(row.record)}}\n`;
}

import type { TextEncoding } from '../core/encoding.js';
import type { ParquetColumn } from './parquet/schema.js';

/** One data row of the input, as the pipeline sees it. */
export interface InputRow {
  /** 0-based data-row ordinal (the header is not a row; blank lines are not rows). */
  ordinal: number;
  /** 1-based line where the row starts, for messages. */
  line: number;
  /** Line where the next row starts; with byteEnd it is where a resumed read begins. */
  nextLine: number;
  byteStart: number;
  byteEnd: number;
  /** The text to classify; absent when the row is bad, or when textBytes holds it and the reader was asked not to decode it (lazyText). */
  text?: string;
  /**
   * The text's UTF-8 bytes, when the reader has them without a copy and they are valid UTF-8: a view of the
   * buffer it read (never reused, so it may be kept; it keeps that buffer alive).
   */
  textBytes?: Buffer;
  /** The pair's second text (--text-pair-column), when one is configured and the row has it. */
  textPair?: string;
  /** The id column's value, when one is configured. */
  id?: string;
  /** Why the row cannot be classified (wrong field count, bad JSON, missing or empty text). */
  error?: string;
  /** The row's text (or its pair's) is empty or only white space: a row with nothing to label, not a broken one. */
  empty?: boolean;
  /** The text's bytes are not valid UTF-8: it was decoded with U+FFFD in place of what could not be. */
  invalidUtf8?: boolean;
  /** The row as read: CSV fields, or the JSONL line without its line ending. Exporters need it. */
  record: string[] | string;
  /** CSV read with `raw` asked, where the fast path read it: the record's bytes as in the file, without its line end. */
  raw?: Buffer;
  /** JSONL: the parsed object (absent when the line is not a JSON object). */
  object?: Record<string, unknown>;
  /** Parquet: the row's values as decoded, in the order of the header's columns (record is '' then). */
  values?: unknown[];
}

/** What a row's `line` counts, as messages name it: a text file's lines, or a Parquet file's rows (it has no lines). */
export type Positions = 'line' | 'row';

export function positionsOf(format: 'csv' | 'jsonl' | 'parquet'): Positions {
  return format === 'parquet' ? 'row' : 'line';
}

/**
 * Where to start reading: row `ordinal` begins at byte `byte`, on line `line`. A format may give byte and
 * line its own meaning (Parquet: byte is the row group; see io/parquet/read.ts).
 */
export interface ReadPosition {
  ordinal: number;
  byte: number;
  line: number;
}

export const START: ReadPosition = { ordinal: 0, byte: 0, line: 1 };

export interface RowSource {
  /** CSV header, Parquet's top-level column names (null for JSONL). */
  header: string[] | null;
  /** Parquet: the header's columns with their types, which a Parquet export keeps. */
  columns?: ParquetColumn[];
  rows: AsyncIterable<InputRow>;
  /** The file's text encoding (CSV, JSONL), which an export written from it keeps; rows hold UTF-8 whatever it is. */
  encoding?: TextEncoding;
  /** Bytes consumed so far (absolute position in the file). */
  bytesRead(): number;
  close(): void;
}

export interface ReaderOptions {
  path: string;
  /** CSV, JSONL: the file's encoding (read as UTF-8 transcoded from it). @default UTF-8 */
  encoding?: TextEncoding;
  textColumn: string;
  /** Column (CSV) or field (JSONL) of a pair's second text; a row without it is bad. */
  textPairColumn?: string;
  idColumn?: string;
  /** CSV only. */
  delimiter?: string;
  relaxQuotes?: boolean;
  /** CSV: keep each record's original bytes (InputRow.raw), for an export that copies them. */
  raw?: boolean;
  /**
   * CSV, Parquet: leave the text undecoded where its valid UTF-8 bytes are at hand (InputRow.textBytes
   * without text; the record, or Parquet's values, hold '' in its place). For a consumer that needs only
   * the bytes: a run whose export copies raw rows or writes Parquet from Parquet, or the export itself,
   * which takes results from the checkpoint.
   */
  lazyText?: boolean;
}

/** A row that cannot be classified carries why, and no text (a text without its pair is not the input). */
export function markBad(row: InputRow, error: string): void {
  row.error = error;
  delete row.text;
  delete row.textBytes;
}

/** A row whose text (or pair) is empty or only white space: error says which field. */
export function markEmpty(row: InputRow, error: string): void {
  markBad(row, error);
  row.empty = true;
}

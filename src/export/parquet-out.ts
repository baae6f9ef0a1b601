/**
 * The scored file as Parquet: every input column with its type (Parquet in: the input's own schema
 * elements; CSV in: strings; JSONL in: the types of the first object's values), then the added prediction
 * columns, typed. Rows are buffered by column and written one row group at a time under the temporary
 * name, which becomes the output's name when the file is complete.
 */
import { rename, rm } from 'node:fs/promises';
import type { SchemaElement } from 'hyparquet';
import { Worker } from 'node:worker_threads';
import { ExportError } from '../errors.js';
import type { JobSettings } from '../job/settings.js';
import type { ParquetCompression } from '../job/options.js';
import type { InputRow } from '../io/index.js';
import type { ParquetColumn } from '../io/parquet/schema.js';
import { needsStoredValues, storedValue } from '../io/parquet/values.js';
import type { StoredRow } from '../store/checkpoint.js';
import { checkClash, type AddedColumns } from './columns.js';
import type { ExportSummary, OutputFile } from './output-file.js';
import { countRow } from './summary.js';

/**
 * A written row group ends at this many rows, or sooner at OUTPUT_ROW_GROUP_CHARS characters of text:
 * ~1,500 reviews (~1.4 kB each), so the group buffered here, its copies on the way to and in the encoder
 * thread and the encoder's buffers stay small beside the input's row group, and readers still get groups
 * worth a seek. Against 4 Mi characters: peak RSS 339 and 334 MiB against 357 and 343 MiB at 2M reviews,
 * for ~5% more CPU (a group's fixed cost on both threads; measured alternating).
 */
export const OUTPUT_ROW_GROUP_ROWS = 10_000;
export const OUTPUT_ROW_GROUP_CHARS = 2 * 1024 * 1024;

/** How one input column is typed in the output and how a row's value becomes that type. */
interface OutColumn {
  name: string;
  schema: SchemaElement[];
  value(row: InputRow, index: number): unknown;
  /** A string column whose values are handed to the encoder as UTF-8 bytes in one buffer (packText). */
  packed?: boolean;
}

export function openParquetOutputFile(
  settings: JobSettings,
  output: string,
  tmp: string,
  compression: ParquetCompression,
  header: string[] | null,
  added: AddedColumns,
  inputColumns: ParquetColumn[] | undefined,
): OutputFile {
  let columns: OutColumn[] | undefined = inputColumns ? fromParquet(inputColumns, settings.textColumn) : header ? fromCsv(header) : undefined;
  const summary: ExportSummary = { rows: 0, labeled: 0, failed: 0, skipped: 0, unlabeled: 0 };
  let buffered: unknown[][] = [];
  let rows = 0;
  /** Characters of text buffered: with rows, what ends a row group. */
  let chars = 0;
  let encoder: Encoder | undefined;

  const start = (cols: OutColumn[]) => {
    checkClash(added.names, cols.map((c) => c.name), settings.columns, settings.input);
    columns = cols;
    buffered = [...cols, ...added.names].map(() => []);
    encoder = startEncoder(tmp, compression, fileSchema(cols, added), [...cols.map((c) => c.name), ...added.names]);
  };
  /** Hands the buffered row group to the encoder; false when it is behind by more than two groups. */
  const flush = (): boolean => {
    if (!encoder || rows === 0) return true;
    encoder.group(buffered, columns!.flatMap((c, i) => (c.packed ? [i] : [])));
    buffered = buffered.map(() => []);
    rows = 0;
    chars = 0;
    return encoder.pending <= 1;
  };
  const count = (result: StoredRow | undefined) => countRow(summary, result);

  return {
    copiesRaw: (_row: InputRow): _row is InputRow & { raw: Buffer } => false,
    addRaw() {
      throw new Error('Parquet export: rows are written from their values, not their bytes');
    },
    add(row, result) {
      if (!columns) start(fromJsonl(row, settings));
      else if (!encoder) start(columns);
      count(result);
      const cols = columns!;
      for (let i = 0; i < cols.length; i++) buffered[i]!.push(cols[i]!.value(row, i));
      const values = added.values(result);
      for (let i = 0; i < values.length; i++) buffered[cols.length + i]!.push(result ? values[i] : null);
      chars += row.text?.length ?? row.textBytes?.length ?? 0;
      return (++rows < OUTPUT_ROW_GROUP_ROWS && chars < OUTPUT_ROW_GROUP_CHARS) || flush();
    },
    drained: () => encoder?.drained() ?? Promise.resolve(),
    async finish() {
      try {
        if (!encoder) start(columns ?? []);
        flush();
        await encoder!.finish();
        await rename(tmp, output);
        return summary;
      } catch (err) {
        await this.abort();
        throw err;
      }
    },
    async abort() {
      await encoder?.stop();
      await rm(tmp, { force: true });
    },
  };
}

function fileSchema(cols: OutColumn[], added: AddedColumns): SchemaElement[] {
  const [label, score, ...rest] = added.names;
  const perLabel = rest.slice(0, -2);
  const [truncated, error] = rest.slice(-2);
  const optional = (name: string, type: SchemaElement['type'], utf8 = false): SchemaElement =>
    utf8 ? { name, type, repetition_type: 'OPTIONAL', converted_type: 'UTF8' } : { name, type, repetition_type: 'OPTIONAL' };
  const addedSchema = [
    optional(label!, 'BYTE_ARRAY', true),
    optional(score!, 'DOUBLE'),
    ...perLabel.map((n) => optional(n, 'DOUBLE')),
    optional(truncated!, 'BOOLEAN'),
    optional(error!, 'BYTE_ARRAY', true),
  ];
  return [{ name: 'root', num_children: cols.length + addedSchema.length }, ...cols.flatMap((c) => c.schema), ...addedSchema];
}

/**
 * Parquet in: the input's schema elements as they are (but INT96), its decoded values written back; the
 * text column (a top-level string column) from the bytes the reader kept, where it kept them.
 */
function fromParquet(columns: ParquetColumn[], textColumn: string): OutColumn[] {
  return columns.map((c) => {
    const schema = c.schema.map(withoutInt96);
    if (c.name === textColumn && schema.length === 1 && schema[0]!.type === 'BYTE_ARRAY') {
      return { name: c.name, schema, packed: true, value: (row, i) => row.textBytes ?? row.values?.[i] ?? null };
    }
    if (needsStoredValues(schema)) return { name: c.name, schema, value: (row, i) => storedValue(row.values?.[i] ?? null) };
    return { name: c.name, schema, value: (row, i) => row.values?.[i] ?? null };
  });
}

/**
 * INT96 (the deprecated timestamps of Spark, Impala and Hive) as a nanosecond INT64 timestamp, as pyarrow
 * reads and writes it back (timestamp[ns], no time zone): hyparquet-writer has no INT96, and the value,
 * to the nanosecond, is the same.
 */
function withoutInt96(e: SchemaElement): SchemaElement {
  if (e.type !== 'INT96') return e;
  return { name: e.name, repetition_type: e.repetition_type, type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'NANOS' } };
}

/** A string column's values as UTF-8 bytes in one buffer, which moves to the encoder thread without a copy. */
export interface PackedText {
  bytes: ArrayBuffer;
  /** Each value's byte length, -1 for null. */
  lengths: Int32Array;
}

/**
 * Packed-text buffers the encoder has written and handed back, for the next groups. A new 2–3 MB buffer a
 * group would be a fresh mmap, faulted in and unmapped, under the batchlabel command's fixed mmap
 * threshold; under glibc's default, freeing it on the encoder's thread lifts the threshold past the 1 MiB
 * pages and windows, which then stay in the arenas (see BENCHMARKS.md).
 */
export interface TextBuffers {
  /** A buffer of at least `size` bytes. */
  take(size: number): ArrayBuffer;
  give(buffer: ArrayBuffer): void;
}

/** Groups in flight: one being filled, two with the encoder (flush holds it to that). */
const KEPT_TEXT_BUFFERS = 3;
/** Room over a group's size, so the next group (a few reviews longer) fits the same buffer. */
const TEXT_BUFFER_SLACK = 1.25;

function textBuffers(): TextBuffers {
  const free: ArrayBuffer[] = [];
  return {
    take(size) {
      const i = free.findIndex((b) => b.byteLength >= size);
      if (i >= 0) return free.splice(i, 1)[0]!;
      free.pop(); // too small for the groups now coming: let it go
      return new ArrayBuffer(Math.ceil(size * TEXT_BUFFER_SLACK));
    },
    give(buffer) {
      if (free.length < KEPT_TEXT_BUFFERS) free.push(buffer);
    },
  };
}

/**
 * Packs `values` (bytes, strings, nulls) for the encoder; undefined if one is of another type. Posting the
 * strings instead costs their copy into the message, their copy out of it on the encoder thread, and their
 * UTF-8 encoding there (~2 s per 500,000 reviews of the encoder's ~14 s, measured with --cpu-prof).
 */
function packText(values: unknown[], buffers: TextBuffers): PackedText | undefined {
  const lengths = new Int32Array(values.length);
  let size = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const n = v === null || v === undefined ? -1 : v instanceof Uint8Array ? v.byteLength : typeof v === 'string' ? Buffer.byteLength(v) : undefined;
    if (n === undefined) return undefined;
    lengths[i] = n;
    if (n > 0) size += n;
  }
  const bytes = Buffer.from(buffers.take(size));
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v instanceof Uint8Array) {
      bytes.set(v, at);
      at += v.byteLength;
    } else if (typeof v === 'string') at += bytes.write(v, at);
  }
  return { bytes: bytes.buffer as ArrayBuffer, lengths };
}

/** The encoder's side of packText. */
export function unpackText({ bytes, lengths }: PackedText): (Uint8Array | null)[] {
  const out = new Array<Uint8Array | null>(lengths.length);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    const n = lengths[i]!;
    if (n < 0) out[i] = null;
    else {
      out[i] = new Uint8Array(bytes, at, n);
      at += n;
    }
  }
  return out;
}

function fromCsv(header: string[]): OutColumn[] {
  return header.map((name) => ({
    name,
    schema: [{ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }],
    value: (row, i) => (Array.isArray(row.record) ? (row.record[i] ?? null) : null),
  }));
}

/**
 * JSONL in: the first object's fields, each typed by its value there (string, double, boolean; objects
 * and arrays as JSON text). A later value of another type stops the export rather than being changed.
 */
function fromJsonl(first: InputRow, settings: JobSettings): OutColumn[] {
  if (!first.object) throw new ExportError(`${settings.input}: the first line is not a JSON object, so there are no columns to write as Parquet. Export as JSONL instead (--output-format jsonl).`);
  return Object.entries(first.object).map(([name, sample]) => {
    const kind = typeof sample === 'string' ? 'string' : typeof sample === 'number' ? 'number' : typeof sample === 'boolean' ? 'boolean' : 'json';
    const schema: SchemaElement =
      kind === 'string' ? { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }
      : kind === 'number' ? { name, type: 'DOUBLE', repetition_type: 'OPTIONAL' }
      : kind === 'boolean' ? { name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' }
      : { name, type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' };
    return {
      name,
      schema: [schema],
      value: (row) => {
        const v = row.object?.[name];
        if (v === undefined || v === null) return null;
        if (kind === 'json') return v; // the writer writes it as JSON text
        if (typeof v !== kind) {
          throw new ExportError(`${settings.input} line ${row.line}: field "${name}" is a ${typeof v} here but a ${kind} in the first line, and a Parquet column has one type. Export as JSONL or CSV instead.`);
        }
        return v;
      },
    };
  });
}

/** The encoder thread (parquet-writer-worker.ts), seen from the run's thread. */
interface Encoder {
  /** Row groups handed over and not written yet. */
  readonly pending: number;
  /** A row group's columns; those at `packed` (string columns) go over as UTF-8 bytes. */
  group(columns: unknown[][], packed: number[]): void;
  /** Resolves once at most one group is pending; rejects if the encoder failed. */
  drained(): Promise<void>;
  /** Writes the footer; resolves when the file is complete. */
  finish(): Promise<void>;
  stop(): Promise<void>;
}

function startEncoder(tmp: string, compression: ParquetCompression, schema: SchemaElement[], names: string[]): Encoder {
  const worker = new Worker(new URL('./parquet-writer-worker.js', import.meta.url), {
    workerData: { tmp, compression, schema, names },
    // A small young generation: the encoder's garbage is collected early instead of growing the heap.
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
  });
  let pending = 0;
  let failure: Error | undefined;
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  let finished = false;
  const buffers = textBuffers();
  worker.on('message', (msg: { type: string; message?: string; spent?: ArrayBuffer[] }) => {
    if (msg.type === 'written') {
      pending--;
      for (const b of msg.spent ?? []) buffers.give(b);
    } else if (msg.type === 'finished') finished = true;
    else if (msg.type === 'error') failure ??= new ExportError(`cannot write the Parquet export ${tmp}: ${msg.message}`);
    wake();
  });
  worker.on('error', (err) => {
    failure ??= err;
    wake();
  });
  worker.on('exit', () => {
    if (!finished) failure ??= new ExportError(`the Parquet encoder stopped before ${tmp} was complete`);
    wake();
  });
  const wait = (done: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const check = () => (failure ? reject(failure) : done() ? resolve() : waiters.push(check));
      check();
    });
  return {
    get pending() {
      return pending;
    },
    group(columns, packed) {
      pending++;
      const transfer: ArrayBuffer[] = [];
      const sent: (unknown[] | PackedText)[] = columns.map((values, i) => {
        const p = packed.includes(i) ? packText(values, buffers) : undefined;
        if (!p) return values;
        transfer.push(p.bytes, p.lengths.buffer as ArrayBuffer);
        return p;
      });
      worker.postMessage({ type: 'group', columns: sent }, transfer);
    },
    drained: () => wait(() => pending === 0),
    async finish() {
      await wait(() => pending === 0);
      worker.postMessage({ type: 'finish' });
      await wait(() => finished);
      await worker.terminate();
    },
    async stop() {
      await worker.terminate();
    },
  };
}

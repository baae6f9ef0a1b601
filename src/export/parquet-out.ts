/**
 * The scored file as Parquet: every input column with its type (Parquet in: the input's own schema
 * elements; CSV in: strings; JSONL in: the types of the first object's values), then the added prediction
 * columns, typed. Rows are buffered by column and written one row group at a time under the temporary
 * name, which becomes the output's name when the file is complete.
 */
import { rename, rm } from 'node:fs/promises';
import type { SchemaElement } from 'hyparquet';
import { fileWriter, ParquetWriter, type Writer } from 'hyparquet-writer';
import { ExportError } from '../errors.js';
import type { JobSettings } from '../job/settings.js';
import type { InputRow } from '../readers/index.js';
import type { ParquetColumn } from '../readers/parquet-schema.js';
import type { StoredRow } from '../store/checkpoint.js';
import { checkClash, type AddedColumns } from './columns.js';
import type { ExportSummary, OutputFile } from './output-file.js';

/**
 * Rows per written row group: ~13 MB of decoded reviews (~1.3 kB each), so the buffered group stays small
 * beside the input's, and readers still get groups large enough to scan fast.
 */
export const OUTPUT_ROW_GROUP_ROWS = 10_000;

/** How one input column is typed in the output and how a row's value becomes that type. */
interface OutColumn {
  name: string;
  schema: SchemaElement[];
  value(row: InputRow, index: number): unknown;
}

export function openParquetOutputFile(
  settings: JobSettings,
  output: string,
  tmp: string,
  header: string[] | null,
  added: AddedColumns,
  inputColumns: ParquetColumn[] | undefined,
): OutputFile {
  let columns: OutColumn[] | undefined = inputColumns ? fromParquet(inputColumns) : header ? fromCsv(header) : undefined;
  const summary: ExportSummary = { rows: 0, labeled: 0, failed: 0, unlabeled: 0 };
  let buffered: unknown[][] = [];
  let rows = 0;
  let writer: Writer | undefined;
  let parquet: ParquetWriter | undefined;

  const start = (cols: OutColumn[]) => {
    checkClash(added.names, cols.map((c) => c.name), settings.columns, settings.input);
    columns = cols;
    buffered = [...cols, ...added.names].map(() => []);
    writer = fileWriter(tmp);
    parquet = new ParquetWriter({ writer, schema: fileSchema(cols, added), createdBy: 'batchlabel' });
  };
  const flush = () => {
    if (!parquet || rows === 0) return;
    const names = [...columns!.map((c) => c.name), ...added.names];
    // Sync writes: the writer flushes each row group to the file before it returns.
    void parquet.write({ columnData: names.map((name, i) => ({ name, data: buffered[i]! })), rowGroupSize: rows });
    buffered = buffered.map(() => []);
    rows = 0;
  };
  const count = (result: StoredRow | undefined) => {
    summary.rows++;
    if (!result) summary.unlabeled++;
    else if (result.status === 1) summary.labeled++;
    else summary.failed++;
  };

  return {
    copiesRaw: (row: InputRow): row is InputRow & { raw: Buffer } => false,
    addRaw() {
      throw new Error('Parquet export: rows are written from their values, not their bytes');
    },
    add(row, result) {
      if (!columns) start(fromJsonl(row, settings));
      else if (!parquet) start(columns);
      count(result);
      const cols = columns!;
      for (let i = 0; i < cols.length; i++) buffered[i]!.push(cols[i]!.value(row, i));
      const values = added.values(result);
      for (let i = 0; i < values.length; i++) buffered[cols.length + i]!.push(result ? values[i] : null);
      if (++rows >= OUTPUT_ROW_GROUP_ROWS) flush();
      return true;
    },
    drained: async () => {},
    async finish() {
      try {
        if (!parquet) start(columns ?? []);
        flush();
        await parquet!.finish();
        await rename(tmp, output);
        return summary;
      } catch (err) {
        await this.abort();
        throw err;
      }
    },
    async abort() {
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

/** Parquet in: the input's schema elements as they are, its decoded values written back. */
function fromParquet(columns: ParquetColumn[]): OutColumn[] {
  return columns.map((c) => ({ name: c.name, schema: c.schema, value: (row, i) => row.values?.[i] ?? null }));
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

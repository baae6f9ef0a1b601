/**
 * Parquet input, read row group by row group: memory holds one decoded row group, never the file.
 *
 * The resume cursor. A Parquet row is found by (row group, row in it), not by a byte offset, so the
 * reader gives ReadPosition's fields its own meaning: `byte` is the row group's index (counted across
 * every file of the input, in order), and `ordinal` locates the row inside it (the group's first ordinal
 * comes from the footers, which are read anyway). `line` is the 1-based row number, which is what
 * messages show. A resumed read decodes only the row group it starts in: the finished ones before it are
 * skipped without being read.
 */
import { isUtf8 } from 'node:buffer';
import type { FileMetaData } from 'hyparquet';
import { getSchemaPath } from 'hyparquet/src/schema.js';
import { InputError } from '../../errors.js';
import { isBlank, isBlankUtf8 } from '../blank.js';
import { getPath } from '../jsonl.js';
import { openParquetFile, type ParquetFile } from './file.js';
import { parquetDecompressors } from './codecs.js';
import { groupRows, isStringColumn, type GroupRows, type RowBatch } from './pages.js';
import { parquetColumns, type ParquetColumn } from './schema.js';
import { ExactDecimal, PreciseTimestamp, TimeOfDay } from './values.js';
import type { InputRow, ReadPosition, ReaderOptions, RowSource } from '../types.js';
import { markEmpty } from '../types.js';

/** One row group of the input: where its rows start (ordinal) and where its bytes end (for progress). */
interface GroupRef {
  file: ParquetFile;
  index: number;
  firstOrdinal: number;
  rows: number;
  /** The group's first row within its file. */
  fileRowStart: number;
  /** Bytes of the input (all files) up to the end of this group's column chunks. */
  bytesEnd: number;
}

/** Opens `files` (one file, or the shards of a Hub split) as one input, at `from`. */
export async function openParquet(opts: ReaderOptions, from: ReadPosition, files: string[] = [opts.path]): Promise<RowSource> {
  const opened: ParquetFile[] = [];
  try {
    for (const f of files) opened.push(await openParquetFile(f));
  } catch (err) {
    await Promise.all(opened.map((f) => f.close()));
    throw err;
  }
  const close = () => void Promise.all(opened.map((f) => f.close())).catch(() => {});
  try {
    const columns = parquetColumns(opened[0]!.metadata);
    for (const f of opened.slice(1)) checkSameColumns(columns, parquetColumns(f.metadata), opened[0]!.path, f.path);
    const header = columns.map((c) => c.name);
    const textPlace = columnPlace(header, opts.textColumn, opts.path, '--text-column');
    const text = columnPicker(textPlace);
    const bytesAreText = holdsByteArrays(opened[0]!.metadata, header, textPlace);
    // A text column of strings at the top level is read as bytes (a field inside a struct is assembled by hyparquet).
    const at = header.indexOf(opts.textColumn);
    const textIndex = at >= 0 && columns[at]!.schema.length === 1 && isStringColumn(columns[at]!.schema[0]!) ? at : undefined;
    const lazy = opts.lazyText === true && opts.idColumn !== opts.textColumn;
    const id = opts.idColumn === undefined ? undefined : columnPicker(columnPlace(header, opts.idColumn, opts.path, '--id-column'));
    const groups = rowGroups(opened);
    const start = startGroup(groups, from, opts.path);
    let consumed = start < groups.length ? (start > 0 ? groups[start - 1]!.bytesEnd : 0) : (groups.at(-1)?.bytesEnd ?? 0);

    async function* rows(): AsyncGenerator<InputRow> {
      for (let g = start; g < groups.length; g++) {
        const group = groups[g]!;
        const skip = g === start ? from.ordinal - group.firstOrdinal : 0;
        const rows = await openGroup(group, skip, textIndex);
        consumed = group.bytesEnd;
        let i = skip;
        for (let batch = await decoded(group, rows); batch.rows.length; batch = await decoded(group, rows)) {
          for (let k = 0; k < batch.rows.length; k++) {
            const values = batch.rows[k]!;
            const ordinal = group.firstOrdinal + i;
            const row: InputRow = {
              ordinal,
              line: ordinal + 1,
              nextLine: ordinal + 2,
              byteStart: g,
              byteEnd: ++i === group.rows ? g + 1 : g,
              record: '',
              values,
            };
            if (textIndex === undefined) fillText(row, values, text, opts.textColumn, bytesAreText);
            else textFromBytes(row, values, textIndex, text, lazy, opts.textColumn);
            if (id) row.id = idText(id(values));
            yield row;
          }
        }
      }
    }
    return { header, columns, rows: rows(), bytesRead: () => consumed, close };
  } catch (err) {
    close();
    throw err;
  }
}

async function openGroup(group: GroupRef, skip: number, textIndex: number | undefined): Promise<GroupRows> {
  try {
    return await groupRows(group, skip, parquetDecompressors, textIndex);
  } catch (err) {
    throw decodeError(group, err);
  }
}

/** The group's next rows as they are decoded; a page that cannot be decoded is the input's error. */
async function decoded(group: GroupRef, rows: GroupRows): Promise<RowBatch> {
  try {
    return await rows.next();
  } catch (err) {
    throw decodeError(group, err);
  }
}

function decodeError(group: GroupRef, err: unknown): Error {
  if (err instanceof InputError) return err;
  return new InputError(`${group.file.path}: cannot decode row group ${group.index}: ${(err as Error).message}`);
}

function rowGroups(files: ParquetFile[]): GroupRef[] {
  const groups: GroupRef[] = [];
  let ordinal = 0;
  let bytesBefore = 0;
  for (const file of files) {
    let fileRow = 0;
    file.metadata.row_groups.forEach((rg, index) => {
      const rows = Number(rg.num_rows);
      let end = 0;
      for (const c of rg.columns) {
        const m = c.meta_data;
        if (m) end = Math.max(end, Number(m.dictionary_page_offset ?? m.data_page_offset) + Number(m.total_compressed_size));
      }
      groups.push({ file, index, firstOrdinal: ordinal, rows, fileRowStart: fileRow, bytesEnd: bytesBefore + Math.min(end, file.size) });
      ordinal += rows;
      fileRow += rows;
    });
    bytesBefore += file.size;
  }
  return groups;
}

/** The group a resumed read starts in; the checkpoint's cursor must agree with the file's footers. */
function startGroup(groups: GroupRef[], from: ReadPosition, where: string): number {
  const g = from.byte;
  const total = groups.length ? groups.at(-1)!.firstOrdinal + groups.at(-1)!.rows : 0;
  if (g === groups.length && from.ordinal === total) return g;
  const group = groups[g];
  if (!Number.isInteger(g) || !group || from.ordinal < group.firstOrdinal || from.ordinal > group.firstOrdinal + group.rows) {
    throw new InputError(`${where}: the checkpoint's position (row ${from.ordinal}, row group ${g}) is not in this file's row groups. Label it again with \`batchlabel run --restart\`.`);
  }
  // A cursor just past a group's last row starts the next group.
  return from.ordinal === group.firstOrdinal + group.rows ? g + 1 : g;
}

/** Reads a column (or a field inside a struct column, by dotted path) out of a row's values. */
type Picker = (values: unknown[]) => unknown;

/** Where `name` is: a column, or the first column its dotted path starts with and the path inside it. */
interface ColumnPlace {
  index: number;
  field?: string;
}

function columnPlace(header: string[], name: string, where: string, flag: string): ColumnPlace {
  const exact = header.indexOf(name);
  if (exact >= 0) return { index: exact };
  const dot = name.indexOf('.');
  for (let cut = dot; cut > 0; cut = name.indexOf('.', cut + 1)) {
    const i = header.indexOf(name.slice(0, cut));
    if (i >= 0) return { index: i, field: name.slice(cut + 1) };
  }
  throw new InputError(`${where}: no column "${name}". Columns: ${header.map((h) => JSON.stringify(h)).join(', ')}. Pass the right one with ${flag} (a field inside a struct column by dotted path, e.g. meta.body).`);
}

function columnPicker({ index, field }: ColumnPlace): Picker {
  return field === undefined ? (values) => values[index] : (values) => getPath(values[index], field);
}

/**
 * Whether the place holds BYTE_ARRAY values (strings, or plain bytes older writers used for them), read
 * as text when they come as bytes; a FIXED_LEN_BYTE_ARRAY is binary, a bad row as text.
 */
function holdsByteArrays(metadata: FileMetaData, header: string[], { index, field }: ColumnPlace): boolean {
  const name = [header[index]!, ...(field === undefined ? [] : field.split('.'))];
  try {
    return getSchemaPath(metadata.schema, name).at(-1)!.element.type === 'BYTE_ARRAY';
  } catch {
    return false; // a path getPath reads as one key with dots in it: left as it comes
  }
}

const utf8 = new TextDecoder();

/**
 * The text from the text column's bytes (values[index]): its bytes kept when they are valid UTF-8 (else the
 * string, with U+FFFD, is what is labeled), as the run hashes and sends them and a Parquet export writes
 * them back without encoding the string again (~1.4 s of the encoder thread per 500,000 reviews, measured
 * with --cpu-prof). `lazy`: valid bytes are not decoded (values hold '' in their place), for a run that
 * needs only them (~0.7 s of the run's thread per 500,000 reviews and a string per row in flight).
 */
function textFromBytes(row: InputRow, values: unknown[], index: number, pick: Picker, lazy: boolean, column: string): void {
  const b = values[index];
  if (!(b instanceof Uint8Array)) return fillText(row, values, pick, column, true);
  const bytes = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const valid = isUtf8(bytes);
  if (lazy && valid && !isBlankUtf8(bytes)) {
    values[index] = '';
    row.textBytes = bytes;
    return;
  }
  values[index] = utf8.decode(bytes);
  fillText(row, values, pick, column, true);
  if (row.text === undefined) return;
  if (valid) row.textBytes = bytes;
  else row.invalidUtf8 = true;
}

/** `bytesAreText`: the place holds BYTE_ARRAY values (holdsByteArrays), so bytes there are text, as the top-level column's are. */
function fillText(row: InputRow, values: unknown[], pick: Picker, column: string, bytesAreText: boolean): void {
  let value = pick(values);
  if (value instanceof Uint8Array && bytesAreText) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    value = utf8.decode(bytes);
    if (!isUtf8(bytes)) row.invalidUtf8 = true;
  }
  if (typeof value === 'string') {
    if (isBlank(value)) markEmpty(row, `empty text in column "${column}"`);
    else row.text = value;
  } else if (value === null || value === undefined) row.error = `no text in column "${column}" (null)`;
  else row.error = `column "${column}" holds ${describe(value)}, not a string`;
}

function describe(value: unknown): string {
  if (typeof value === 'bigint' || typeof value === 'number') return `a number (${String(value)})`;
  if (typeof value === 'boolean') return `a boolean (${String(value)})`;
  if (value instanceof Uint8Array) return `${value.length} bytes of binary`;
  if (value instanceof ExactDecimal) return `a number (${value.toString()})`;
  if (value instanceof Date || value instanceof PreciseTimestamp) return 'a date';
  if (value instanceof TimeOfDay) return `a time (${value.toString()})`;
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

function idText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value instanceof ExactDecimal) return value.toString();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return undefined;
}

function checkSameColumns(a: ParquetColumn[], b: ParquetColumn[], pathA: string, pathB: string): void {
  const sig = (cs: ParquetColumn[]) => JSON.stringify(cs.map((c) => [c.name, c.schema.map((e) => [e.name, e.type ?? null, e.num_children ?? 0])]));
  if (sig(a) !== sig(b)) throw new InputError(`${pathB}: its columns differ from ${pathA}'s, so the two cannot be read as one input. Label them as separate jobs.`);
}

/**
 * A row group's rows, decoded a page at a time. A flat column (a leaf at the top level: strings, numbers,
 * dates, bytes, optional or not) is read page by page: a page is decompressed and decoded when the row it
 * holds is reached, and dropped once its rows are handed out, so a group of 100 MB of reviews costs a
 * window of compressed bytes and one decoded page per column instead of every decoded value at once. Nested columns
 * (structs, lists, maps) are assembled by hyparquet for the whole group, as they need every level of the
 * group's pages.
 */
import { parquetRead, parquetSchema, type CompressionCodec, type Compressors, type DecodedArray, type FileMetaData, type SchemaElement } from 'hyparquet';
import { parquetHeader, readPage } from 'hyparquet/src/column.js';
import { convert } from 'hyparquet/src/convert.js';
import { getTreePath, isFlatColumn, isListLike, isMapLike } from 'hyparquet/src/schema.js';
import type { ColumnDecoder, ColumnMetaData, DataReader, PageHeader, SchemaTree } from 'hyparquet/src/types.js';
import { decompressElsewhere } from './decompress.js';
import { PARSERS, rawValueOf, withoutDecimal } from './values.js';
import type { ParquetFile } from './file.js';

/** Where a row group sits: which group of which file, its first row in the file, its rows. */
export interface GroupSlice {
  file: ParquetFile;
  index: number;
  fileRowStart: number;
  rows: number;
}

/**
 * Compressed bytes read from a column chunk at a time: a few pages, not the chunk (a 100 MB group of
 * reviews holds ~35 MB of zstd text), so the bytes of a group being read cost a window per column.
 */
const WINDOW_BYTES = 1024 * 1024;

/** One top-level column of the group, handing out its values in row order. */
interface ColumnCursor {
  /** Makes the current page's values available (reading and decoding the next page if this one is used up). */
  ready(): Promise<void> | undefined;
  /** Values left in the current page, at least 1 once ready() settled (unless the group is done). */
  left(): number;
  next(): unknown;
  /** Passes over `rows` rows; whole pages before them are not decompressed. */
  skip(rows: number): Promise<void>;
}

/** Rows of a group: each row's values in the file's column order (the kept string column's as UTF-8 bytes). */
export interface RowBatch {
  rows: unknown[][];
}

/** The group's rows, a batch at a time (up to where the first column's page ends). */
export interface GroupRows {
  /** The next rows; none at the group's end. */
  next(): Promise<RowBatch>;
}

/**
 * The group's rows from row `skip` on. `keepBytes` names a top-level string column (isStringColumn) whose
 * values are handed out as their UTF-8 bytes (views of the decompressed page, no copy), null for a null:
 * the text, which the run sends and hashes as bytes and a Parquet export writes back as they are; the
 * reader decodes it where a string is needed. `compressors`: the codecs, loaded only for nested columns
 * (flat ones are decompressed on the decompression thread, so the run's thread holds no codec memory).
 */
export async function groupRows(group: GroupSlice, skip: number, compressors: () => Compressors, keepBytes?: number): Promise<GroupRows> {
  const { metadata } = group.file;
  const rowGroup = metadata.row_groups[group.index]!;
  const tree = parquetSchema(metadata);
  const top = tree.children;
  const cursors: ColumnCursor[] = new Array(top.length);
  const nested: number[] = [];
  top.forEach((child, i) => {
    const path = getTreePath(tree, [child.element.name]);
    if (!isFlatColumn(path)) {
      nested.push(i);
      return;
    }
    const chunk = rowGroup.columns.find((c) => c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === child.element.name);
    if (!chunk?.meta_data) throw new Error(`no column chunk for column "${child.element.name}"`);
    if (chunk.file_path) throw new Error('column chunks in other files are not supported');
    const meta = chunk.meta_data;
    // No codecs here: compressed pages are decompressed on the decompression thread.
    const decoder: ColumnDecoder = { pathInSchema: meta.path_in_schema, element: child.element, schemaPath: path, type: meta.type, codec: meta.codec, parsers: PARSERS, utf8: false, compressors: {} };
    const chunkBytes = new ChunkBytes(group.file, meta);
    const finish = rawValueOf(child.element);
    if (i === keepBytes) cursors[i] = flatColumn(chunkBytes, asBytes(decoder));
    else if (finish) cursors[i] = flatColumn(chunkBytes, { ...decoder, element: withoutDecimal(child.element) }, finish);
    else cursors[i] = flatColumn(chunkBytes, decoder);
  });
  if (nested.length) (await nestedColumns(group, skip, compressors(), metadata, nested.map((i) => top[i]!))).forEach((c, k) => (cursors[nested[k]!] = c));
  await Promise.all(cursors.map((c, i) => (nested.includes(i) ? undefined : c.skip(skip))));
  let remaining = group.rows - skip;
  return {
    async next() {
      if (remaining <= 0) return { rows: [] };
      for (const c of cursors) await c.ready();
      let n = remaining;
      for (const c of cursors) n = Math.min(n, c.left());
      remaining -= n;
      const rows: unknown[][] = new Array(n);
      for (let r = 0; r < n; r++) {
        const values = new Array<unknown>(cursors.length);
        for (let c = 0; c < cursors.length; c++) values[c] = cursors[c]!.next();
        rows[r] = values;
      }
      return { rows };
    },
  };
}

/** A column chunk's compressed bytes, read a window at a time as its pages are reached. */
class ChunkBytes {
  /** File position of the next byte to parse. */
  pos: number;
  private readonly end: number;
  private winStart = 0;
  private view = new DataView(new ArrayBuffer(0));

  constructor(
    private readonly file: ParquetFile,
    meta: ColumnMetaData,
  ) {
    this.pos = Number(meta.dictionary_page_offset || meta.data_page_offset);
    this.end = this.pos + Number(meta.total_compressed_size);
  }

  get atEnd(): boolean {
    return this.pos >= this.end - 1;
  }

  /** Whether the window holds [pos, pos + n) (or the rest of the chunk). */
  holds(n: number): boolean {
    return this.winStart + this.view.byteLength >= Math.min(this.end, this.pos + n) && this.pos >= this.winStart;
  }

  /** Reads a window from pos on, at least `n` bytes (or to the chunk's end). */
  async fill(n: number): Promise<void> {
    const stop = Math.min(this.end, this.pos + Math.max(n, WINDOW_BYTES));
    this.view = new DataView(await this.file.buffer.slice(this.pos, stop));
    this.winStart = this.pos;
  }

  /** A reader at pos inside the window; advance pos by what it read with done(). */
  reader(): DataReader {
    return { view: this.view, offset: this.pos - this.winStart };
  }

  done(reader: DataReader): void {
    this.pos = this.winStart + reader.offset;
  }

  /** Whether the window reaches the chunk's end (a header cut off there is a broken file, not a short window). */
  get windowToEnd(): boolean {
    return this.winStart + this.view.byteLength >= this.end;
  }
}

/** A page header is far below this (its statistics included); a header that does not fit is read again with more. */
const HEADER_BYTES = 64 * 1024;

/**
 * A column the run may read its text from as bytes: a string column, or a plain BYTE_ARRAY (older Impala
 * and Hive wrote strings without the annotation; bytes that are not UTF-8 are then labeled as decoded and
 * counted in the run's notice of invalid UTF-8).
 */
export function isStringColumn(element: SchemaElement): boolean {
  return element.type === 'BYTE_ARRAY' && (element.converted_type === 'UTF8' || element.logical_type?.type === 'STRING' || (element.converted_type === undefined && element.logical_type === undefined));
}

/** The decoder of a string column that leaves its values as bytes. */
function asBytes(decoder: ColumnDecoder): ColumnDecoder {
  const { converted_type: _c, logical_type: _l, ...element } = decoder.element;
  return { ...decoder, element, utf8: false };
}

/** A data page read out of the window: its header, its bytes, and its decompression under way elsewhere. */
interface PageRead {
  header: PageHeader;
  body: Uint8Array;
  decompressed?: Promise<Uint8Array>;
}

/**
 * A flat column chunk's values, one page decoded at a time, the next page's decompression started on the
 * decompression thread when a page is decoded. `finish` makes each decoded value the reader's (rawValueOf).
 */
function flatColumn(bytes: ChunkBytes, decoder: ColumnDecoder, finish?: (raw: unknown) => unknown): ColumnCursor {
  let dictionary: DecodedArray | undefined;
  let page: DecodedArray = [];
  let at = 0;
  /** What the decompression thread returned for the page being decoded: readPage's decompressor hands it over. */
  let decompressed: Uint8Array | undefined;
  const fromThread: ColumnDecoder = {
    ...decoder,
    compressors: {
      [decoder.codec]: () => {
        const d = decompressed!;
        decompressed = undefined;
        return d;
      },
    },
  };
  const name = decoder.pathInSchema.join('.');
  /** The next page's header, with the page's bytes in the window. */
  const header = async (): Promise<PageHeader> => {
    if (bytes.atEnd) throw new Error(`column "${name}" ended before the row group's last row`);
    for (let want = HEADER_BYTES; ; want *= 4) {
      if (!bytes.holds(want)) await bytes.fill(want);
      const reader = bytes.reader();
      let h: PageHeader;
      try {
        h = parquetHeader(reader);
      } catch (err) {
        if (bytes.windowToEnd) throw err;
        continue;
      }
      const size = reader.offset - bytes.reader().offset + h.compressed_page_size;
      if (!bytes.holds(size)) {
        await bytes.fill(size);
        continue;
      }
      bytes.done(reader);
      return h;
    }
  };
  /** The next data page (a dictionary page on the way is loaded); one of at most `skipRows` rows is passed over undecoded (its row count returned). */
  const readNext = async (skipRows: number): Promise<PageRead | number> => {
    for (;;) {
      const h = await header();
      const reader = bytes.reader();
      const body = new Uint8Array(reader.view.buffer, reader.view.byteOffset + reader.offset, h.compressed_page_size);
      reader.offset += h.compressed_page_size;
      bytes.done(reader);
      if (h.type === 'DICTIONARY_PAGE') {
        await decode({ header: h, body, decompressed: startDecompression(h, body, decoder.codec) }, (data) => (dictionary = convert(data, decoder)));
        continue;
      }
      const rows = h.data_page_header?.num_values ?? h.data_page_header_v2?.num_rows ?? 0;
      // A page wholly before the start: passed over without being decompressed.
      if (rows <= skipRows) return rows;
      return { header: h, body, decompressed: startDecompression(h, body, decoder.codec) };
    }
  };
  let ahead: Promise<PageRead | number> | undefined;
  /** Decodes a page (with the dictionary loaded so far) and hands its values to `use`. */
  const decode = async (read: PageRead, use: (data: DecodedArray) => void) => {
    const d = read.decompressed ? await read.decompressed : undefined;
    const reader = { view: new DataView(read.body.buffer, read.body.byteOffset, read.body.byteLength), offset: 0 };
    decompressed = d;
    use(readPage(reader, read.header, d ? fromThread : decoder, dictionary, undefined, 0).data ?? []);
  };
  const usePage = (data: DecodedArray) => {
    page = finish ? Array.from(data, finish) : data;
    at = 0;
  };
  /** Loads the next page, from the one read ahead; starts reading the one after. */
  const load = async () => {
    const read = (await (ahead ?? readNext(0))) as PageRead;
    ahead = bytes.atEnd ? undefined : readNext(0);
    // Seen when it is needed; unseen if the group ends first.
    ahead?.catch(() => {});
    await decode(read, usePage);
  };
  return {
    ready: () => (at < page.length ? undefined : load()),
    left: () => page.length - at,
    next: () => page[at++],
    async skip(rows) {
      let left = rows;
      while (left > 0) {
        if (at < page.length) {
          const n = Math.min(left, page.length - at);
          at += n;
          left -= n;
          continue;
        }
        const read = await readNext(left);
        if (typeof read === 'number') left -= read;
        else await decode(read, usePage);
      }
    },
  };
}

/**
 * Starts decompressing a data page's compressed part on the decompression thread (a copy of it: the window
 * stays whole); undefined when the page is stored uncompressed.
 */
function startDecompression(h: PageHeader, body: Uint8Array, codec: CompressionCodec): Promise<Uint8Array> | undefined {
  if (codec === 'UNCOMPRESSED') return undefined;
  const v2 = h.data_page_header_v2;
  if (v2) {
    if (v2.is_compressed === false) return undefined;
    const levels = v2.repetition_levels_byte_length + v2.definition_levels_byte_length;
    return decompressElsewhere(codec, body.subarray(levels), h.uncompressed_page_size - levels);
  }
  return decompressElsewhere(codec, body, h.uncompressed_page_size);
}

/**
 * The nested columns, assembled by hyparquet for the rows of the group from `skip` on. DECIMAL fields are
 * read as their raw integers (the annotation taken off the schema hyparquet reads); they and TIME fields
 * are made the reader's values by the column's schema afterwards (rawValueOf), as at the top level.
 */
async function nestedColumns(group: GroupSlice, skip: number, compressors: Compressors, metadata: FileMetaData, nodes: SchemaTree[]): Promise<ColumnCursor[]> {
  const names = nodes.map((n) => n.element.name);
  const raw = nodes.map(holdsRawValues);
  let rows: unknown[][] = [];
  await parquetRead({
    file: group.file.buffer,
    metadata: raw.includes(true) ? { ...metadata, schema: metadata.schema.map(withoutDecimal) } : metadata,
    columns: names,
    rowStart: group.fileRowStart + skip,
    rowEnd: group.fileRowStart + group.rows,
    compressors,
    parsers: PARSERS,
    utf8: false,
    onComplete: (r) => (rows = r),
  });
  const columns = names.map((_, k) => rows.map((r) => (raw[k] ? finishNested(nodes[k]!, r[k]) : r[k])));
  rows = [];
  return columns.map((values) => {
    let i = 0;
    return { ready: () => undefined, left: () => values.length - i, next: () => values[i++], skip: () => Promise.resolve() };
  });
}

function holdsRawValues(node: SchemaTree): boolean {
  return rawValueOf(node.element) !== undefined || node.children.some(holdsRawValues);
}

/** A nested value read without DECIMAL annotations, its DECIMAL and TIME leaves made the reader's values by the schema. */
function finishNested(node: SchemaTree, v: unknown, repeated = node.element.repetition_type === 'REPEATED'): unknown {
  if (v === null || v === undefined) return v;
  if (repeated && Array.isArray(v)) return v.map((x) => finishNested(node, x, false));
  if (!node.children.length) return rawValueOf(node.element)?.(v) ?? v;
  if (isListLike(node)) {
    const list = node.children[0]!;
    const item = list.children.length === 1 ? list.children[0]! : list;
    return (v as unknown[]).map((x) => finishNested(item, x, false));
  }
  if (isMapLike(node)) {
    const value = node.children[0]!.children.find((c) => c.element.name === 'value')!;
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, finishNested(value, x)]));
  }
  const out: Record<string, unknown> = {};
  for (const child of node.children) out[child.element.name] = finishNested(child, (v as Record<string, unknown>)[child.element.name]);
  return out;
}

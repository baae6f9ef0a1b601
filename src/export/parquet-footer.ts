/**
 * The Parquet export's footer, kept as bytes. hyparquet-writer keeps every row group's metadata as objects
 * until the file is complete (each column chunk's offsets and sizes as BigInts, its encodings, path and
 * statistics: ~1 kB a chunk), so the encoder's heap grew by ~12 MiB over 2M reviews (per-thread
 * process.memoryUsage()). Here each row group is serialized as soon as it is written, as the footer will
 * hold it (~0.1 kB a chunk), and the writer lets go of it.
 *
 * The bytes are hyparquet-writer's own: a row group is cut out of the file metadata it serializes with that
 * group alone, and the footer is the metadata with no row groups, the groups' bytes put into its list.
 */
import type { FileMetaData, RowGroup, SchemaElement } from 'hyparquet';
import { ByteWriter, type ParquetWriter } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import type { Writer } from 'hyparquet-writer/src/types.js';

/** Thrift compact protocol: a list's element type for structs, in the low nibble of the list's header. */
const STRUCT = 12;
/** A list header of 15 in the size nibble: the size follows as a varint. */
const LONG_LIST = 15 << 4;
/** "PAR1", as the file starts and ends. */
const MAGIC = 0x31524150;

export class CompactFooter {
  private readonly groups = new ByteWriter();
  private count = 0;
  /** Where the row-group list's header sits in the metadata without row groups (num_rows 0); the header of an empty list is hyparquet-writer's (no element type), kept as it is for a file without rows. */
  private readonly listAt: number;
  /** Bytes after that header: the fields after the row groups, which no row count or group changes. */
  private readonly tail: number;
  private readonly emptyList: number;

  constructor(private readonly writer: ParquetWriter) {
    const empty = this.metadata([], 0n);
    const dummy = this.metadata([{ columns: [], total_byte_size: 0n, num_rows: 0n }], 0n);
    let at = 0;
    while (at < empty.length && empty[at] === dummy[at]) at++;
    if (dummy[at] !== ((1 << 4) | STRUCT)) throw new Error('Parquet footer: the row-group list was not where the metadata puts it');
    this.listAt = at;
    this.tail = empty.length - at - 1;
    this.emptyList = empty[at]!;
  }

  /** Takes the row group the writer wrote last out of it, as bytes. */
  take(): void {
    const w = this.writer;
    const group = w.row_groups.pop();
    if (!group || w.row_groups.length) throw new Error('Parquet footer: take() goes after each row group written');
    // Page indexes and bloom filters are written at the end from what the writer keeps: none are asked for.
    if (w.pendingIndexes.some((p) => p.columnIndex || p.offsetIndex || p.bloomFilter)) throw new Error('Parquet footer: page indexes or bloom filters would be lost');
    w.pendingIndexes.length = 0;
    const one = this.metadata([group], 0n);
    const size = one.length - this.listAt - 1 - this.tail;
    if (one[this.listAt] !== ((1 << 4) | STRUCT)) throw new Error('Parquet footer: the row group was not where the metadata puts it');
    this.groups.appendBytes(one.subarray(this.listAt + 1, this.listAt + 1 + size));
    this.count++;
  }

  /** Writes the footer (metadata, its length, PAR1) and completes the file. */
  finish(): void | Promise<void> {
    const w = this.writer;
    if (w.row_groups.length) throw new Error('Parquet footer: a row group was written but not taken');
    const meta = this.metadata([], w.num_rows);
    const at = meta.length - this.tail - 1;
    if (meta[at] !== this.emptyList) throw new Error('Parquet footer: the row-group list was not where the metadata puts it');
    const out: Writer = w.writer;
    const start = out.offset;
    if (this.count === 0) out.appendBytes(meta);
    else {
      out.appendBytes(meta.subarray(0, at));
      if (this.count < 15) out.appendUint8((this.count << 4) | STRUCT);
      else {
        out.appendUint8(LONG_LIST | STRUCT);
        out.appendVarInt(this.count);
      }
      out.appendBytes(this.groups.getBytes());
      out.appendBytes(meta.subarray(at + 1));
    }
    out.appendUint32(out.offset - start);
    out.appendUint32(MAGIC);
    return out.finish();
  }

  /** The file's metadata with these row groups, as writeMetadata serializes it (without the length after it). */
  private metadata(rowGroups: RowGroup[], rows: bigint): Uint8Array {
    const w = this.writer;
    const metadata: FileMetaData = { version: 2, schema: w.schema as SchemaElement[], num_rows: rows, row_groups: rowGroups, metadata_length: 0, key_value_metadata: w.kvMetadata, created_by: w.createdBy };
    const bytes = new ByteWriter();
    writeMetadata(bytes, metadata, w.statisticsTruncateLength);
    return bytes.getBytes().subarray(0, bytes.offset - 4);
  }
}

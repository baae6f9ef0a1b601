/**
 * Parquet inputs for tests, written with hyparquet-writer: typed columns (strings, 32- and 64-bit
 * integers, doubles, booleans, a struct holding the review), several row groups.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ByteWriter, parquetWriteFile } from 'hyparquet-writer';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { outputCompressors } from '../../src/io/parquet/codecs.js';
import { parquetMetadata, type SchemaElement } from 'hyparquet';
import { sampleRows } from './sample-data.js';

export const REVIEW_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: 6 },
  { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'rating', type: 'INT32', repetition_type: 'REQUIRED' },
  { name: 'views', type: 'INT64', repetition_type: 'OPTIONAL' },
  { name: 'helpful', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  { name: 'verified', type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
  { name: 'review', repetition_type: 'OPTIONAL', num_children: 2 },
  { name: 'title', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'body', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
];

export interface ReviewColumns {
  id: string[];
  rating: number[];
  views: (bigint | null)[];
  helpful: (number | null)[];
  verified: (boolean | null)[];
  review: ({ title: string | null; body: string | null } | null)[];
}

/** `n` sample reviews as columns; every text unique (so every row costs a request). */
export function reviewColumns(n: number): ReviewColumns {
  const rows = sampleRows(n);
  return {
    id: rows.map((r) => r.id),
    rating: rows.map((r) => r.rating),
    views: rows.map((_, i) => (i % 7 === 3 ? null : 9_007_199_254_740_000n + BigInt(i))),
    helpful: rows.map((_, i) => (i % 11 === 5 ? null : i / 8)),
    verified: rows.map((_, i) => (i % 13 === 4 ? null : i % 2 === 0)),
    review: rows.map((r, i) => ({ title: `title ${i}`, body: `${r.text} (#${i})` })),
  };
}

export function writeReviewsParquet(file: string, cols: ReviewColumns, rowGroupSize: number, codec: 'SNAPPY' | 'ZSTD' | 'UNCOMPRESSED' = 'SNAPPY'): void {
  parquetWriteFile({
    filename: file,
    schema: REVIEW_SCHEMA,
    codec,
    compressors: outputCompressors(),
    rowGroupSize,
    columnData: (Object.keys(cols) as (keyof ReviewColumns)[]).map((name) => ({ name, data: cols[name] })),
  });
}

/** A nanosecond instant as INT96 stores it: nanoseconds into the day, then the Julian day, little-endian. */
function int96(nanos: bigint): Uint8Array {
  const day = nanos / 86_400_000_000_000n - (nanos < 0n && nanos % 86_400_000_000_000n !== 0n ? 1n : 0n);
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, nanos - day * 86_400_000_000_000n, true);
  view.setUint32(8, Number(day) + 2_440_588, true);
  return bytes;
}

/**
 * A file with a text column and an INT96 timestamp column `ts`, as Spark and Impala wrote them. No writer
 * at hand has INT96, so the column is written as 12-byte FIXED_LEN_BYTE_ARRAY (INT96's bytes, plain) and
 * the footer rewritten to say INT96.
 */
export function writeInt96Parquet(file: string, texts: string[], nanos: (bigint | null)[]): void {
  parquetWriteFile({
    filename: file,
    statistics: false,
    schema: [
      { name: 'root', num_children: 2 },
      { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      { name: 'ts', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 12, repetition_type: 'OPTIONAL' },
    ],
    columnData: [
      { name: 'text', data: texts },
      { name: 'ts', data: nanos.map((n) => (n === null ? null : int96(n))) },
    ],
  });
  const bytes = readFileSync(file);
  const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const ts = meta.schema.find((e) => e.name === 'ts')!;
  ts.type = 'INT96';
  delete ts.type_length;
  for (const group of meta.row_groups) for (const c of group.columns) if (c.meta_data!.path_in_schema[0] === 'ts') c.meta_data!.type = 'INT96';
  const footer = new ByteWriter();
  writeMetadata(footer, meta);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(footer.offset);
  writeFileSync(file, Buffer.concat([bytes.subarray(0, bytes.length - 8 - meta.metadata_length), new Uint8Array(footer.getBuffer()), length, Buffer.from('PAR1')]));
}

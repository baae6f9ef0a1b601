/**
 * Parquet inputs for tests, written with hyparquet-writer: typed columns (strings, 32- and 64-bit
 * integers, doubles, booleans, a struct holding the review), several row groups.
 */
import { parquetWriteFile } from 'hyparquet-writer';
import { outputCompressors } from '../../src/io/parquet/codecs.js';
import type { SchemaElement } from 'hyparquet';
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

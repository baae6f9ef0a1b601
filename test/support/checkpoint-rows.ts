import { createHash } from 'node:crypto';
import type { RowRecord } from '../../src/store/checkpoint.js';

/** A text key as the runner makes it: 16 uniform bytes as a latin1 string (any such 16 will do for the store). */
export const textHash = (s: string) => createHash('md5').update(s).digest('binary');

/** Row i is labeled from text i; every 10th row reuses the text of the row before it (no hash stored). */
export function labeledRows(from: number, to: number): RowRecord[] {
  const out: RowRecord[] = [];
  for (let i = from; i < to; i++) {
    const reused = i % 10 === 9;
    out.push({ ordinal: i, status: 'done', hash: reused ? undefined : textHash(`text ${i}`), label: i % 2 ? 'POSITIVE' : 'NEGATIVE', score: i / 1e6 });
  }
  return out;
}

import type { StoredRow } from '../store/checkpoint.js';
import type { ExportSummary } from './output-file.js';

/** One more row written, counted by what its result was. */
export function countRow(summary: ExportSummary, result: StoredRow | undefined): void {
  summary.rows++;
  if (!result) summary.unlabeled++;
  else if (result.status === 'done') summary.labeled++;
  else if (result.status === 'skipped') summary.skipped++;
  else summary.failed++;
}

/**
 * The export a fresh run writes as it goes. Each row is kept from when it is read until it and every row
 * before it are finished, then written with its result: no second pass over the input, no paging of the
 * checkpoint, and the file is complete when the last row is labeled. It holds only the rows in flight
 * (bounded by the run's queue). Rows and results are those the checkpoint receives, written by the same
 * code as the export after a run, so the two exports are the same bytes. What it holds behind a slow row
 * is bounded by the run (Frontier.ready).
 */
import type { JobSettings } from '../job/settings.js';
import type { InputRow } from '../io/index.js';
import type { RowRecord, StoredRow } from '../store/checkpoint.js';
import type { ParquetColumn } from '../io/parquet/schema.js';
import type { TextEncoding } from '../core/encoding.js';
import { columnsForJob } from './columns.js';
import { grownRings } from '../core/ring.js';
import { keepsAllScores, knownScoreLabels } from '../tasks/index.js';
import { openOutputFile, type ExportSummary, type ExportTarget } from './output-file.js';

export interface ExportStream {
  /** Every row, in input order, as it is read. */
  read(row: InputRow): void;
  /** A row's result, as committed to the checkpoint; any order. */
  finished(rec: RowRecord): void;
  /** Pending while the file's buffer is full: the run waits on it before reading on. */
  ready(): Promise<void> | undefined;
  /** Every row read is finished: write the rest and give the file its name. */
  finish(): Promise<ExportSummary>;
  /** The run stopped short: remove the unfinished file. */
  abort(): Promise<void>;
}

/**
 * Whether a run can write its export as it goes: it must read the job from its first row (a resumed run
 * never reads the rows finished before it) and know the columns before the results: not with a column
 * per label named after the labels the model answers with, but yes when the labels are the job's own
 * (zero-shot candidate labels).
 */
export function canStreamExport(settings: JobSettings, startOrdinal: number, finishedBefore: number): boolean {
  const columnsKnown = knownScoreLabels(settings) !== undefined || !keepsAllScores(settings);
  return startOrdinal === 0 && finishedBefore === 0 && columnsKnown;
}

/** As Checkpoint.page() reads the row back. */
function stored(r: RowRecord): StoredRow {
  return r.status === 'done'
    ? { ordinal: r.ordinal, status: 'done', label: r.label ?? null, score: r.score ?? null, scores: r.scores ?? null, truncated: r.truncated === true, error: null }
    : { ordinal: r.ordinal, status: r.status === 'skipped' ? 'skipped' : 'failed', label: null, score: null, scores: null, truncated: false, error: r.status === 'skipped' ? null : (r.error ?? null) };
}

export function openExportStream(settings: JobSettings, target: ExportTarget, header: string[] | null, columns?: ParquetColumn[], inputEncoding?: TextEncoding): ExportStream {
  const file = openOutputFile(settings, target, header, columnsForJob(settings, () => []), columns, inputEncoding);
  /**
   * Rows read and not written yet, with their result once finished, in rings indexed by ordinal (rows are
   * read in order, from 0): no map entry or wrapper object per row. A row written from its bytes keeps only
   * them: its decoded fields would live on only to be collected later, at a higher price.
   */
  let mask = 1023;
  let rows: (InputRow | Buffer | undefined)[] = new Array(mask + 1);
  let results: (StoredRow | undefined)[] = new Array(mask + 1);
  let next = 0; // the next ordinal to write
  let end = 0; // one past the last ordinal read
  let full: Promise<void> | undefined;

  /** Twice the room, each row held moved to its place under the new mask. */
  const grow = () => {
    const grown = grownRings([rows, results] as [typeof rows, typeof results], mask, next, end);
    mask = grown.mask;
    [rows, results] = grown.rings;
  };

  return {
    read(row) {
      if (row.ordinal !== end) throw new Error(`export: row ${row.ordinal} read after row ${end - 1}`);
      if (end - next > mask) grow();
      rows[end & mask] = file.copiesRaw(row) ? row.raw : row;
      results[end & mask] = undefined;
      end++;
    },
    finished(rec) {
      if (rec.ordinal < next || rec.ordinal >= end) throw new Error(`export: row ${rec.ordinal} finished but was never read`);
      results[rec.ordinal & mask] = stored(rec);
      // Write the rows that are now complete at the head, in order.
      for (let result = results[next & mask]; next < end && result; result = results[next & mask]) {
        const i = next++ & mask;
        const row = rows[i]!;
        rows[i] = undefined;
        results[i] = undefined;
        const room = Buffer.isBuffer(row) ? file.addRaw(row, result) : file.add(row, result);
        if (!room && !full) {
          // A write error surfaces from finish(); here it only ends the wait.
          full = file.drained().then(
            () => void (full = undefined),
            () => void (full = undefined),
          );
        }
      }
    },
    ready: () => full,
    async finish() {
      if (end > next) throw new Error(`export: ${end - next} rows read but not finished, from row ${next}`);
      return file.finish();
    },
    abort: () => file.abort(),
  };
}

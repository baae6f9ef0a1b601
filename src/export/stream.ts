/**
 * The export a fresh run writes as it goes. Each row is kept from when it is read until it and every row
 * before it are finished, then written with its result: no second pass over the input, no paging of the
 * checkpoint, and the file is complete when the last row is labeled. It holds only the rows in flight
 * (bounded by the run's queue). Rows and results are those the checkpoint receives, written by the same
 * code as the export after a run, so the two exports are the same bytes. What it holds behind a slow row
 * is bounded by the run (Frontier.ready).
 */
import type { JobSettings } from '../job/settings.js';
import type { InputRow } from '../readers/index.js';
import type { RowRecord, StoredRow } from '../store/checkpoint.js';
import { addedColumns } from './columns.js';
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
 * never reads the rows finished before it) and know the columns before the results (not with a column
 * per label, named after the labels seen).
 */
export function canStreamExport(settings: JobSettings, startOrdinal: number, finishedBefore: number): boolean {
  return startOrdinal === 0 && finishedBefore === 0 && !settings.allScores && (settings.topK ?? 1) <= 1;
}

/** As Checkpoint.page() reads the row back. */
function stored(r: RowRecord): StoredRow {
  return r.status === 'done'
    ? { ordinal: r.ordinal, status: 1, label: r.label ?? null, score: r.score ?? null, scores: null, truncated: r.truncated ? 1 : null, error: null }
    : { ordinal: r.ordinal, status: 2, label: null, score: null, scores: null, truncated: null, error: r.error ?? null };
}

export function openExportStream(settings: JobSettings, target: ExportTarget, header: string[] | null): ExportStream {
  const file = openOutputFile(settings, target, header, addedColumns(settings.columns, null));
  /**
   * Rows read and not written yet, by ordinal, with their result once finished. A row written from its
   * bytes keeps only them: its decoded fields would live on only to be collected later, at a higher price.
   */
  const waiting = new Map<number, { row: InputRow | Buffer; result?: StoredRow }>();
  let next = 0; // the next ordinal to write
  let full: Promise<void> | undefined;

  return {
    read(row) {
      waiting.set(row.ordinal, { row: file.copiesRaw(row) ? row.raw : row });
    },
    finished(rec) {
      const w = waiting.get(rec.ordinal);
      if (!w) throw new Error(`export: row ${rec.ordinal} finished but was never read`);
      w.result = stored(rec);
      // Write the rows that are now complete at the head, in order.
      for (let e = waiting.get(next); e?.result; e = waiting.get(next)) {
        waiting.delete(next++);
        const room = Buffer.isBuffer(e.row) ? file.addRaw(e.row, e.result) : file.add(e.row, e.result);
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
      if (waiting.size) throw new Error(`export: ${waiting.size} rows read but not finished, from row ${next}`);
      return file.finish();
    },
    abort: () => file.abort(),
  };
}

/** What a run knows when it estimates how long the rest takes. */
export interface EtaFigures {
  /** Time this run has been going. */
  elapsedMs: number;
  /** Rows this run finished (labeled, failed, reused); rows skipped as finished before are not work done. */
  finishedThisRun: number;
  /** Rows finished by earlier runs. */
  finishedBefore: number;
  /** Rows of the job, once the input has been read to its end. */
  rowsTotal?: number;
  /** Until then: rows read from the start of the input (the next ordinal), the bytes they took, and the input's size. */
  rowsRead?: number;
  bytesRead?: number;
  bytesTotal?: number;
}

/**
 * Time left at this run's rate over the rows still to do, or null while this run has finished nothing (a
 * rate over no rows is no rate). Rows left are known once the total is; before that they are estimated
 * from the bytes per row read so far, both counted from the input's start, so a resumed read that skips
 * finished rows, or a reader running ahead of the model, makes no difference to the estimate.
 */
export function etaMs(f: EtaFigures): number | null {
  if (f.finishedThisRun <= 0 || f.elapsedMs <= 0) return null;
  const finished = f.finishedBefore + f.finishedThisRun;
  let total = f.rowsTotal;
  if (total === undefined) {
    if (!f.rowsRead || !f.bytesRead || !f.bytesTotal) return null;
    total = Math.max(f.rowsRead, (f.rowsRead * f.bytesTotal) / f.bytesRead);
  }
  const left = Math.max(0, total - finished);
  return Math.round((left * f.elapsedMs) / f.finishedThisRun);
}

import { rate } from '../core/format.js';
import { etaMs } from './eta.js';
import { redactUrl } from '../core/redact-url.js';
import type { JobSettings } from '../job/settings.js';
import type { Checkpoint, RunRecord } from '../store/checkpoint.js';
import { jobIsLocked } from '../store/lock.js';
import { labelDistribution, scoreSummaries } from '../store/queries.js';
import { openTarget } from '../store/open-target.js';
import { damaged, isDamage } from '../store/errors.js';

/** What status() resolves to, and what `batchlabel status --json` prints. */
export interface StatusReport {
  checkpoint: string;
  input: string;
  /** skipped: rows with nothing to label (empty texts), finished and left blank. */
  rows: { total: number | null; done: number; failed: number; skipped: number; pending: number | null; truncated: number };
  finished: boolean;
  /** Labeled rows per predicted label, most frequent first, with the quartiles of their top score. */
  labels: LabelStatus[];
  failures: { kind: string; count: number; examples: { line: number | null; id: string | null; error: string }[] }[];
  lastRun: { state: string; startedAt: string; wallMs: number; rows: number; rowsPerSecond: number; etaMs: number | null; retries: Record<string, number> } | null;
  runs: number;
  settings: Record<string, unknown>;
}

export interface LabelStatus {
  label: string;
  count: number;
  share: number;
  score: { min: number; q1: number; median: number; q3: number; max: number } | null;
}

function labelStatus(store: Checkpoint): LabelStatus[] {
  const db = store.database;
  const scores = new Map(scoreSummaries(db, 1).map((s) => [s.label, s]));
  return labelDistribution(db).map((l) => {
    const s = scores.get(l.label);
    return { label: l.label, count: l.count, share: l.share, score: s ? { min: s.min, q1: s.q1, median: s.median, q3: s.q3, max: s.max } : null };
  });
}

/** The progress, failures and settings of a job, from its checkpoint or the job file that names it. Reads only. */
export async function status(checkpointOrJobFile: string): Promise<StatusReport> {
  const { store, settings } = openTarget(checkpointOrJobFile);
  try {
    return statusReport(store, settings);
  } catch (err) {
    // Damage the open's checks missed (a page only these queries read) is the same one line as theirs.
    throw isDamage(err) ? damaged(store.path, (err as Error).message, err) : err;
  } finally {
    store.close();
  }
}

/**
 * A run's state as recorded, except that a run recorded as running whose process is gone (killed, a
 * second Ctrl-C, a crash before it could write its end) is interrupted: the live run holds the job's lock.
 */
function runState(store: Checkpoint, run: RunRecord): RunRecord['state'] {
  return run.state === 'running' && !jobIsLocked(store.path) ? 'interrupted' : run.state;
}

export function statusReport(store: Checkpoint, settings: JobSettings): StatusReport {
  const total = store.getMeta('rows_total') ?? null;
  const { done, failed, skipped, truncated } = store.counts();
  const runs = store.runs();
  const last = runs.at(-1);
  const lastRows = last ? last.rowsDone + last.rowsFailed : 0;
  const perSec = last ? rate(lastRows, last.wallMs) : 0;
  const pending = total === null ? null : Math.max(0, total - done - failed - skipped);
  const { hf, onnx, ...rest } = settings;
  return {
    checkpoint: store.path,
    input: settings.input,
    rows: { total, done, failed, skipped, pending, truncated },
    finished: pending === 0,
    labels: labelStatus(store),
    failures: store.failuresByKind().map((f) => ({ kind: f.kind, count: f.count, examples: f.examples.map((e) => ({ line: e.line, id: e.rowId, error: e.error })) })),
    lastRun: last
      ? {
          state: runState(store, last),
          startedAt: last.startedAt,
          wallMs: last.wallMs,
          rows: lastRows,
          rowsPerSecond: Math.round(perSec * 10) / 10,
          etaMs: pending === 0 ? 0 : total === null ? null : etaMs({ elapsedMs: last.wallMs, finishedThisRun: lastRows, finishedBefore: done + failed + skipped - lastRows, rowsTotal: total }),
          retries: last.retries,
        }
      : null,
    runs: runs.length,
    // Older checkpoints kept the endpoint as typed, credentials included.
    settings: { ...rest, ...(settings.backend === 'hf' ? { hf: hf.endpoint ? { ...hf, endpoint: redactUrl(hf.endpoint) } : hf } : { onnx }) },
  };
}

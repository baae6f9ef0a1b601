import type { JobSettings } from '../job/settings.js';
import type { Checkpoint } from '../store/checkpoint.js';
import { labelDistribution, scoreSummaries } from '../store/queries.js';
import { duration, num, rate, retriesText } from './format.js';

export interface StatusReport {
  checkpoint: string;
  input: string;
  rows: { total: number | null; done: number; failed: number; pending: number | null; truncated: number };
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

export function statusReport(store: Checkpoint, settings: JobSettings): StatusReport {
  const total = store.getMeta<number>('rows_total') ?? null;
  const { done, failed, truncated } = store.counts();
  const runs = store.runs();
  const last = runs.at(-1);
  const lastRows = last ? last.rowsDone + last.rowsFailed : 0;
  const perSec = last ? rate(lastRows, last.wallMs) : 0;
  const pending = total === null ? null : Math.max(0, total - done - failed);
  const { hf, onnx, ...rest } = settings;
  return {
    checkpoint: store.path,
    input: settings.input,
    rows: { total, done, failed, pending, truncated },
    finished: pending === 0,
    labels: labelStatus(store),
    failures: store.failuresByKind().map((f) => ({ kind: f.kind, count: f.count, examples: f.examples.map((e) => ({ line: e.line, id: e.rowId, error: e.error })) })),
    lastRun: last
      ? {
          state: last.state,
          startedAt: last.startedAt,
          wallMs: last.wallMs,
          rows: lastRows,
          rowsPerSecond: Math.round(perSec * 10) / 10,
          etaMs: pending && perSec > 0 ? Math.round((pending / perSec) * 1000) : pending === 0 ? 0 : null,
          retries: last.retries,
        }
      : null,
    runs: runs.length,
    settings: { ...rest, ...(settings.backend === 'hf' ? { hf } : { onnx }) },
  };
}

export function printStatus(r: StatusReport, out: (s: string) => void): void {
  const t = r.rows;
  out(`checkpoint  ${r.checkpoint}`);
  out(`input       ${r.input}`);
  out(`rows        ${t.total === null ? `? total (input not fully read yet)` : `${num(t.total)} total`}, ${num(t.done)} labeled, ${num(t.failed)} failed, ${t.pending === null ? 'rest' : num(t.pending)} pending${t.truncated ? `, ${num(t.truncated)} truncated` : ''}`);
  out(`state       ${r.finished ? 'finished' : 'unfinished (run the same `batchlabel run` command to resume)'}`);
  if (r.labels.length) {
    out('labels      rows, share, top score min / q1 / median / q3 / max:');
    const width = Math.max(...r.labels.map((l) => l.label.length));
    const counts = r.labels.map((l) => num(l.count));
    const countWidth = Math.max(...counts.map((c) => c.length));
    r.labels.forEach((l, i) => {
      const q = l.score;
      const quartiles = q ? `   min ${q.min.toFixed(3)}  q1 ${q.q1.toFixed(3)}  median ${q.median.toFixed(3)}  q3 ${q.q3.toFixed(3)}  max ${q.max.toFixed(3)}` : '';
      out(`  ${l.label.padEnd(width)}  ${counts[i]!.padStart(countWidth)}  ${`${(l.share * 100).toFixed(1)}%`.padStart(6)}${quartiles}`);
    });
  }
  if (r.failures.length) {
    out('failures:');
    for (const f of r.failures) {
      out(`  ${f.kind}: ${num(f.count)}`);
      for (const e of f.examples) out(`    ${e.line !== null ? `line ${e.line}` : ''}${e.id ? ` id ${e.id}` : ''}: ${e.error}`);
    }
    out('  (re-attempt them with `batchlabel run … --retry-failed`)');
  }
  if (r.lastRun) {
    const l = r.lastRun;
    out(`last run    ${l.state}, started ${l.startedAt}, ${num(l.rows)} rows in ${duration(l.wallMs)} (${num(l.rowsPerSecond)} rows/s)${l.etaMs ? `, ETA ${duration(l.etaMs)} at that rate` : ''}`);
    out(`retries     ${retriesText(l.retries)}`);
  }
  const s = r.settings as Record<string, unknown>;
  out(`settings    backend ${String(s.backend)}, model ${String(s.model ?? '(endpoint)')}, text column ${String(s.textColumn)}, concurrency ${String(s.concurrency)}, batch size ${String(s.batchSize)}${s.topK ? `, top-k ${String(s.topK)}` : ''}${s.functionToApply ? `, ${String(s.functionToApply)}` : ''}`);
}

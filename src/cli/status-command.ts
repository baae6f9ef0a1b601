import type { StatusReport } from '../api/status.js';
import { positionsOf } from '../io/types.js';
import { duration, num, retriesText } from './format.js';

export function printStatus(r: StatusReport, out: (s: string) => void): void {
  const t = r.rows;
  out(`checkpoint  ${r.checkpoint}`);
  out(`input       ${r.input}`);
  out(`rows        ${t.total === null ? `? total (input not fully read yet)` : `${num(t.total)} total`}, ${num(t.done)} labeled, ${num(t.failed)} failed, ${t.skipped ? `${num(t.skipped)} skipped (empty text), ` : ''}${t.pending === null ? 'rest' : num(t.pending)} pending${t.truncated ? `, ${num(t.truncated)} truncated` : ''}`);
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
    const at = positionsOf(r.settings.format as 'csv' | 'jsonl' | 'parquet');
    for (const f of r.failures) {
      out(`  ${f.kind}: ${num(f.count)}`);
      for (const e of f.examples) out(`    ${e.line !== null ? `${at} ${e.line}` : ''}${e.id ? ` id ${e.id}` : ''}: ${e.error}`);
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

import type { StatusReport } from '../api/status.js';
import { duration, num, retriesText } from './format.js';

export function printStatus(r: StatusReport, out: (s: string) => void): void {
  const t = r.rows;
  out(`checkpoint  ${r.checkpoint}`);
  out(`input       ${r.input}`);
  out(`rows        ${t.total === null ? `? total (input not fully read yet)` : `${num(t.total)} total`}, ${num(t.done)} labeled, ${num(t.failed)} failed, ${t.pending === null ? 'rest' : num(t.pending)} pending${t.truncated ? `, ${num(t.truncated)} truncated` : ''}`);
  out(`state       ${r.finished ? 'finished' : 'unfinished (run the same `batchlabel run` command to resume)'}`);
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

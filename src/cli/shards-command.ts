/** `status --shards N` and `export --shards N`, printed. */
import { mergeShards, shardsStatus, type MergeOptions, type ShardLine, type ShardsReport } from '../api/shards.js';
import { ExitCode } from '../errors.js';
import { duration, num } from './format.js';

function rowsText(r: ShardLine['rows']): string {
  return `${num(r.done)} labeled, ${num(r.failed)} failed, ${r.pending === null ? '?' : num(r.pending)} pending${r.total === null ? '' : ` of ${num(r.total)}`}`;
}

export function printShards(r: ShardsReport, out: (s: string) => void): void {
  out(`input       ${r.input ?? '(unknown: no shard has started)'}`);
  for (const s of r.shards) {
    const what =
      s.state === 'missing'
        ? `missing (${s.checkpoint})`
        : s.state === 'other-job'
          ? `from another job: ${s.reason}`
          : `${s.state}, ${rowsText(s.rows)}${s.lastRun ? `, ${num(s.lastRun.rowsPerSecond)} rows/s (last run ${s.lastRun.state})` : ''}${s.etaMs ? `, ETA ${duration(s.etaMs)}` : ''}`;
    out(`shard ${String(s.index).padStart(String(r.count - 1).length)}/${r.count}  ${what}`);
  }
  const t = r.total;
  out(`total       ${num(t.done)} labeled, ${num(t.failed)} failed, ${t.pending === null ? '?' : num(t.pending)} pending; ${num(t.rowsPerSecond)} rows/s${t.etaMs ? `, ETA ${duration(t.etaMs)}` : ''}`);
  const open = [
    t.missing.length ? `missing: ${t.missing.join(', ')}` : '',
    t.unfinished.length ? `unfinished: ${t.unfinished.join(', ')}` : '',
    t.otherJob.length ? `from another job: ${t.otherJob.join(', ')}` : '',
  ].filter(Boolean);
  out(`state       ${r.finished ? `finished: merge with \`batchlabel export JOB --shards ${r.count} --output FILE\`` : `${open.join('; ')} (run each with \`batchlabel run JOB --shard I/${r.count}\`; it resumes)`}`);
}

export async function shardsStatusCommand(target: string, count: number, json: boolean, out: (s: string) => void): Promise<number> {
  const report = await shardsStatus(target, count);
  if (json) out(JSON.stringify(report, null, 2));
  else printShards(report, out);
  return !report.finished ? 3 : report.total.failed ? ExitCode.someRowsFailed : ExitCode.ok;
}

export async function shardsExportCommand(f: MergeOptions, say: (s: string) => void): Promise<void> {
  const r = await mergeShards(f);
  say(
    `wrote ${r.output}: ${num(r.rows)} rows from ${f.count} shards, ${num(r.labeled)} labeled, ${num(r.failed)} failed${r.unlabeled ? `, ${num(r.unlabeled)} not labeled yet` : ''}${r.leftOut.length ? ` (rows of shard ${r.leftOut.join(', ')} left blank: not finished or not of this job)` : ''}.`,
  );
}

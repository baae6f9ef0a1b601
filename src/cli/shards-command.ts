/** `status --shards N` and `export --shards N`: a sharded job seen through its N checkpoints. */
import path from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { exportMerged } from '../export/merge.js';
import { formatFromExtension, resolveColumns } from '../job/resolve.js';
import type { JobValues } from '../job/options.js';
import { closeShards, openShards, type ShardSet, type ShardStateName } from '../shard/shards.js';
import { duration, num, rate } from './format.js';

export interface ShardLine {
  index: number;
  checkpoint: string;
  state: ShardStateName;
  reason: string | null;
  rows: { total: number | null; done: number; failed: number; pending: number | null };
  lastRun: { state: string; rowsPerSecond: number } | null;
  etaMs: number | null;
}

export interface ShardsReport {
  count: number;
  input: string | null;
  shards: ShardLine[];
  total: {
    done: number;
    failed: number;
    /** Null while a shard has not read the whole input yet (or is missing). */
    pending: number | null;
    missing: number[];
    unfinished: number[];
    otherJob: number[];
    /** The shards' last-run rates added up: they run side by side. */
    rowsPerSecond: number;
    /** The slowest unfinished shard's ETA; null when one has no rate or no known total. */
    etaMs: number | null;
  };
  finished: boolean;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export function shardsReport(set: ShardSet): ShardsReport {
  const shards: ShardLine[] = set.shards.map((s) => {
    const run = s.lastRun;
    const perSec = run ? rate(run.rowsDone + run.rowsFailed, run.wallMs) : 0;
    const pending = s.rows.pending;
    return {
      index: s.index,
      checkpoint: s.checkpoint,
      state: s.state,
      reason: s.reason ?? null,
      rows: s.rows,
      lastRun: run ? { state: run.state, rowsPerSecond: round1(perSec) } : null,
      etaMs: pending === 0 ? 0 : pending !== null && perSec > 0 ? Math.round((pending / perSec) * 1000) : null,
    };
  });
  const ofState = (st: ShardStateName) => shards.filter((s) => s.state === st).map((s) => s.index);
  const mine = shards.filter((s) => s.state === 'finished' || s.state === 'unfinished');
  const pendingKnown = mine.length === shards.length && mine.every((s) => s.rows.pending !== null);
  const open = shards.filter((s) => s.state !== 'finished');
  return {
    count: set.count,
    input: set.settings?.input ?? null,
    shards,
    total: {
      done: mine.reduce((a, s) => a + s.rows.done, 0),
      failed: mine.reduce((a, s) => a + s.rows.failed, 0),
      pending: pendingKnown ? mine.reduce((a, s) => a + s.rows.pending!, 0) : null,
      missing: ofState('missing'),
      unfinished: ofState('unfinished'),
      otherJob: ofState('other-job'),
      rowsPerSecond: round1(mine.reduce((a, s) => a + (s.lastRun?.rowsPerSecond ?? 0), 0)),
      etaMs: open.length === 0 ? 0 : open.every((s) => s.etaMs !== null) ? Math.max(...open.map((s) => s.etaMs!)) : null,
    },
    finished: open.length === 0,
  };
}

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

export async function shardsStatus(target: string, count: number, json: boolean, out: (s: string) => void): Promise<number> {
  const set = await openShards(target, count);
  try {
    const report = shardsReport(set);
    if (json) out(JSON.stringify(report, null, 2));
    else printShards(report, out);
    return !report.finished ? 3 : report.total.failed ? ExitCode.someRowsFailed : ExitCode.ok;
  } finally {
    closeShards(set);
  }
}

export interface ShardsExportFlags {
  target: string;
  count: number;
  output: string | undefined;
  outputFormat: 'csv' | 'jsonl' | 'parquet' | undefined;
  partial: boolean;
  /** Column renames given on the command line. */
  columns: JobValues;
}

export async function shardsExport(f: ShardsExportFlags, say: (s: string) => void): Promise<void> {
  const set = await openShards(f.target, f.count);
  try {
    if (!set.settings) throw new UsageError(`no shard of ${set.jobCheckpoint} has started, and no job file was given: nothing to merge.`);
    const settings = { ...set.settings, shard: undefined, columns: resolveColumns(f.columns, set.settings.columns) };
    const output = f.output !== undefined ? path.resolve(f.output) : settings.output;
    if (!output) throw new UsageError('no output: pass --output FILE.');
    const format = f.outputFormat ?? formatFromExtension(output, 'output-format');
    const r = await exportMerged(set, settings, { output, format, partial: f.partial });
    say(
      `wrote ${output}: ${num(r.rows)} rows from ${f.count} shards, ${num(r.labeled)} labeled, ${num(r.failed)} failed${r.unlabeled ? `, ${num(r.unlabeled)} not labeled yet` : ''}${r.leftOut.length ? ` (rows of shard ${r.leftOut.join(', ')} left blank: not finished or not of this job)` : ''}.`,
    );
  } finally {
    closeShards(set);
  }
}

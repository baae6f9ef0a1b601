/** A sharded job seen through its N checkpoints: its status, and the merge into the job's export. Reads only. */
import path from 'node:path';
import { rate } from '../core/format.js';
import { UsageError } from '../errors.js';
import { exportMerged, type MergeSummary } from '../export/merge.js';
import type { JobValues } from '../job/options.js';
import { formatFromExtension, resolveColumns } from '../job/resolve.js';
import { closeShards, openShards, type ShardSet, type ShardStateName } from '../shard/shards.js';

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

/** Per shard and in total: done, failed, pending, which shards are missing or unfinished, throughput, ETA. */
export async function shardsStatus(target: string, count: number): Promise<ShardsReport> {
  const set = await openShards(target, count);
  try {
    return shardsReport(set);
  } finally {
    closeShards(set);
  }
}

export interface MergeOptions {
  /** The job file, or any shard's checkpoint. */
  target: string;
  count: number;
  output?: string;
  outputFormat?: 'csv' | 'jsonl' | 'parquet';
  /** Merge while shards are missing or unfinished: their rows are left blank. @default false */
  partial?: boolean;
  /** Column renames. @default as in the run */
  columns?: JobValues;
}

/**
 * Writes the export one process would have written, from the N shards' checkpoints; refuses (one line
 * naming them) while a shard is missing, unfinished or of another job, unless `partial`.
 */
export async function mergeShards(f: MergeOptions): Promise<MergeSummary & { output: string }> {
  const set = await openShards(f.target, f.count);
  try {
    if (!set.settings) throw new UsageError(`no shard of ${set.jobCheckpoint} has started, and no job file was given: nothing to merge.`);
    const settings = { ...set.settings, shard: undefined, columns: resolveColumns(f.columns ?? {}, set.settings.columns) };
    const output = f.output !== undefined ? path.resolve(f.output) : settings.output;
    if (!output) throw new UsageError('no output: pass --output FILE.');
    const format = f.outputFormat ?? formatFromExtension(output, 'output-format');
    return { ...(await exportMerged(set, settings, { output, format, partial: f.partial === true })), output };
  } finally {
    closeShards(set);
  }
}

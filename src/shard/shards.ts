/**
 * The N checkpoints of a sharded job, looked at together: which shards are missing, unfinished or from
 * another job, for `status --shards` and for the merge that writes the job's export.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CheckpointError, UsageError } from '../errors.js';
import { fingerprintInput, type InputFingerprint } from '../job/fingerprint.js';
import { loadJobFile, resolveSettings } from '../job/resolve.js';
import { resultSettings, type JobSettings } from '../job/settings.js';
import { Checkpoint, type RunRecord } from '../store/checkpoint.js';
import { SHARD_BLOCK, shardCheckpoint, type ShardSpec } from './shard.js';

/** What a shard checkpoint records of its shard: a checkpoint is never resumed, or merged, as another shard. */
export interface ShardMeta {
  index: number;
  count: number;
  block: number;
}

export const shardMeta = (s: Pick<ShardSpec, 'index' | 'count'>): ShardMeta => ({ index: s.index, count: s.count, block: SHARD_BLOCK });

/**
 * Refuses to resume a checkpoint as another shard (or a sharded one as the whole job); returns the meta
 * to record. Called when a run opens its checkpoint.
 */
export function checkShardMeta(store: Checkpoint, settings: Pick<JobSettings, 'shard' | 'checkpoint'>, resumed: boolean): { shard: ShardMeta | null } {
  const now = settings.shard ? shardMeta(settings.shard) : null;
  const was = store.getMeta('shard') ?? null;
  if (resumed && JSON.stringify(was) !== JSON.stringify(now)) {
    const name = (m: ShardMeta | null) => (m ? `shard ${m.index} of ${m.count} (blocks of ${m.block})` : 'the whole job');
    throw new CheckpointError(`${settings.checkpoint} holds ${name(was)}, not ${name(now)}. Resuming would mix results; pass the --shard it was started with, or another --checkpoint.`);
  }
  return { shard: now };
}

export type ShardStateName = 'missing' | 'other-job' | 'unfinished' | 'finished';

export interface ShardState {
  index: number;
  checkpoint: string;
  state: ShardStateName;
  /** For 'other-job': what differs. */
  reason?: string;
  /** Rows the shard owns (known once it has read the whole input), done, failed, pending. */
  rows: { total: number | null; done: number; failed: number; pending: number | null };
  lastRun: RunRecord | undefined;
  /** Open for a matching shard (the caller closes it with closeShards). */
  store?: Checkpoint;
}

export interface ShardSet {
  /** The job the shards must belong to: from the job file, else as the first shard found recorded it. */
  settings: JobSettings | undefined;
  jobCheckpoint: string;
  count: number;
  shards: ShardState[];
}

/**
 * `status`/`export` with --shards take the job file, or the job's checkpoint path (which need not exist)
 * or any shard's checkpoint: the shards' paths are derived from it.
 */
export function jobOfTarget(target: string): { jobCheckpoint: string; settings: JobSettings | undefined } {
  if (/\.sqlite3?$/i.test(target)) return { jobCheckpoint: jobCheckpointOf(path.resolve(target)), settings: undefined };
  // A job file may name one task's shard; status and merge look at all of them.
  const { shard: _oneTask, ...values } = loadJobFile(target);
  const settings = resolveSettings(values);
  return { jobCheckpoint: settings.checkpoint, settings };
}

/** A shard's checkpoint path back to the job's (unchanged if it is the job's). */
function jobCheckpointOf(checkpoint: string): string {
  return path.join(path.dirname(checkpoint), path.basename(checkpoint).replace(/\.shard-\d+-of-\d+(?=\.)/, ''));
}

function describe(v: unknown): string {
  return v === null || v === undefined ? '(unset)' : JSON.stringify(v);
}

/** What differs between a shard's checkpoint and the job (empty: it belongs to the job). */
function differences(store: Checkpoint, index: number, count: number, job: JobSettings, input: InputFingerprint): string[] {
  const out: string[] = [];
  const meta = store.getMeta('shard') ?? null;
  const want = shardMeta({ index, count });
  if (JSON.stringify(meta) !== JSON.stringify(want)) {
    out.push(meta ? `it is shard ${meta.index} of ${meta.count} (blocks of ${meta.block}), not ${index} of ${count}` : 'it is not a shard checkpoint');
  }
  const fp = store.getMeta('fingerprint');
  if (!fp || fp.size !== input.size || fp.sample !== input.sample) out.push('it labeled another version of the input');
  const was = store.getMeta('result_settings') ?? {};
  const now = resultSettings(job);
  for (const key of Object.keys(now)) {
    if (JSON.stringify(was[key] ?? null) !== JSON.stringify(now[key] ?? null)) out.push(`${key} ${describe(was[key])}, not ${describe(now[key])}`);
  }
  const limit = store.getMeta('settings')?.limit ?? null;
  if (limit !== (job.limit ?? null)) out.push(`limit ${describe(limit)}, not ${describe(job.limit)}`);
  return out;
}

/** Opens every shard checkpoint of the job that exists and says what state each is in. */
export async function openShards(target: string, count: number): Promise<ShardSet> {
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`--shards must be the number of shards (a whole number ≥ 1), got ${String(count)}.`);
  const { jobCheckpoint, settings: fromJobFile } = jobOfTarget(target);
  const paths = Array.from({ length: count }, (_, index) => shardCheckpoint(jobCheckpoint, { index, count }));
  const shards: ShardState[] = paths.map((checkpoint, index) => ({ index, checkpoint, state: 'missing', rows: { total: null, done: 0, failed: 0, pending: null }, lastRun: undefined }));
  const opened: Checkpoint[] = [];
  try {
    for (const s of shards) if (existsSync(s.checkpoint)) opened[s.index] = Checkpoint.openReadOnly(s.checkpoint); // status and export only read
    const settings = fromJobFile ?? opened.find(Boolean)?.getMeta('settings');
    const input = settings ? await fingerprintInput(settings.input) : undefined;
    for (const s of shards) {
      const store = opened[s.index];
      if (!store) continue;
      const total = store.getMeta('rows_total') ?? null;
      const { done, failed, skipped } = store.counts();
      // Skipped rows (empty texts) are finished too.
      s.rows = { total, done, failed, pending: total === null ? null : Math.max(0, total - done - failed - skipped) };
      s.lastRun = store.runs().at(-1);
      const diff = settings && input ? differences(store, s.index, count, settings, input) : ['it has no job settings yet'];
      if (diff.length) {
        s.state = 'other-job';
        s.reason = diff.join('; ');
        store.close();
        continue;
      }
      s.store = store;
      s.state = s.rows.pending === 0 ? 'finished' : 'unfinished';
    }
    return { settings, jobCheckpoint, count, shards };
  } catch (err) {
    for (const st of opened) st?.close();
    throw err;
  }
}

export function closeShards(set: ShardSet): void {
  for (const s of set.shards) s.store?.close();
}

/**
 * One job as N independent tasks: which rows a shard owns, where its checkpoint lives, and where an `auto`
 * index comes from. The split is by row ordinal, never by byte range (a quoted CSV field may hold line
 * breaks, so only a reader that has read every row before knows where row k starts).
 */
import path from 'node:path';
import { UsageError } from '../errors.js';

/** A shard of a job: `index` of `count`, 0-based (0 ≤ index < count). */
export interface ShardSpec {
  index: number;
  count: number;
  /** The environment variable an `auto` index was read from (for the log); absent when given as a number. */
  from?: string;
}

/**
 * Rows are dealt to shards in blocks of this many consecutive ordinals, round robin: block b belongs to
 * shard b mod N. Blocks, not single rows: copies of a text usually sit close together in a file (scraped
 * pages, repeated templates) and dedupe is per shard, so keeping neighbours together keeps them deduped.
 * Small blocks, not N contiguous ranges: files are often ordered (by date, source, length), and a range
 * split hands one shard all the long texts; with 256-row blocks every shard gets an even mix once the
 * job has a few thousand rows, and the shards' shares differ by at most 256 rows. The test per row is one
 * division: a skipped row costs its read and nothing else.
 */
export const SHARD_BLOCK = 256;

/** Scheduler variables that carry a task's 0-based index, in the order they are looked at. */
export const INDEX_VARIABLES = ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX', 'AWS_BATCH_JOB_ARRAY_INDEX', 'CLOUD_RUN_TASK_INDEX'] as const;

/** The shard that owns row `ordinal`. */
export function shardOf(ordinal: number, count: number): number {
  return Math.floor(ordinal / SHARD_BLOCK) % count;
}

/** Whether a shard owns a row: every row for an unsharded job. */
export function ownsRow(shard: Pick<ShardSpec, 'index' | 'count'> | undefined): (ordinal: number) => boolean {
  if (!shard || shard.count === 1) return () => true;
  const { index, count } = shard;
  return (ordinal) => Math.floor(ordinal / SHARD_BLOCK) % count === index;
}

/** How many of the first `rows` rows of a job the shard owns (its share of the total). */
export function shardRows(rows: number, shard: Pick<ShardSpec, 'index' | 'count'> | undefined): number {
  if (!shard || shard.count === 1) return rows;
  const round = SHARD_BLOCK * shard.count;
  const whole = Math.floor(rows / round) * SHARD_BLOCK;
  const rest = rows % round;
  return whole + Math.min(SHARD_BLOCK, Math.max(0, rest - shard.index * SHARD_BLOCK));
}

/** `rows` of a job, or undefined, as the shard's share. */
export function shardRowsOf(rows: number | undefined, shard: Pick<ShardSpec, 'index' | 'count'> | undefined): number | undefined {
  return rows === undefined ? undefined : shardRows(rows, shard);
}

function wholeNumber(text: string): number | undefined {
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * Parses `I/N` (`--shard 2/4`) or `auto/N`, whose index comes from the scheduler's environment. N is never
 * taken from the environment: a resubmitted Slurm task (`--array=2`) sees SLURM_ARRAY_TASK_COUNT=1.
 */
export function parseShard(value: string, env: NodeJS.ProcessEnv = process.env): ShardSpec {
  const m = /^\s*([^/\s]+)\s*\/\s*([^/\s]+)\s*$/.exec(value);
  const count = m ? wholeNumber(m[2]!) : undefined;
  if (!m || count === undefined || count < 1) {
    throw new UsageError(`--shard must be I/N (e.g. 0/4) or auto/N, with N the number of shards, got ${JSON.stringify(value)}.`);
  }
  if (m[1] === 'auto') {
    const name = INDEX_VARIABLES.find((v) => env[v] !== undefined && env[v] !== '');
    if (!name) throw new UsageError(`--shard auto/${count}: none of ${INDEX_VARIABLES.join(', ')} is set, so the task index is unknown; pass it as --shard I/${count}.`);
    const index = wholeNumber(env[name]!.trim());
    if (index === undefined || index >= count) {
      throw new UsageError(`--shard auto/${count}: ${name}=${env[name]} is not a task index from 0 to ${count - 1}. Submit ${count} tasks numbered 0-${count - 1} (e.g. sbatch --array=0-${count - 1}).`);
    }
    return { index, count, from: name };
  }
  const index = wholeNumber(m[1]!);
  if (index === undefined || index >= count) throw new UsageError(`--shard ${value}: the index must be a whole number from 0 to ${count - 1}.`);
  return { index, count };
}

/** Validates a library caller's `shard: { index, count }`. */
export function checkShard(shard: ShardSpec): ShardSpec {
  const { index, count } = shard;
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new UsageError(`shard must be { index, count } with whole numbers 0 ≤ index < count, got ${JSON.stringify({ index, count })}.`);
  }
  return shard;
}

/**
 * A shard's checkpoint, next to the job's: `out/job.batchlabel.sqlite` → `out/job.shard-2-of-4.batchlabel.sqlite`
 * (a --checkpoint path without that suffix gets `.shard-2-of-4` before its extension).
 */
export function shardCheckpoint(jobCheckpoint: string, shard: Pick<ShardSpec, 'index' | 'count'>): string {
  const tag = `.shard-${shard.index}-of-${shard.count}`;
  const suffix = '.batchlabel.sqlite';
  if (jobCheckpoint.endsWith(suffix)) return `${jobCheckpoint.slice(0, -suffix.length)}${tag}${suffix}`;
  const ext = path.extname(jobCheckpoint);
  return `${jobCheckpoint.slice(0, jobCheckpoint.length - ext.length)}${tag}${ext}`;
}

/** For the log: "shard 2 of 4 (0-based; index from SLURM_ARRAY_TASK_ID)". */
export function describeShard(shard: ShardSpec): string {
  return `shard ${shard.index} of ${shard.count} (0-based${shard.from ? `; index from ${shard.from}` : ''})`;
}

/**
 * A job's settings as one shard of it: its rows only, into its own checkpoint next to the job's. For
 * library callers (`shard: { index, count }`); the CLI's --shard goes through resolveSettings.
 */
export function shardSettings<S extends { checkpoint: string; shard?: ShardSpec }>(settings: S, shard: ShardSpec): S {
  const spec = checkShard(shard);
  return { ...settings, shard: spec, checkpoint: shardCheckpoint(settings.checkpoint, spec) };
}

/**
 * The export of a sharded job: the input read once, each row written with the result of the shard that
 * owns it, so the file is the one a single process would have written (same writer, same row order, same
 * results for the same texts).
 */
import { ExportError } from '../errors.js';
import type { JobSettings } from '../job/settings.js';
import { shardOf } from '../shard/shard.js';
import type { ShardSet, ShardState } from '../shard/shards.js';
import type { StoredRow } from '../store/checkpoint.js';
import { resultsInOrder, writeExport, type ExportOptions } from './export.js';
import type { ExportSummary } from './output-file.js';
import { exportCheck, type RowCheck } from './verify.js';
import { knownScoreLabels } from '../tasks/index.js';

export interface MergeSummary extends ExportSummary {
  /** Shards whose rows were left blank (--partial): missing, unfinished or from another job. */
  leftOut: number[];
}

function problem(s: ShardState, count: number): string {
  switch (s.state) {
    case 'missing':
      return `shard ${s.index} missing (no ${s.checkpoint})`;
    case 'unfinished':
      return `shard ${s.index} unfinished (${s.rows.done + s.rows.failed}${s.rows.total === null ? '' : ` of ${s.rows.total}`} rows done)`;
    case 'other-job':
      return `shard ${s.index} of ${count} is from another job (${s.reason})`;
    default:
      return `shard ${s.index} finished`;
  }
}

/** What stops a merge: one line naming every shard that is not finished or not of this job; undefined if none. */
export function mergeBlockers(set: ShardSet): string | undefined {
  const bad = set.shards.filter((s) => s.state !== 'finished');
  return bad.length ? bad.map((s) => problem(s, set.count)).join('; ') : undefined;
}

/** SQLite's ORDER BY on text (bytes of UTF-8), as a single checkpoint lists its labels. */
function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Writes the job's export from its shards. Refuses while a shard is missing, unfinished or from another
 * job, unless `partial`: then only finished and unfinished shards of this job give results, the rows of
 * the others are left blank (a shard of another job never gives any).
 */
export async function exportMerged(set: ShardSet, settings: JobSettings, opts: ExportOptions): Promise<MergeSummary> {
  const blockers = mergeBlockers(set);
  if (blockers && !opts.partial) {
    throw new ExportError(`cannot merge ${set.count} shards: ${blockers}. Run or resume them (\`batchlabel run JOB --shard I/${set.count}\`), or export what there is with --partial.`);
  }
  const usable = set.shards.map((s) => (s.store && (s.state === 'finished' || opts.partial) ? s.store : undefined));
  const lookups = usable.map((store) => (store ? resultsInOrder(store) : () => undefined));
  const seenLabels = () => [...new Set(usable.flatMap((st) => st?.labels() ?? []))].sort(byUtf8);
  const count = set.count;
  // Each shard's lookup is asked its own rows only, in increasing order, as resultsInOrder requires.
  const lookup = (ordinal: number): StoredRow | undefined => lookups[shardOf(ordinal, count)]!(ordinal);
  const checks = usable.map((store): RowCheck | undefined => store && exportCheck(store, settings.input, knownScoreLabels(settings)));
  const check: RowCheck = (row, result) => checks[shardOf(row.ordinal, count)]?.(row, result);
  const summary = await writeExport(settings, opts, seenLabels, settings.limit, lookup, undefined, check);
  return { ...summary, leftOut: set.shards.filter((s) => s.state !== 'finished').map((s) => s.index) };
}

/**
 * The report of a job run as N shards: each shard's checkpoint is asked what one checkpoint is asked
 * (data.ts), and the answers are combined into the whole job's. Counts add up; the score quartiles are
 * read off the shards' fine histograms added bin by bin, so they are what one checkpoint would give.
 * Only shards that belong to the job (finished or unfinished) contribute; the others are listed as such.
 */
import { shardsReport } from '../api/shards.js';
import { UsageError } from '../errors.js';
import type { ShardSet } from '../shard/shards.js';
import type { Checkpoint } from '../store/checkpoint.js';
import {
  everyLabelScores,
  FINE_BUCKETS,
  labelDistribution,
  lowestConfidence,
  mergeScoreSummaries,
  scoreRange,
  scoreSummaries,
  type LabelCount,
  type LabelPair,
  type LabelScoreSpread,
  type ScoreRange,
  type UncertainRow,
} from '../store/queries.js';
import { FAILURE_EXAMPLES, failureSummaries, jobOf, keepsEveryScore, lowRows, runSummaries, type ReportData, type ReportOptions } from './data.js';

const byLabel = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export async function gatherShardsReport(set: ShardSet, opts: ReportOptions = {}): Promise<ReportData> {
  const settings = set.settings;
  if (!settings) throw new UsageError(`no shard of ${set.jobCheckpoint} has started, and no job file was given: nothing to report.`);
  const stores = set.shards.flatMap((s) => (s.store ? [{ index: s.index, store: s.store }] : []));
  const bins = opts.bins ?? 20;
  const threshold = opts.threshold ?? 0.5;
  const status = shardsReport(set);
  const totals = set.shards.map((s) => s.rows.total);
  const first = stores[0]?.store;
  const lowest = mergeLowest(stores.map((s) => lowestConfidence(s.store.database, opts.lowest ?? 25)), opts.lowest ?? 25);
  return {
    generatedAt: new Date().toISOString(),
    checkpoint: set.jobCheckpoint,
    job: jobOf(settings, [...new Set(stores.flatMap((s) => s.store.labels()))].sort(byLabel), first?.getMeta('model_identity'), earliest(stores.map((s) => s.store.getMeta('created_at') ?? null))),
    rows: {
      // Known once every shard of the job has read the whole input.
      total: stores.length === set.count && totals.every((t) => t !== null) ? totals.reduce((a: number, t) => a + t!, 0) : null,
      done: status.total.done,
      failed: status.total.failed,
      pending: status.total.pending,
      truncated: stores.reduce((a, s) => a + s.store.counts().truncated, 0),
    },
    labels: mergeLabels(stores.map((s) => labelDistribution(s.store.database))),
    scores: mergedScores(stores.map((s) => s.store), bins),
    everyLabel: keepsEveryScore(settings) ? { threshold, ...mergeEveryLabel(stores.map((s) => everyLabelScores(s.store.database, bins, threshold))) } : null,
    runs: stores.flatMap((s) => runSummaries(s.store).map((r) => ({ ...r, shard: s.index }))),
    failures: mergeFailures(stores.map((s) => failureSummaries(s.store))),
    // Every shard of the job labeled the same input (openShards checks its fingerprint), so any one's will do.
    ...(await lowRows(settings, first?.getMeta('fingerprint'), lowest, opts)),
    shards: status,
  };
}

function earliest(times: (string | null)[]): string | null {
  const known = times.filter((t): t is string => t !== null).sort();
  return known[0] ?? null;
}

export function mergeLabels(parts: LabelCount[][]): LabelCount[] {
  const counts = new Map<string, number>();
  for (const part of parts) for (const l of part) counts.set(l.label, (counts.get(l.label) ?? 0) + l.count);
  const total = [...counts.values()].reduce((a, c) => a + c, 0);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || byLabel(a[0], b[0]))
    .map(([label, count]) => ({ label, count, share: total ? count / total : 0 }));
}

/** Histograms over the shards' common range, fine enough to read the quartiles off their sum. */
function mergedScores(stores: Checkpoint[], bins: number): ReportData['scores'] {
  const range = stores.map((s) => scoreRange(s.database)).reduce<ScoreRange | null>((a, r) => (!a ? r : !r ? a : { lo: Math.min(a.lo, r.lo), hi: Math.max(a.hi, r.hi) }), null);
  if (!range) return [];
  return mergeScoreSummaries(stores.map((s) => scoreSummaries(s.database, FINE_BUCKETS, range)), bins, range);
}

/** Every label's histogram is over 0..1 in the same bins on every shard: they add up bin by bin, as do the pairs. */
export function mergeEveryLabel(parts: { labels: LabelScoreSpread[]; pairs: LabelPair[] }[]): { labels: LabelScoreSpread[]; pairs: LabelPair[] } {
  const labels = new Map<string, LabelScoreSpread>();
  const pairs = new Map<string, LabelPair>();
  for (const part of parts) {
    for (const l of part.labels) {
      const m = labels.get(l.label);
      if (!m) labels.set(l.label, { ...l, histogram: l.histogram.map((b) => ({ ...b })) });
      else {
        m.rows += l.rows;
        m.above += l.above;
        l.histogram.forEach((b, i) => (m.histogram[i]!.count += b.count));
      }
    }
    for (const p of part.pairs) {
      const key = JSON.stringify([p.a, p.b]);
      const m = pairs.get(key);
      if (m) m.rows += p.rows;
      else pairs.set(key, { ...p });
    }
  }
  return {
    labels: [...labels.values()].sort((x, y) => y.above - x.above || x.label.localeCompare(y.label)),
    pairs: [...pairs.values()].sort((x, y) => y.rows - x.rows || byLabel(x.a, y.a) || byLabel(x.b, y.b)),
  };
}

/** Kinds add up; the examples are the first of every shard's, in input order. */
export function mergeFailures(parts: ReportData['failures'][]): ReportData['failures'] {
  const kinds = new Map<string, ReportData['failures'][number]>();
  for (const part of parts) {
    for (const f of part) {
      const m = kinds.get(f.kind);
      if (m) {
        m.count += f.count;
        m.examples.push(...f.examples);
      } else kinds.set(f.kind, { kind: f.kind, count: f.count, examples: [...f.examples] });
    }
  }
  const line = (l: number | null) => l ?? Number.MAX_SAFE_INTEGER;
  return [...kinds.values()]
    .sort((a, b) => b.count - a.count)
    .map((f) => ({ ...f, examples: f.examples.sort((a, b) => line(a.line) - line(b.line)).slice(0, FAILURE_EXAMPLES) }));
}

/** The n lowest of the shards' n lowest each: the job's n lowest (ties: input order, as in one checkpoint). */
export function mergeLowest(parts: UncertainRow[][], n: number): UncertainRow[] {
  return parts
    .flat()
    .sort((a, b) => a.score - b.score || a.ordinal - b.ordinal)
    .slice(0, n);
}

/**
 * Read-side questions about a job's results, answered in SQL over the checkpoint's `rows` table: the
 * label mix, how the scores spread per label, the rows a person should look at first, and which rows a
 * review export keeps. Each query scans the table at most once; none keeps more in memory than its answer.
 */
import { Inconsistent } from './errors.js';
import type Database from 'better-sqlite3';

export interface LabelCount {
  label: string;
  count: number;
  /** Of the labeled rows, 0..1. */
  share: number;
}

/** Labeled rows per predicted label, most frequent first. */
export function labelDistribution(db: Database.Database): LabelCount[] {
  const rows = db
    .prepare('SELECT label, COUNT(*) AS count FROM rows WHERE status = 1 GROUP BY label ORDER BY count DESC, label')
    .all() as { label: string; count: number }[];
  const total = rows.reduce((a, r) => a + r.count, 0);
  return rows.map((r) => ({ label: r.label, count: r.count, share: total ? r.count / total : 0 }));
}

export interface ScoreSummary {
  label: string;
  count: number;
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
  /** `bins` equal-width counts from `min` to `max` (the last bin includes `max`). */
  histogram: { from: number; to: number; count: number }[];
}

/**
 * Buckets per label for the quartiles: they are read off a histogram this fine instead of sorting each
 * label's scores (one grouped scan instead of one sort per label and quartile). A quartile is then the
 * score of the row at that rank (the lower one, rank ⌊q·(n−1)⌋) to within 1/4096 of the score range
 * (0..1 for probabilities): below the three decimals anyone reads.
 */
export const FINE_BUCKETS = 4096;

/** The x range every label's histogram shares: 0..1, widened to the scores when they are raw logits. */
export interface ScoreRange {
  lo: number;
  hi: number;
}

/** The common range of a checkpoint's top scores; null when no row has one. */
export function scoreRange(db: Database.Database): ScoreRange | null {
  const r = db.prepare('SELECT MIN(score) AS min, MAX(score) AS max FROM rows WHERE status = 1 AND score IS NOT NULL').get() as { min: number | null; max: number | null };
  return r.min === null || r.max === null ? null : { lo: Math.min(0, r.min), hi: Math.max(1, r.max) };
}

/**
 * The top score's spread per predicted label: quartiles and a histogram of `bins` bins over `range`
 * (several checkpoints of one job pass their common range, so their histograms add up bin by bin).
 */
export function scoreSummaries(db: Database.Database, bins = 20, range: ScoreRange | null = scoreRange(db)): ScoreSummary[] {
  const ranges = db
    .prepare('SELECT label, COUNT(*) AS count, MIN(score) AS min, MAX(score) AS max FROM rows WHERE status = 1 AND score IS NOT NULL GROUP BY label ORDER BY count DESC, label')
    .all() as { label: string; count: number; min: number; max: number }[];
  if (!ranges.length || !range) return [];
  // Scores are probabilities unless the job asked for raw logits (--function-to-apply none): bucket the
  // common range, so every label's histogram shares its x axis.
  const { lo, hi } = range;
  const width = (hi - lo) / FINE_BUCKETS;
  const fine = new Map(ranges.map((r) => [r.label, new Float64Array(FINE_BUCKETS)]));
  const grouped = db
    .prepare(`SELECT label, MIN(CAST((score - ?) / ? AS INTEGER), ${FINE_BUCKETS - 1}) AS bucket, COUNT(*) AS count FROM rows WHERE status = 1 AND score IS NOT NULL GROUP BY label, bucket`)
    .raw(true)
    .all(lo, width) as [string, number, number][];
  for (const [label, bucket, count] of grouped) {
    const counts = fine.get(label);
    if (!counts || !(bucket >= 0 && bucket < FINE_BUCKETS)) throw new Inconsistent(`the scores of label ${JSON.stringify(label)} do not match the label counts`);
    counts[bucket] = count;
  }
  return ranges.map((r) => summaryOf(r, fine.get(r.label)!, bins, range));
}

function summaryOf(r: { label: string; count: number; min: number; max: number }, counts: Float64Array, bins: number, { lo, hi }: ScoreRange): ScoreSummary {
  const width = (hi - lo) / counts.length;
  const at = (q: number) => Math.min(r.max, Math.max(r.min, quantileOf(counts, r.count, q, lo, width)));
  return { label: r.label, count: r.count, min: r.min, q1: at(0.25), median: at(0.5), q3: at(0.75), max: r.max, histogram: coarsen(counts, bins, lo, hi) };
}

/**
 * One job's spread from its parts' (shards'): each part's `scoreSummaries(db, FINE_BUCKETS, range)`
 * over the same `range`. The fine counts add up, so the quartiles are those one checkpoint would give.
 */
export function mergeScoreSummaries(parts: readonly ScoreSummary[][], bins: number, range: ScoreRange): ScoreSummary[] {
  const merged = new Map<string, { label: string; count: number; min: number; max: number; counts: Float64Array }>();
  for (const part of parts) {
    for (const s of part) {
      let m = merged.get(s.label);
      if (!m) merged.set(s.label, (m = { label: s.label, count: 0, min: s.min, max: s.max, counts: new Float64Array(FINE_BUCKETS) }));
      m.count += s.count;
      m.min = Math.min(m.min, s.min);
      m.max = Math.max(m.max, s.max);
      s.histogram.forEach((b, i) => (m.counts[i]! += b.count));
    }
  }
  return [...merged.values()].sort((a, b) => b.count - a.count || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0)).map((m) => summaryOf(m, m.counts, bins, range));
}

/** The q-quantile of `total` values bucketed into `counts`, interpolated inside its bucket. */
function quantileOf(counts: Float64Array, total: number, q: number, lo: number, width: number): number {
  const rank = q * (total - 1);
  let seen = 0;
  for (let b = 0; b < counts.length; b++) {
    const c = counts[b]!;
    if (seen + c > rank) return lo + width * (b + (rank - seen + 0.5) / c);
    seen += c;
  }
  return lo + width * counts.length;
}

function coarsen(fine: Float64Array, bins: number, lo: number, hi: number): ScoreSummary['histogram'] {
  const per = fine.length / bins;
  const step = (hi - lo) / bins;
  const out: ScoreSummary['histogram'] = [];
  for (let i = 0; i < bins; i++) {
    let count = 0;
    for (let b = Math.round(i * per); b < Math.round((i + 1) * per); b++) count += fine[b]!;
    out.push({ from: lo + i * step, to: lo + (i + 1) * step, count });
  }
  return out;
}

export interface UncertainRow {
  ordinal: number;
  label: string;
  score: number;
}

/** The `n` labeled rows whose top score is lowest (ties: input order): the ones to check first. */
export function lowestConfidence(db: Database.Database, n: number): UncertainRow[] {
  // ORDER BY … LIMIT keeps a sorter of n rows, not the table.
  return db
    .prepare('SELECT ordinal, label, score FROM rows WHERE status = 1 AND score IS NOT NULL ORDER BY score, ordinal LIMIT ?')
    .all(n) as UncertainRow[];
}

/** Which labeled rows a review export keeps. Every field optional; all given must hold. */
export interface RowSelection {
  /** Only rows predicted this label. */
  label?: string;
  /** Only rows whose top score is below this. */
  maxScore?: number;
  /** A random sample of this many of the rows the other conditions keep. */
  sample?: number;
  /** Seed of the sample: the same seed picks the same rows. @default 1 */
  seed?: number;
}

/**
 * A seeded 32-bit hash of an ordinal (murmur3's finalizer over ordinal ⊕ seed-mix). Ranking rows by it
 * and keeping the lowest n is a uniform sample that depends only on (seed, ordinal): the same on every
 * run, and a sample of 50 is the first 50 of a sample of 100.
 */
export function sampleRank(ordinal: number, seed: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ ordinal ^ Math.floor(ordinal / 0x1_0000_0000)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function whereOf(sel: RowSelection): { sql: string; params: unknown[] } {
  const parts = ['status = 1'];
  const params: unknown[] = [];
  if (sel.label !== undefined) {
    parts.push('label = ?');
    params.push(sel.label);
  }
  if (sel.maxScore !== undefined) {
    parts.push('score < ?');
    params.push(sel.maxScore);
  }
  return { sql: parts.join(' AND '), params };
}

/**
 * The ordinals of a sample (selection with `sample` set), ascending. Ranked in SQL with the hash as a
 * function, so only the n kept ordinals ever reach JavaScript memory.
 */
export function sampledOrdinals(db: Database.Database, sel: RowSelection & { sample: number }): number[] {
  const seed = sel.seed ?? 1;
  db.function('batchlabel_sample_rank', { deterministic: true }, (o: unknown) => sampleRank(Number(o), seed));
  const { sql, params } = whereOf(sel);
  const picked = db
    .prepare(`SELECT ordinal FROM rows WHERE ${sql} ORDER BY batchlabel_sample_rank(ordinal), ordinal LIMIT ?`)
    .pluck()
    .all(...params, sel.sample) as number[];
  return picked.sort((a, b) => a - b);
}

/** How many labeled rows a selection's conditions (without the sample) keep. */
export function countSelected(db: Database.Database, sel: RowSelection): number {
  const { sql, params } = whereOf(sel);
  return db.prepare(`SELECT COUNT(*) FROM rows WHERE ${sql}`).pluck().get(...params) as number;
}

export interface LabelScoreSpread {
  label: string;
  /** Rows that have a score for this label (with --top-k, only the rows where it was among the K). */
  rows: number;
  /** Rows scoring at least the threshold. */
  above: number;
  /** `bins` equal-width bins over 0..1; scores outside it fall in the end bins. */
  histogram: { from: number; to: number; count: number }[];
}

export interface LabelPair {
  a: string;
  b: string;
  /** Rows where both labels score at least the threshold. */
  rows: number;
}

/**
 * Every label's score, for jobs that keep them all (--all-scores, --top-k > 1: the `scores` column):
 * a histogram per label, and how often two labels both reach `threshold` on the same row (what a
 * multi-label job predicts together). Read with SQLite's json_each, in two grouped scans.
 */
export function everyLabelScores(db: Database.Database, bins = 20, threshold = 0.5): { labels: LabelScoreSpread[]; pairs: LabelPair[] } {
  const grouped = db
    .prepare(
      // Not "AS label": GROUP BY would take rows.label, the predicted label, instead.
      `SELECT json_extract(j.value, '$.label') AS scored_label, MAX(0, MIN(CAST(json_extract(j.value, '$.score') * ? AS INTEGER), ? - 1)) AS bin,
              COUNT(*) AS count, SUM(json_extract(j.value, '$.score') >= ?) AS above
       FROM rows, json_each(rows.scores) AS j WHERE rows.status = 1 AND rows.scores IS NOT NULL GROUP BY scored_label, bin`,
    )
    .raw(true)
    .all(bins, bins, threshold) as [string, number, number, number][];
  const byLabel = new Map<string, LabelScoreSpread>();
  for (const [label, bin, count, above] of grouped) {
    let s = byLabel.get(label);
    if (!s) {
      s = { label, rows: 0, above: 0, histogram: Array.from({ length: bins }, (_, i) => ({ from: i / bins, to: (i + 1) / bins, count: 0 })) };
      byLabel.set(label, s);
    }
    s.rows += count;
    s.above += above;
    s.histogram[bin]!.count += count;
  }
  const pairs = db
    .prepare(
      `SELECT json_extract(x.value, '$.label') AS first, json_extract(y.value, '$.label') AS second, COUNT(*) AS together
       FROM rows, json_each(rows.scores) AS x, json_each(rows.scores) AS y
       WHERE rows.status = 1 AND rows.scores IS NOT NULL AND json_extract(x.value, '$.score') >= ? AND json_extract(y.value, '$.score') >= ?
         AND json_extract(x.value, '$.label') < json_extract(y.value, '$.label')
       GROUP BY first, second ORDER BY together DESC, first, second`,
    )
    .raw(true)
    .all(threshold, threshold) as [string, string, number][];
  return {
    labels: [...byLabel.values()].sort((x, y) => y.above - x.above || x.label.localeCompare(y.label)),
    pairs: pairs.map(([a, b, rows]) => ({ a, b, rows })),
  };
}

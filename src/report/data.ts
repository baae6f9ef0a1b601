/**
 * Everything the report shows, gathered from the checkpoint (and, for the rows to check, the input) into
 * plain data: the HTML is rendered from this alone, and the API hands it out too.
 */
import type { FailureKind } from '../backends/classifier.js';
import type { ShardsReport } from '../api/shards.js';
import type { JobSettings } from '../job/settings.js';
import type { Checkpoint } from '../store/checkpoint.js';
import { everyLabelScores, labelDistribution, lowestConfidence, scoreSummaries, type LabelCount, type LabelPair, type LabelScoreSpread, type ScoreSummary, type UncertainRow } from '../store/queries.js';
import type { InputFingerprint } from '../job/fingerprint.js';
import { positionsOf, type Positions } from '../io/types.js';
import { readRowTexts } from './row-texts.js';

export interface ReportData {
  generatedAt: string;
  checkpoint: string;
  job: {
    input: string;
    task: string;
    backend: JobSettings['backend'];
    model: string | null;
    /** Origin and path only: a query string or user info may carry credentials. */
    endpoint: string | null;
    labels: string[];
    /** The settings that shape the results or the speed, as [name, value] for display. */
    settings: [string, string][];
    /** What a row's `line` counts: the input's lines (CSV, JSONL) or its rows (Parquet, which has no lines). */
    positions: Positions;
    createdAt: string | null;
  };
  rows: { total: number | null; done: number; failed: number; pending: number | null; truncated: number };
  labels: LabelCount[];
  scores: ScoreSummary[];
  /** Jobs that keep every label's score (--all-scores, --top-k > 1): each label's spread, and labels reaching the threshold together. */
  everyLabel: { threshold: number; labels: LabelScoreSpread[]; pairs: LabelPair[] } | null;
  runs: RunSummary[];
  failures: { kind: FailureKind | string; count: number; examples: { line: number | null; id: string | null; error: string }[] }[];
  lowest: LowRow[];
  /** Why the lowest rows come without their texts, when they do. */
  textsNote: string | null;
  /** For a job run as shards (`report --shards N`): each shard's state and counts; null for one checkpoint. */
  shards: ShardsReport | null;
}

export interface RunSummary {
  /** The shard that ran it, in a sharded job's report. */
  shard?: number;
  id: number;
  startedAt: string;
  endedAt: string | null;
  state: string;
  rows: number;
  reused: number;
  failed: number;
  wallMs: number;
  rowsPerSecond: number;
  retries: Record<string, number>;
}

export interface LowRow {
  ordinal: number;
  line: number | null;
  id: string | null;
  label: string;
  score: number;
  text: string | null;
  chars: number | null;
}

export interface ReportOptions {
  /** Lowest-confidence rows listed. @default 25 */
  lowest?: number;
  /** Characters shown of each listed text. @default 300 */
  textChars?: number;
  /** Histogram bins per label. @default 20 */
  bins?: number;
  /** Score at which a label counts as predicted, for the co-occurrence of labels (multi-label jobs). @default 0.5 */
  threshold?: number;
}

/** `https://user:pw@host/path?key=…` → `https://host/path`. */
export function safeEndpoint(endpoint: string | undefined): string | null {
  if (!endpoint) return null;
  try {
    const u = new URL(endpoint);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(not a valid URL)';
  }
}

export function settingsShown(s: JobSettings): [string, string][] {
  const out: [string, string][] = [
    ['text column', s.textColumn],
    ['format', s.format === 'csv' && s.delimiter !== ',' ? `csv (delimiter ${JSON.stringify(s.delimiter)})` : s.format],
  ];
  if (s.idColumn) out.push(['id column', s.idColumn]);
  if (s.limit !== undefined) out.push(['limit', String(s.limit)]);
  out.push(['batch size', String(s.batchSize)], ['concurrency', String(s.concurrency)]);
  if (s.topK !== undefined) out.push(['top-k', String(s.topK)]);
  if (s.functionToApply) out.push(['score function', s.functionToApply]);
  if (s.allScores) out.push(['all scores', 'kept']);
  if (s.backend === 'onnx') {
    out.push(['device', s.onnx.device]);
    if (s.onnx.onnxFile) out.push(['onnx file', s.onnx.onnxFile]);
  } else {
    out.push(['max retries', String(s.maxRetries)], ['HF cache', s.hf.useCache ? 'allowed' : 'off']);
    if (s.hf.maxRequestsPerMinute) out.push(['max requests/min', String(s.hf.maxRequestsPerMinute)]);
  }
  if (s.output) out.push(['output', s.output]);
  return out;
}

export async function gatherReport(store: Checkpoint, settings: JobSettings, opts: ReportOptions = {}): Promise<ReportData> {
  const db = store.database;
  const total = store.getMeta('rows_total') ?? null;
  const { done, failed, skipped, truncated } = store.counts();
  const pending = total === null ? null : Math.max(0, total - done - failed - skipped);
  const low = lowestConfidence(db, opts.lowest ?? 25);
  return {
    generatedAt: new Date().toISOString(),
    checkpoint: store.path,
    job: jobOf(settings, store.labels(), store.getMeta('model_identity'), store.getMeta('created_at') ?? null),
    rows: { total, done, failed, pending, truncated },
    labels: labelDistribution(db),
    scores: scoreSummaries(db, opts.bins ?? 20),
    everyLabel: keepsEveryScore(settings) ? { threshold: opts.threshold ?? 0.5, ...everyLabelScores(db, opts.bins ?? 20, opts.threshold ?? 0.5) } : null,
    runs: runSummaries(store),
    failures: failureSummaries(store),
    ...(await lowRows(settings, store.getMeta('fingerprint'), low, opts)),
    shards: null,
  };
}

export const keepsEveryScore = (s: JobSettings): boolean => s.allScores || (s.topK ?? 1) > 1;

export function jobOf(settings: JobSettings, labels: string[], identity: Record<string, string> | undefined, createdAt: string | null): ReportData['job'] {
  return {
    input: settings.input,
    task: 'text classification',
    backend: settings.backend,
    model: settings.model ?? (settings.backend === 'onnx' ? 'default ONNX model' : null),
    endpoint: settings.backend === 'hf' ? safeEndpoint(settings.hf.endpoint) : null,
    labels,
    settings: [...settingsShown(settings), ...Object.entries(identity ?? {}).map(([k, v]): [string, string] => [k === 'onnxFile' ? 'onnx file used' : `model ${k}`, v])],
    positions: positionsOf(settings.format),
    createdAt,
  };
}

export function runSummaries(store: Checkpoint): RunSummary[] {
  return store.runs().map((r) => ({
    id: r.id,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    state: r.state,
    rows: r.rowsDone + r.rowsFailed,
    reused: r.rowsReused,
    failed: r.rowsFailed,
    wallMs: r.wallMs,
    rowsPerSecond: r.wallMs > 0 ? ((r.rowsDone + r.rowsFailed) * 1000) / r.wallMs : 0,
    retries: r.retries,
  }));
}

/** Examples shown per failure kind. */
export const FAILURE_EXAMPLES = 5;

export function failureSummaries(store: Checkpoint): ReportData['failures'] {
  return store.failuresByKind(FAILURE_EXAMPLES).map((f) => ({ kind: f.kind, count: f.count, examples: f.examples.map((e) => ({ line: e.line, id: e.rowId, error: e.error })) }));
}

/** The least confident rows with their texts read back from the input (or the reason they are not). */
export async function lowRows(settings: JobSettings, fingerprint: InputFingerprint | undefined, low: UncertainRow[], opts: ReportOptions): Promise<Pick<ReportData, 'lowest' | 'textsNote'>> {
  const texts = await readRowTexts(settings, fingerprint, low.map((r) => r.ordinal), opts.textChars ?? 300);
  return {
    lowest: low.map((r) => {
      const t = texts.ok ? texts.rows.get(r.ordinal) : undefined;
      return { ordinal: r.ordinal, line: t?.line ?? null, id: t?.id ?? null, label: r.label, score: r.score, text: t?.text ?? null, chars: t?.chars ?? null };
    }),
    textsNote: texts.ok ? null : texts.reason,
  };
}

import { createHash } from 'node:crypto';
import type { FunctionToApply } from '../core/types.js';
import { redactUrl, urlHasSecrets } from '../core/redact-url.js';
import { DEFAULTS, type ParquetCompression } from './options.js';
import type { ShardSpec } from '../shard/shard.js';
import { taskResultSettings, type TaskName } from '../tasks/index.js';

/** Everything a run needs, after merging the job file, flags and defaults. Paths are absolute. */
export interface JobSettings {
  /** A local path, or a Hub dataset address (hf://datasets/...). */
  input: string;
  /** Hub dataset input: a split of its Parquet conversion, and that split's config. */
  split?: string;
  config?: string;
  format: 'csv' | 'jsonl' | 'parquet';
  /** CSV field delimiter (',' by default, '\t' for .tsv). */
  delimiter: string;
  /** Accept stray quotes inside unquoted CSV fields. */
  relaxQuotes: boolean;
  /** CSV, JSONL: the input's encoding as asked (a WHATWG name); absent: UTF-8, or the UTF-16 its byte order mark declares. */
  encoding?: string;
  /** CSV column name, or JSONL field (dotted path allowed). */
  textColumn: string;
  /** A row whose text is empty: skipped (finished, left blank) or failed (kind bad_row). */
  empty: 'skip' | 'fail';
  /** Texts (and pairs) longer than this many characters are cut to it before they are sent, and marked truncated. */
  maxChars: number;
  idColumn?: string;
  backend: 'hf' | 'onnx';
  /** Hub id, or (onnx) a local folder. */
  model?: string;
  hf: HfSettings;
  onnx: OnnxSettings;
  /** What the model is asked (see src/tasks/). @default 'text-classification' (absent in older checkpoints) */
  task?: TaskName;
  /** zero-shot-classification: the labels to score every text against, in the user's order. */
  candidateLabels?: string[];
  /** zero-shot-classification: the hypothesis each label is put in; `{}` is the label. @default 'This example is {}.' */
  hypothesisTemplate?: string;
  /** zero-shot: score each label on its own; text-classification: the model is multi-label. Adds predicted_labels. @default false */
  multiLabel?: boolean;
  /** Score a label needs to be listed in predicted_labels. @default 0.5 */
  threshold?: number;
  /** Column (CSV) or field (JSONL) holding the second text of a pair (cross-encoders, NLI models used directly). */
  textPairColumn?: string;
  topK?: number;
  functionToApply?: FunctionToApply;
  /** Keep every label's score, not only the best one (implied by topK > 1). */
  allScores: boolean;
  concurrency: number;
  batchSize: number;
  maxRetries: number;
  limit?: number;
  output?: string;
  outputFormat?: 'csv' | 'jsonl' | 'parquet';
  /** CSV, JSONL output: its encoding (a WHATWG name); absent: the input's. */
  outputEncoding?: string;
  /** Parquet output: its page compression; absent: zstd. */
  parquetCompression?: ParquetCompression;
  checkpoint: string;
  columns: OutputColumns;
  /**
   * In CSV output, prefix added string cells that a spreadsheet would run as a formula with `'`.
   * Absent in checkpoints written before it existed: treated as on.
   * @default true
   */
  escapeFormulas?: boolean;
  /** Label only this shard's rows, into its own checkpoint (see src/shard); never writes the export. @default the whole job */
  shard?: ShardSpec;
  /** Upload the export to this Hub dataset repo (`owner/name`) when it is written. */
  pushToHub?: string;
  /** Create that repo private. @default false */
  private: boolean;
}

export interface HfSettings {
  /** POST exactly here when set; otherwise `${HF_INFERENCE_ENDPOINT}/models/<model>`. */
  endpoint?: string;
  endpointType: 'hf' | 'tei';
  /** Name of the environment variable that holds the token; the token itself is never stored. */
  tokenEnv: string;
  waitForModel: boolean;
  useCache: boolean;
  maxRequestsPerMinute?: number;
  /** Per-request timeout (headers and body), ms. */
  timeoutMs: number;
  /** Total time a run may spend waiting for a cold model, ms. */
  loadingBudgetMs: number;
  /** Longest single backoff wait, ms. */
  backoffCapMs: number;
  /**
   * The run stops when this many attempts in a row, across requests, failed for the backend's sake
   * (network, 5xx, malformed answers; a 429 counts only toward the window); 0 turns this test off.
   * @default 20
   */
  breakerFailures: number;
  /**
   * The run stops when nothing succeeded for this long (ms) since the first of those failures; 0: off.
   * @default 60_000
   */
  breakerWindowMs: number;
}

export interface OnnxSettings {
  /** File inside the model folder, e.g. onnx/model_quantized.onnx; default prefers the quantized file on CPU. */
  onnxFile?: string;
  device: 'cpu' | 'cuda';
  revision: string;
}

export interface OutputColumns {
  label: string;
  score: string;
  /** Prefix of the per-label score columns (score_<LABEL>). */
  scorePrefix: string;
  truncated: string;
  error: string;
  /** The labels scoring at least the threshold, joined by `|` (multi-label runs only). */
  labels?: string;
}

export const DEFAULT_COLUMNS: OutputColumns = {
  label: DEFAULTS.labelColumn,
  score: DEFAULTS.scoreColumn,
  scorePrefix: DEFAULTS.scorePrefix,
  truncated: DEFAULTS.truncatedColumn,
  error: DEFAULTS.errorColumn,
  labels: DEFAULTS.labelsColumn,
};

/** The settings whose change changes results: a checkpoint made with other values cannot be resumed. */
export function resultSettings(s: JobSettings): Record<string, unknown> {
  return {
    format: s.format,
    delimiter: s.delimiter,
    // Absent (null) when not asked for, so checkpoints made before it existed resume.
    encoding: s.encoding ?? null,
    textColumn: s.textColumn,
    backend: s.backend,
    model: s.model ?? null,
    // Stored for display, so without credentials; their digest still tells a changed endpoint (a URL
    // without credentials keeps no digest, as checkpoints written before it did not).
    endpoint: s.backend === 'hf' && s.hf.endpoint ? redactUrl(s.hf.endpoint) : null,
    endpointDigest: s.backend === 'hf' && s.hf.endpoint && urlHasSecrets(s.hf.endpoint) ? createHash('sha256').update(s.hf.endpoint).digest('hex') : null,
    endpointType: s.backend === 'hf' ? s.hf.endpointType : null,
    onnxFile: s.backend === 'onnx' ? (s.onnx.onnxFile ?? null) : null,
    revision: s.backend === 'onnx' ? s.onnx.revision : null,
    topK: s.topK ?? null,
    // Absent (null) at the default, so checkpoints made before texts were cut resume.
    maxChars: s.maxChars === DEFAULTS.maxChars ? null : s.maxChars,
    functionToApply: s.functionToApply ?? null,
    // Absent (null) for a text-classification job without pairs, so checkpoints made before these existed resume.
    ...taskResultSettings(s),
  };
}

/** The settings as a checkpoint keeps them for `status` and `export`: credentials in URLs hidden. */
export function storedSettings(s: JobSettings): JobSettings {
  return s.hf.endpoint && urlHasSecrets(s.hf.endpoint) ? { ...s, hf: { ...s.hf, endpoint: redactUrl(s.hf.endpoint) } } : s;
}

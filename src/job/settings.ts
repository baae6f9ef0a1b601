import type { FunctionToApply } from '../backends/classifier.js';

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
  /** CSV column name, or JSONL field (dotted path allowed). */
  textColumn: string;
  idColumn?: string;
  backend: 'hf' | 'onnx';
  /** Hub id, or (onnx) a local folder. */
  model?: string;
  hf: HfSettings;
  onnx: OnnxSettings;
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
  checkpoint: string;
  columns: OutputColumns;
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
}

export const DEFAULT_COLUMNS: OutputColumns = {
  label: 'predicted_label',
  score: 'predicted_score',
  scorePrefix: 'score_',
  truncated: 'truncated',
  error: 'error',
};

/** The settings whose change changes results: a checkpoint made with other values cannot be resumed. */
export function resultSettings(s: JobSettings): Record<string, unknown> {
  return {
    format: s.format,
    delimiter: s.delimiter,
    textColumn: s.textColumn,
    backend: s.backend,
    model: s.model ?? null,
    endpoint: s.backend === 'hf' ? (s.hf.endpoint ?? null) : null,
    endpointType: s.backend === 'hf' ? s.hf.endpointType : null,
    onnxFile: s.backend === 'onnx' ? (s.onnx.onnxFile ?? null) : null,
    revision: s.backend === 'onnx' ? s.onnx.revision : null,
    topK: s.topK ?? null,
    functionToApply: s.functionToApply ?? null,
  };
}

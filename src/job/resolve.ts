import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { JobFileError, UsageError } from '../errors.js';
import { JOB_OPTIONS, type JobValues } from './options.js';
import { isHubUri, parseDatasetUri } from '../hub/datasets.js';
import { DEFAULT_COLUMNS, type JobSettings, type OutputColumns } from './settings.js';
import type { FunctionToApply } from '../backends/classifier.js';

const PATH_KEYS = ['input', 'output', 'checkpoint'];

/** Loaded when a job file is YAML: importing it up front was ~25 ms of every command's start. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

/**
 * Reads a job file: JSON, or YAML when it ends in .yaml/.yml. Relative paths in it are relative to the
 * file, so job files can be moved with their data.
 */
export function loadJobFile(file: string): JobValues {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new JobFileError(`${file}: cannot read the job file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
  const yaml = /\.ya?ml$/i.test(file);
  let data: unknown;
  try {
    data = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message.split('\n')[0]!.replace(/:$/, '');
    throw new JobFileError(
      yaml
        ? `${file}: not valid YAML: ${message}. A job file is a mapping of settings such as "input: reviews.csv".`
        : `${file}: not valid JSON: ${message}. A job file is a JSON object such as {"input": "reviews.csv", "textColumn": "text", "model": "..."}.`,
    );
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new JobFileError(`${file}: a job file must be an object of settings, e.g. {"input": "reviews.csv"}${yaml ? ' (in YAML: "input: reviews.csv")' : ''}.`);
  }
  const dir = path.dirname(path.resolve(file));
  const out: JobValues = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (key.startsWith('$') || key === 'description') continue; // room for "$schema" and notes
    const spec = JOB_OPTIONS.find((o) => o.key === key);
    if (!spec) {
      const close = JOB_OPTIONS.find((o) => o.key.toLowerCase() === key.toLowerCase().replace(/[-_]/g, ''));
      throw new JobFileError(`${file}: unknown setting "${key}".${close ? ` Did you mean "${close.key}"?` : ''} Settings are the run flags in camelCase (see \`batchlabel run --help\`).`);
    }
    if (typeof value !== spec.type) throw new JobFileError(`${file}: "${key}" must be a ${spec.type}, got ${JSON.stringify(value)}.`);
    if (spec.choices && !spec.choices.includes(value as string)) throw new JobFileError(`${file}: "${key}" must be one of ${spec.choices.join(', ')}, got ${JSON.stringify(value)}.`);
    out[key] = PATH_KEYS.includes(key) && !isHubUri(value as string) ? path.resolve(dir, value as string) : (value as string | number | boolean);
  }
  return out;
}

export function formatFromExtension(file: string, what: string): 'csv' | 'jsonl' | 'parquet' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.parquet') return 'parquet';
  if (ext === '.csv' || ext === '.tsv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new UsageError(`cannot tell the format of ${file} from its extension; pass --${what} csv, jsonl or parquet.`);
}

function positiveInt(v: unknown, flag: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new UsageError(`--${flag} must be a whole number ≥ ${min}, got ${String(v)}.`);
  return v;
}

function seconds(v: unknown, flag: string, fallback: number): number {
  if (v === undefined) return fallback * 1000;
  if (typeof v !== 'number' || !(v > 0)) throw new UsageError(`--${flag} must be a positive number of seconds, got ${String(v)}.`);
  return Math.round(v * 1000);
}

/** Job file values, overridden by flags, completed with defaults. */
export function resolveSettings(values: JobValues): JobSettings {
  const v = values;
  if (typeof v.input !== 'string' || v.input === '') {
    throw new UsageError('no input: pass --input FILE, or a job file with "input" (e.g. `batchlabel run jobs/reviews-sentiment.json`).');
  }
  const hub = isHubUri(v.input);
  const input = hub ? v.input : path.resolve(v.input);
  if (!hub && (v.split !== undefined || v.config !== undefined)) throw new UsageError('--split and --config pick a split of a Hub dataset: use them with --input hf://datasets/<owner>/<name>.');
  const format = (v.format as JobSettings['format'] | undefined) ?? (hub && v.split !== undefined ? 'parquet' : formatFromExtension(input, 'format'));
  // Pushing needs a file to push: Parquet, named after the repo, unless --output names one.
  const output = typeof v.output === 'string' ? path.resolve(v.output) : typeof v.pushToHub === 'string' ? path.resolve(`${path.basename(v.pushToHub)}.parquet`) : undefined;
  const outputFormat = output ? ((v.outputFormat as JobSettings['outputFormat']) ?? formatFromExtension(output, 'output-format')) : undefined;
  const backend = (v.backend as JobSettings['backend'] | undefined) ?? 'hf';
  let delimiter = (v.delimiter as string | undefined) ?? (path.extname(input).toLowerCase() === '.tsv' ? '\t' : ',');
  if (delimiter === '\\t' || delimiter === 'tab') delimiter = '\t';
  if (delimiter.length !== 1) throw new UsageError(`--delimiter must be one character, got ${JSON.stringify(delimiter)}.`);
  const topK = positiveInt(v.topK, 'top-k');
  const checkpoint = typeof v.checkpoint === 'string'
    ? path.resolve(v.checkpoint)
    : output
      ? path.join(path.dirname(output), `${path.basename(output, path.extname(output))}.batchlabel.sqlite`)
      : hub
        ? path.resolve(hubCheckpointName(input, v.split as string | undefined))
        : `${input}.batchlabel.sqlite`;
  if (backend === 'hf' && v.model === undefined && v.endpoint === undefined) {
    throw new UsageError('the hf backend needs --model MODEL_ID (e.g. distilbert/distilbert-base-uncased-finetuned-sst-2-english) or --endpoint URL.');
  }
  if (v.endpoint !== undefined && !/^https?:\/\//.test(v.endpoint as string)) {
    throw new UsageError(`--endpoint must be an http(s) URL, got ${JSON.stringify(v.endpoint)}.`);
  }
  const columns = resolveColumns(v);
  if (v.private === true && v.pushToHub === undefined) throw new UsageError('--private applies to the repo --push-to-hub creates: add --push-to-hub <owner>/<name>.');
  if (v.endpointType === 'tei' && v.endpoint === undefined) {
    throw new UsageError('--endpoint-type tei needs --endpoint URL (the text-embeddings-inference server, e.g. http://host:8080).');
  }

  return {
    input,
    split: v.split as string | undefined,
    config: v.config as string | undefined,
    format,
    delimiter,
    relaxQuotes: v.relaxQuotes === true,
    textColumn: (v.textColumn as string | undefined) ?? 'text',
    idColumn: v.idColumn as string | undefined,
    backend,
    model: v.model as string | undefined,
    hf: {
      endpoint: v.endpoint as string | undefined,
      endpointType: (v.endpointType as 'hf' | 'tei' | undefined) ?? 'hf',
      tokenEnv: (v.tokenEnv as string | undefined) ?? 'HF_TOKEN',
      waitForModel: v.waitForModel === true,
      useCache: v.cache !== false,
      maxRequestsPerMinute: positiveInt(v.maxRequestsPerMinute, 'max-requests-per-minute'),
      timeoutMs: seconds(v.timeout, 'timeout', 120),
      loadingBudgetMs: seconds(v.loadingBudget, 'loading-budget', 600),
      backoffCapMs: seconds(v.backoffCap, 'backoff-cap', 60),
    },
    onnx: {
      onnxFile: v.onnxFile as string | undefined,
      device: (v.device as 'cpu' | 'cuda' | undefined) ?? 'cpu',
      revision: (v.revision as string | undefined) ?? 'main',
    },
    topK,
    functionToApply: v.functionToApply as FunctionToApply | undefined,
    allScores: v.allScores === true,
    concurrency: positiveInt(v.concurrency, 'concurrency') ?? (backend === 'hf' ? 8 : 2),
    batchSize: positiveInt(v.batchSize, 'batch-size') ?? (backend === 'hf' ? 1 : 32),
    maxRetries: positiveInt(v.maxRetries, 'max-retries', 0) ?? 6,
    limit: positiveInt(v.limit, 'limit'),
    output,
    outputFormat,
    checkpoint,
    columns,
    pushToHub: v.pushToHub as string | undefined,
    private: v.private === true,
  };
}

/** A Hub input's checkpoint, in the working folder: `owner--name[-split].batchlabel.sqlite`. */
function hubCheckpointName(input: string, split: string | undefined): string {
  const { repoId } = parseDatasetUri(input);
  return `${repoId.replace('/', '--')}${split ? `-${split.replace(/[^A-Za-z0-9._-]/g, '_')}` : ''}.batchlabel.sqlite`;
}

export function drainMs(values: JobValues): number {
  return seconds(values.drainTimeout, 'drain-timeout', 15);
}

/** Names of the added output columns: `base` (defaults, or a run's choice) overridden by `v`. */
export function resolveColumns(v: JobValues, base: OutputColumns = DEFAULT_COLUMNS): OutputColumns {
  const columns: OutputColumns = {
    label: (v.labelColumn as string | undefined) ?? base.label,
    score: (v.scoreColumn as string | undefined) ?? base.score,
    scorePrefix: (v.scorePrefix as string | undefined) ?? base.scorePrefix,
    truncated: (v.truncatedColumn as string | undefined) ?? base.truncated,
    error: (v.errorColumn as string | undefined) ?? base.error,
  };
  const names = [columns.label, columns.score, columns.truncated, columns.error];
  if (new Set(names).size !== names.length) throw new UsageError(`the added column names must differ: ${names.join(', ')}.`);
  return columns;
}

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { JobFileError, UsageError } from '../errors.js';
import { redactUrlsIn } from '../core/redact-url.js';
import { DEFAULTS, JOB_OPTIONS, PARQUET_COMPRESSIONS, type JobValues, type LabelOptions, type ParquetCompression } from './options.js';
import { isHubUri, parseDatasetUri } from '../hub/datasets.js';
import { DEFAULT_COLUMNS, type JobSettings, type OutputColumns } from './settings.js';
import type { FunctionToApply } from '../core/types.js';
import { textEncoding } from '../core/encoding.js';
import { parseShard, shardCheckpoint } from '../shard/shard.js';
import { checkpointOutput } from '../store/owner.js';
import { checkInputFolder, isFolder, localModelBackend } from './local-paths.js';
import { DEFAULT_THRESHOLD, TASKS, type TaskName } from '../tasks/index.js';
import { checkHypothesisTemplate, DEFAULT_HYPOTHESIS_TEMPLATE, parseCandidateLabels } from '../tasks/zero-shot-classification.js';

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
    const problem = checkSetting(key, value);
    if (problem) throw new JobFileError(`${file}: ${problem}`);
    out[key] = PATH_KEYS.includes(key) && !isHubUri(value as string) ? path.resolve(dir, value as string) : (value as string | number | boolean | string[]);
  }
  return out;
}

/** Why `value` is not a valid setting `key` (a job-file key or a library option), or undefined. */
function checkSetting(key: string, value: unknown): string | undefined {
  const spec = JOB_OPTIONS.find((o) => o.key === key);
  if (!spec) {
    const close = JOB_OPTIONS.find((o) => o.key.toLowerCase() === key.toLowerCase().replace(/[-_]/g, ''));
    return `unknown setting "${key}".${close ? ` Did you mean "${close.key}"?` : ''} Settings are the run flags in camelCase (see \`batchlabel run --help\`).`;
  }
  if (spec.type === 'list') {
    const ok = typeof value === 'string' || (Array.isArray(value) && value.every((x) => typeof x === 'string'));
    return ok ? undefined : `"${key}" must be a list of strings (or one comma-separated string), got ${JSON.stringify(value)}.`;
  }
  if (typeof value !== spec.type) return `"${key}" must be a ${spec.type}, got ${JSON.stringify(value)}.`;
  if (spec.choices && !spec.choices.includes(value as string)) return `"${key}" must be one of ${spec.choices.join(', ')}, got ${JSON.stringify(value)}.`;
  return undefined;
}

/** Keys of label()'s options that steer the run rather than describe the job. */
const RUN_CONTROL_KEYS = new Set(['job', 'restart', 'retryFailed', 'command']);

/** The settings of label()'s options: the job file they name, overridden by the options themselves. */
export function jobValues(options: LabelOptions & { job?: string }): JobValues {
  const out: JobValues = options.job ? loadJobFile(options.job) : {};
  for (const [key, given] of Object.entries(options)) {
    if (given === undefined || RUN_CONTROL_KEYS.has(key)) continue;
    const value = key === 'shard' && typeof given === 'object' && given !== null ? `${(given as { index: unknown }).index}/${(given as { count: unknown }).count}` : given;
    const problem = checkSetting(key, value);
    if (problem) throw new UsageError(problem);
    out[key] = value as string | number | boolean | string[];
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

/** What --output-encoding cannot apply to. */
export const PARQUET_OUTPUT = 'a Parquet output (its text is UTF-8)';

/** --parquet-compression is one of the codecs, and goes with a Parquet output (or none yet: the export takes it later). */
export function checkParquetCompression(compression: string | undefined, format: string | undefined): void {
  if (compression !== undefined && !(PARQUET_COMPRESSIONS as readonly string[]).includes(compression)) {
    throw new UsageError(`--parquet-compression must be one of ${PARQUET_COMPRESSIONS.join(', ')}, got ${JSON.stringify(compression)}.`);
  }
  if (compression !== undefined && format !== undefined && format !== 'parquet') {
    throw new UsageError(`--parquet-compression is for a Parquet output, and this one is ${format.toUpperCase()}: leave it out, or write .parquet.`);
  }
}

/** A text encoding's WHATWG name (latin1 → windows-1252); `refused` names what it cannot apply to. */
export function textEncodingName(v: unknown, flag: string, refused: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError(`--${flag} must be an encoding name such as utf-8 or windows-1252, got ${JSON.stringify(v)}.`);
  const enc = textEncoding(v, flag);
  if (refused && !enc.utf8) throw new UsageError(`--${flag} ${v} does not apply to ${refused}; leave it out.`);
  return enc.name;
}

/** Seconds as ms; `zero` allows 0 (a limit turned off). */
function seconds(v: unknown, flag: string, fallback: number, zero?: 0): number {
  if (v === undefined) return fallback * 1000;
  if (typeof v !== 'number' || !(v > 0 || (zero === 0 && v === 0))) {
    throw new UsageError(`--${flag} must be a ${zero === 0 ? 'non-negative' : 'positive'} number of seconds, got ${String(v)}.`);
  }
  return Math.round(v * 1000);
}

/** Job file values, overridden by flags, completed with defaults. */
export function resolveSettings(values: JobValues): JobSettings {
  const v = values;
  if (typeof v.input !== 'string' || v.input === '') {
    throw new UsageError('no input: pass --input FILE, or a job file with "input" (e.g. `batchlabel run jobs/reviews-sentiment.json`).');
  }
  checkInputFolder(v.input);
  const hub = isHubUri(v.input);
  const input = hub ? v.input : path.resolve(v.input);
  if (!hub && (v.split !== undefined || v.config !== undefined)) throw new UsageError('--split and --config pick a split of a Hub dataset: use them with --input hf://datasets/<owner>/<name>.');
  const format = (v.format as JobSettings['format'] | undefined) ?? (hub && v.split !== undefined ? 'parquet' : formatFromExtension(input, 'format'));
  // Pushing needs a file to push: Parquet, named after the repo, unless --output names one.
  const output = typeof v.output === 'string' ? path.resolve(v.output) : typeof v.pushToHub === 'string' ? path.resolve(`${path.basename(v.pushToHub)}.parquet`) : undefined;
  if (output && isFolder(output)) throw new UsageError(`--output ${output} is a folder: name a file (e.g. ${path.join(output, `labeled${path.extname(input) || '.csv'}`)}).`);
  const outputFormat = output ? ((v.outputFormat as JobSettings['outputFormat']) ?? formatFromExtension(output, 'output-format')) : undefined;
  const backend = (v.backend as JobSettings['backend'] | undefined) ?? localModelBackend(v.model, v.backend) ?? DEFAULTS.backend;
  if (v.backend === 'hf') localModelBackend(v.model, v.backend);
  let delimiter = (v.delimiter as string | undefined) ?? (path.extname(input).toLowerCase() === '.tsv' ? '\t' : ',');
  if (delimiter === '\\t' || delimiter === 'tab') delimiter = '\t';
  if (delimiter.length !== 1) throw new UsageError(`--delimiter must be one character, got ${JSON.stringify(delimiter)}.`);
  const encoding = textEncodingName(v.encoding, 'encoding', format === 'parquet' ? 'a Parquet input (its text is UTF-8)' : undefined);
  const outputEncoding = textEncodingName(v.outputEncoding, 'output-encoding', outputFormat === 'parquet' ? PARQUET_OUTPUT : undefined);
  const parquetCompression = v.parquetCompression as ParquetCompression | undefined;
  checkParquetCompression(parquetCompression, outputFormat);
  const topK = positiveInt(v.topK, 'top-k');
  const jobCheckpoint = typeof v.checkpoint === 'string'
    ? path.resolve(v.checkpoint)
    : output
      ? outputCheckpoint(output)
      : hub
        ? path.resolve(hubCheckpointName(input, v.split as string | undefined))
        : `${input}.batchlabel.sqlite`;
  const shard = typeof v.shard === 'string' ? parseShard(v.shard) : undefined;
  const checkpoint = shard ? shardCheckpoint(jobCheckpoint, shard) : jobCheckpoint;
  if (backend === 'hf' && v.model === undefined && v.endpoint === undefined) {
    throw new UsageError('the hf backend needs --model MODEL_ID (e.g. distilbert/distilbert-base-uncased-finetuned-sst-2-english) or --endpoint URL.');
  }
  if (v.endpoint !== undefined && !/^https?:\/\//.test(v.endpoint as string)) {
    throw new UsageError(`--endpoint must be an http(s) URL, got ${redactUrlsIn(JSON.stringify(v.endpoint))}.`);
  }
  const columns = resolveColumns(v);
  if (v.private === true && v.pushToHub === undefined) throw new UsageError('--private applies to the repo --push-to-hub creates: add --push-to-hub <owner>/<name>.');
  if (v.endpointType === 'tei' && v.endpoint === undefined) {
    throw new UsageError('--endpoint-type tei needs --endpoint URL (the text-embeddings-inference server, e.g. http://host:8080).');
  }

  const task = resolveTask(v);

  return {
    input,
    split: v.split as string | undefined,
    config: v.config as string | undefined,
    format,
    delimiter,
    relaxQuotes: v.relaxQuotes === true,
    ...(encoding ? { encoding } : {}),
    textColumn: (v.textColumn as string | undefined) ?? DEFAULTS.textColumn,
    empty: (v.empty as JobSettings['empty'] | undefined) ?? DEFAULTS.empty,
    maxChars: positiveInt(v.maxChars, 'max-chars') ?? DEFAULTS.maxChars,
    idColumn: v.idColumn as string | undefined,
    backend,
    model: v.model as string | undefined,
    hf: {
      endpoint: v.endpoint as string | undefined,
      endpointType: (v.endpointType as 'hf' | 'tei' | undefined) ?? DEFAULTS.endpointType,
      tokenEnv: (v.tokenEnv as string | undefined) ?? DEFAULTS.tokenEnv,
      waitForModel: v.waitForModel === true,
      useCache: v.cache !== false,
      maxRequestsPerMinute: positiveInt(v.maxRequestsPerMinute, 'max-requests-per-minute'),
      timeoutMs: seconds(v.timeout, 'timeout', DEFAULTS.timeout),
      loadingBudgetMs: seconds(v.loadingBudget, 'loading-budget', DEFAULTS.loadingBudget),
      backoffCapMs: seconds(v.backoffCap, 'backoff-cap', DEFAULTS.backoffCap),
      breakerFailures: positiveInt(v.breakerFailures, 'breaker-failures', 0) ?? DEFAULTS.breakerFailures,
      breakerWindowMs: seconds(v.breakerWindow, 'breaker-window', DEFAULTS.breakerWindow, 0),
    },
    onnx: {
      onnxFile: v.onnxFile as string | undefined,
      device: (v.device as 'cpu' | 'cuda' | undefined) ?? DEFAULTS.device,
      revision: (v.revision as string | undefined) ?? DEFAULTS.revision,
    },
    ...task,
    textPairColumn: v.textPairColumn as string | undefined,
    topK,
    functionToApply: v.functionToApply as FunctionToApply | undefined,
    allScores: v.allScores === true,
    concurrency: positiveInt(v.concurrency, 'concurrency') ?? DEFAULTS.concurrency[backend],
    batchSize: positiveInt(v.batchSize, 'batch-size') ?? DEFAULTS.batchSize[backend],
    maxRetries: positiveInt(v.maxRetries, 'max-retries', 0) ?? DEFAULTS.maxRetries,
    limit: positiveInt(v.limit, 'limit'),
    output,
    outputFormat,
    ...(outputEncoding ? { outputEncoding } : {}),
    ...(parquetCompression ? { parquetCompression } : {}),
    checkpoint,
    columns,
    escapeFormulas: v.escapeFormulas !== false,
    pushToHub: v.pushToHub as string | undefined,
    private: v.private === true,
    ...(shard ? { shard } : {}),
  };
}

/** The task and its settings; zero-shot settings on another task are a mistake worth a line, not silence. */
function resolveTask(v: JobValues): Pick<JobSettings, 'task' | 'candidateLabels' | 'hypothesisTemplate' | 'multiLabel' | 'threshold'> {
  const task = (v.task as TaskName | undefined) ?? 'text-classification';
  if (!TASKS.includes(task)) throw new UsageError(`--task must be one of ${TASKS.join(', ')}, got ${JSON.stringify(v.task)}.`);
  const threshold = v.threshold === undefined ? DEFAULT_THRESHOLD : v.threshold;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw new UsageError(`--threshold must be a number from 0 to 1, got ${String(v.threshold)}.`);
  // Not given: a text-classification model's config decides (see openJobCheckpoint).
  const multiLabel = v.multiLabel === undefined ? undefined : v.multiLabel === true;
  if (task !== 'zero-shot-classification') {
    const misplaced = (['candidateLabels', 'hypothesisTemplate'] as const).find((k) => v[k] !== undefined);
    if (misplaced) throw new UsageError(`--${misplaced === 'candidateLabels' ? 'candidate-labels' : 'hypothesis-template'} is for zero-shot models: add --task zero-shot-classification.`);
    return { task, multiLabel, threshold };
  }
  if (v.candidateLabels === undefined) {
    throw new UsageError('--task zero-shot-classification needs --candidate-labels, e.g. --candidate-labels "shipping,fit,price,quality".');
  }
  if (v.endpointType === 'tei') throw new UsageError('text-embeddings-inference has no zero-shot route; use --endpoint-type hf (an Inference Endpoint or the HF API), or --backend onnx.');
  if (v.textPairColumn !== undefined) throw new UsageError('--text-pair-column is for text-classification models that take pairs; zero-shot makes its own pairs from the labels.');
  if (v.topK !== undefined || v.functionToApply !== undefined) throw new UsageError('--top-k and --function-to-apply are text-classification settings; zero-shot scores every candidate label (--multi-label scores each on its own).');
  return {
    task,
    candidateLabels: parseCandidateLabels(v.candidateLabels),
    hypothesisTemplate: checkHypothesisTemplate((v.hypothesisTemplate as string | undefined) ?? DEFAULT_HYPOTHESIS_TEMPLATE),
    multiLabel,
    threshold,
  };
}

/**
 * An output's checkpoint, next to it: `out.batchlabel.sqlite` for `out.csv`, unless that file is the
 * checkpoint of another output of the same name (`out.jsonl`): then `out.jsonl.batchlabel.sqlite`. The
 * short name stays the first output's, so every checkpoint made under it resumes, and two outputs never
 * share one job (one would be refused as another job, or take the other's lock).
 */
function outputCheckpoint(output: string): string {
  const short = path.join(path.dirname(output), `${path.basename(output, path.extname(output))}.batchlabel.sqlite`);
  const owner = checkpointOutput(short);
  return owner === undefined || owner === output ? short : `${output}.batchlabel.sqlite`;
}

/** A Hub input's checkpoint, in the working folder: `owner--name[-split].batchlabel.sqlite`. */
function hubCheckpointName(input: string, split: string | undefined): string {
  const { repoId } = parseDatasetUri(input);
  return `${repoId.replace('/', '--')}${split ? `-${split.replace(/[^A-Za-z0-9._-]/g, '_')}` : ''}.batchlabel.sqlite`;
}

export function drainMs(values: JobValues): number {
  return seconds(values.drainTimeout, 'drain-timeout', DEFAULTS.drainTimeout);
}

/** Names of the added output columns: `base` (defaults, or a run's choice) overridden by `v`. */
export function resolveColumns(v: JobValues, base: OutputColumns = DEFAULT_COLUMNS): OutputColumns {
  const columns: OutputColumns = {
    label: (v.labelColumn as string | undefined) ?? base.label,
    score: (v.scoreColumn as string | undefined) ?? base.score,
    scorePrefix: (v.scorePrefix as string | undefined) ?? base.scorePrefix,
    truncated: (v.truncatedColumn as string | undefined) ?? base.truncated,
    error: (v.errorColumn as string | undefined) ?? base.error,
    labels: (v.labelsColumn as string | undefined) ?? base.labels ?? DEFAULT_COLUMNS.labels,
  };
  const names = [columns.label, columns.score, columns.truncated, columns.error, columns.labels];
  if (new Set(names).size !== names.length) throw new UsageError(`the added column names must differ: ${names.join(', ')}.`);
  return columns;
}

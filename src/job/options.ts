/**
 * Every job setting, once. `LabelOptions` is the typed form (the library's `label()` options, the job-file
 * keys, the run flags in camelCase); `DEFAULTS` holds every default in one place; `JOB_OPTIONS` gives each
 * setting its flag, type and help text, from which the CLI builds its yargs options and against which job
 * files and library options are validated, so the three can never disagree.
 */

/** Options of a labeling job. Every key is also a job-file key and a `run` flag (camelCase → kebab-case). */
export interface LabelOptions {
  /** CSV, TSV, JSONL or Parquet file to label, or a Hub dataset: hf://datasets/<owner>/<name>[@<revision>]/<path or glob>. Required (here or in the job file). */
  input?: string;
  /** Input format. @default from the extension (.tsv is tab-delimited CSV) */
  format?: 'csv' | 'jsonl' | 'parquet';
  /** hf://datasets/<owner>/<name> input: the split of its Parquet conversion to label. */
  split?: string;
  /** With split: the dataset config. @default "default", or the only one */
  config?: string;
  /** CSV field delimiter. @default "," (tab for .tsv) */
  delimiter?: string;
  /** Accept stray quotes inside unquoted CSV fields. @default false */
  relaxQuotes?: boolean;
  /**
   * CSV, JSONL: the file's text encoding (utf-8, utf-16le, utf-16be, windows-1252 or latin1, iso-8859-15 or another
   * single-byte encoding). The export is written in it too. @default UTF-8, or UTF-16 when the file starts with its byte order mark
   */
  encoding?: string;
  /** Column (CSV) or field (JSONL, dotted path allowed) holding the text. @default "text" */
  textColumn?: string;
  /** Column (CSV) or field (JSONL) holding the second text of a pair, for models that take pairs (cross-encoders, NLI). */
  textPairColumn?: string;
  /** Column identifying a row in failure reports. */
  idColumn?: string;
  /** Label only the first N rows (a trial run). */
  limit?: number;

  /** `hf`: Hugging Face Inference API or a compatible endpoint; `onnx`: local model. @default "hf" */
  backend?: 'hf' | 'onnx';
  /** What the model is asked: its own labels, or the user's `candidateLabels` through an NLI model. @default "text-classification" */
  task?: 'text-classification' | 'zero-shot-classification';
  /** zero-shot: the labels, a list or one comma-separated string (labels may contain spaces). */
  candidateLabels?: string | string[];
  /** zero-shot: the hypothesis each label is put in; {} is the label. @default "This example is {}." */
  hypothesisTemplate?: string;
  /**
   * zero-shot: score each label on its own (several may fit); text-classification: the model is
   * multi-label. Adds predicted_labels. @default false; for a local text-classification model, true when
   * its config.json says problem_type multi_label_classification
   */
  multiLabel?: boolean;
  /** With multiLabel: predicted_labels lists the labels scoring at least this. @default 0.5 */
  threshold?: number;
  /** Hub model id (hf, onnx) or local model folder (onnx). @default onnx: Xenova/distilbert-base-uncased-finetuned-sst-2-english */
  model?: string;
  /** POST exactly to this URL (Inference Endpoints, self-hosted servers). @default $HF_INFERENCE_ENDPOINT/models/<model>, else the HF router */
  endpoint?: string;
  /** Request format: Hugging Face task API, or text-embeddings-inference /predict. @default "hf" */
  endpointType?: 'hf' | 'tei';
  /** Environment variable holding the Hugging Face token. @default "HF_TOKEN" (which also falls back to the `hf auth login` file) */
  tokenEnv?: string;
  /** A row whose text is empty or only white space: "skip" it (left blank in the export, not a failure) or "fail" it (kind bad_row, exit code 4). @default "skip" */
  empty?: 'skip' | 'fail';
  /** Cut texts longer than this many characters before they are sent or tokenized (marked truncated): a 45 MB field then costs no gigabytes. @default 100000 */
  maxChars?: number;
  /** Keep the K best labels (adds one score_<LABEL> column per label). @default 1 */
  topK?: number;
  /** Score function. @default the model's (softmax for single-label, sigmoid for multi-label) */
  functionToApply?: 'sigmoid' | 'softmax' | 'none';
  /** Export every label's score (score_<LABEL> columns). @default false */
  allScores?: boolean;
  /** Allow the HF API to answer from its cache (false sends x-use-cache: false). @default true */
  cache?: boolean;
  /** Send x-wait-for-model: true from the first request. @default false */
  waitForModel?: boolean;
  /** Client-side request rate limit. @default unlimited */
  maxRequestsPerMinute?: number;
  /** Per-request timeout, seconds. @default 120 */
  timeout?: number;
  /** Longest total wait for a cold model per run, seconds. @default 600 */
  loadingBudget?: number;
  /** Longest single retry wait, seconds. @default 60 */
  backoffCap?: number;
  /** Stop the run after this many failed requests in a row (network, 5xx, malformed answers); 0 = never. @default 20 */
  breakerFailures?: number;
  /** Stop the run when nothing succeeded for this long (429s included), seconds; 0 = never. @default 60 */
  breakerWindow?: number;
  /** ONNX file inside the model folder. @default the quantized file on CPU */
  onnxFile?: string;
  /** Where to run the local model. @default "cpu" */
  device?: 'cpu' | 'cuda';
  /** Hub revision to download (onnx). @default "main" */
  revision?: string;

  /** Most requests (hf) or model windows (onnx) in flight at once; the hf backend finds the server's limit up to this. @default 8 (hf), 2 (onnx) */
  concurrency?: number;
  /** Texts per request (hf) or per model run (onnx; 1 = batch-independent scores). @default 1 (hf), 32 (onnx) */
  batchSize?: number;
  /** Retries per request for transient errors before a row is marked failed. @default 6 */
  maxRetries?: number;
  /**
   * SQLite checkpoint file.
   * @default <output without extension>.batchlabel.sqlite (<output>.batchlabel.sqlite when that name is another output's checkpoint), else <input>.batchlabel.sqlite
   */
  checkpoint?: string;
  /** On stop (Ctrl-C, an aborted signal), wait this long for in-flight requests, seconds. @default 15 */
  drainTimeout?: number;
  /**
   * Label only one shard of the job, into its own checkpoint: "I/N" (0-based; "auto/N" takes I from the
   * scheduler's environment) or `{ index, count }`. Merge the shards with exportJob({ shards: N }).
   * @default the whole job
   */
  shard?: string | { index: number; count: number };

  /** Scored CSV/TSV/JSONL/Parquet to write when the run finishes. */
  output?: string;
  /** Output format. @default from the output's extension */
  outputFormat?: 'csv' | 'jsonl' | 'parquet';
  /** CSV, JSONL output: its text encoding (names as for `encoding`). @default the input's encoding */
  outputEncoding?: string;
  /** Parquet output: page compression; snappy for readers without zstd. @default "zstd" */
  parquetCompression?: ParquetCompression;
  /** Upload the export with a dataset card to this Hub dataset repo, <owner>/<name>. */
  pushToHub?: string;
  /** With pushToHub: create the dataset repo private. @default false */
  private?: boolean;
  /** Name of the added label column. @default "predicted_label" */
  labelColumn?: string;
  /** Name of the added score column. @default "predicted_score" */
  scoreColumn?: string;
  /** Prefix of the per-label score columns. @default "score_" */
  scorePrefix?: string;
  /** Name of the added column marking texts cut to fit the model. @default "truncated" */
  truncatedColumn?: string;
  /** Name of the added error column. @default "error" */
  errorColumn?: string;
  /** Name of the added column of labels at or above the threshold (multiLabel). @default "predicted_labels" */
  labelsColumn?: string;
  /** CSV: prefix added cells that a spreadsheet would run as a formula (= + - @ …) with ' (OWASP). @default true */
  escapeFormulas?: boolean;
}

/** A Parquet export's page codecs: zstd (level 1) writes ~0.47 of the text's size and faster than snappy (~0.69), which older readers need. */
export const PARQUET_COMPRESSIONS = ['zstd', 'snappy', 'gzip', 'uncompressed'] as const;
export type ParquetCompression = (typeof PARQUET_COMPRESSIONS)[number];

/** Every default that does not depend on other settings; the rest are computed in resolveSettings. */
export const DEFAULTS = {
  textColumn: 'text',
  empty: 'skip',
  maxChars: 100_000,
  backend: 'hf',
  endpointType: 'hf',
  tokenEnv: 'HF_TOKEN',
  revision: 'main',
  device: 'cpu',
  timeout: 120,
  loadingBudget: 600,
  backoffCap: 60,
  breakerFailures: 20,
  breakerWindow: 60,
  maxRetries: 6,
  drainTimeout: 15,
  concurrency: { hf: 8, onnx: 2 },
  batchSize: { hf: 1, onnx: 32 },
  labelColumn: 'predicted_label',
  scoreColumn: 'predicted_score',
  scorePrefix: 'score_',
  truncatedColumn: 'truncated',
  errorColumn: 'error',
  labelsColumn: 'predicted_labels',
  task: 'text-classification',
  hypothesisTemplate: 'This example is {}.',
  threshold: 0.5,
  escapeFormulas: true,
  parquetCompression: 'zstd',
} as const;

export interface OptionSpec {
  /** camelCase: the job-file key and yargs' camel-cased flag. */
  key: keyof LabelOptions;
  flag: string;
  /** 'list': a comma-separated string on the command line, a list of strings (or that string) in a job file. */
  type: 'string' | 'number' | 'boolean' | 'list';
  group: 'Input' | 'Model' | 'Run' | 'Output';
  describe: string;
  choices?: string[];
  /** Shown in --help; applied after job file and flags are merged. */
  defaultText?: string;
}

export const JOB_OPTIONS: OptionSpec[] = [
  { key: 'input', flag: 'input', type: 'string', group: 'Input', describe: 'CSV, TSV, JSONL or Parquet file to label, or a Hub dataset: hf://datasets/<owner>/<name>[@<revision>]/<path or glob>' },
  { key: 'format', flag: 'format', type: 'string', group: 'Input', choices: ['csv', 'jsonl', 'parquet'], describe: 'Input format', defaultText: 'from the extension (.tsv is tab-delimited CSV)' },
  { key: 'split', flag: 'split', type: 'string', group: 'Input', describe: 'hf://datasets/<owner>/<name> input: the split of its Parquet conversion to label' },
  { key: 'config', flag: 'config', type: 'string', group: 'Input', describe: 'With --split: the dataset config', defaultText: '"default", or the only one' },
  { key: 'delimiter', flag: 'delimiter', type: 'string', group: 'Input', describe: 'CSV field delimiter', defaultText: '"," (tab for .tsv)' },
  { key: 'relaxQuotes', flag: 'relax-quotes', type: 'boolean', group: 'Input', describe: 'Accept stray quotes inside unquoted CSV fields' },
  { key: 'encoding', flag: 'encoding', type: 'string', group: 'Input', describe: 'CSV, JSONL: the text encoding of the file: utf-8, utf-16le, utf-16be, windows-1252 (latin1), iso-8859-15, koi8-r … (the export keeps it)', defaultText: 'utf-8, or UTF-16 when the file starts with its byte order mark' },
  { key: 'textColumn', flag: 'text-column', type: 'string', group: 'Input', describe: 'Column (CSV) or field (JSONL, dotted path allowed) holding the text', defaultText: DEFAULTS.textColumn },
  { key: 'textPairColumn', flag: 'text-pair-column', type: 'string', group: 'Input', describe: 'Column (CSV) or field (JSONL) holding the second text of a pair, for models that take pairs' },
  { key: 'empty', flag: 'empty', type: 'string', group: 'Input', choices: ['skip', 'fail'], describe: 'A row whose text is empty or white space: skip it (blank in the export, not a failure) or fail it (bad_row, exit 4)', defaultText: DEFAULTS.empty },
  { key: 'maxChars', flag: 'max-chars', type: 'number', group: 'Input', describe: 'Cut texts longer than this many characters before they are sent or tokenized (marked truncated)', defaultText: String(DEFAULTS.maxChars) },
  { key: 'idColumn', flag: 'id-column', type: 'string', group: 'Input', describe: 'Column identifying a row in failure reports' },
  { key: 'limit', flag: 'limit', type: 'number', group: 'Input', describe: 'Label only the first N rows (a trial run)' },

  { key: 'backend', flag: 'backend', type: 'string', group: 'Model', choices: ['hf', 'onnx'], describe: 'hf: Hugging Face Inference API or a compatible endpoint; onnx: local model', defaultText: DEFAULTS.backend },
  { key: 'model', flag: 'model', type: 'string', group: 'Model', describe: 'Hub model id (hf, onnx) or local model folder (onnx)' },
  { key: 'task', flag: 'task', type: 'string', group: 'Model', choices: ['text-classification', 'zero-shot-classification'], describe: "text-classification: the model's labels; zero-shot-classification: your --candidate-labels, scored by an NLI model", defaultText: DEFAULTS.task },
  { key: 'candidateLabels', flag: 'candidate-labels', type: 'list', group: 'Model', describe: 'zero-shot: the labels, comma-separated (a list in a job file), e.g. "shipping,fit,price,quality"' },
  { key: 'hypothesisTemplate', flag: 'hypothesis-template', type: 'string', group: 'Model', describe: 'zero-shot: the hypothesis each label is put in, {} is the label', defaultText: JSON.stringify(DEFAULTS.hypothesisTemplate) },
  { key: 'multiLabel', flag: 'multi-label', type: 'boolean', group: 'Model', describe: 'zero-shot: score each label on its own (several may fit); text-classification: the model is multi-label (a local model whose config.json says so is, unless --no-multi-label). Adds predicted_labels' },
  { key: 'threshold', flag: 'threshold', type: 'number', group: 'Output', describe: 'With --multi-label: predicted_labels lists the labels scoring at least this', defaultText: String(DEFAULTS.threshold) },
  { key: 'endpoint', flag: 'endpoint', type: 'string', group: 'Model', describe: 'POST exactly to this URL (Inference Endpoints, self-hosted servers)', defaultText: '$HF_INFERENCE_ENDPOINT/models/<model>, else the HF router' },
  { key: 'endpointType', flag: 'endpoint-type', type: 'string', group: 'Model', choices: ['hf', 'tei'], describe: 'Request format: Hugging Face task API, or text-embeddings-inference /predict', defaultText: DEFAULTS.backend },
  { key: 'tokenEnv', flag: 'token-env', type: 'string', group: 'Model', describe: 'Environment variable holding the Hugging Face token (HF_TOKEN also falls back to the `hf auth login` file)', defaultText: DEFAULTS.tokenEnv },
  { key: 'topK', flag: 'top-k', type: 'number', group: 'Model', describe: 'Keep the K best labels (adds one score_<LABEL> column per label)' },
  { key: 'functionToApply', flag: 'function-to-apply', type: 'string', group: 'Model', choices: ['sigmoid', 'softmax', 'none'], describe: 'Score function', defaultText: "the model's" },
  { key: 'allScores', flag: 'all-scores', type: 'boolean', group: 'Model', describe: "Export every label's score (score_<LABEL> columns)" },
  { key: 'cache', flag: 'cache', type: 'boolean', group: 'Model', describe: 'Allow the HF API to answer from its cache (--no-cache sends x-use-cache: false)', defaultText: 'true' },
  { key: 'waitForModel', flag: 'wait-for-model', type: 'boolean', group: 'Model', describe: 'Send x-wait-for-model: true from the first request' },
  { key: 'maxRequestsPerMinute', flag: 'max-requests-per-minute', type: 'number', group: 'Model', describe: 'Client-side request rate limit' },
  { key: 'timeout', flag: 'timeout', type: 'number', group: 'Model', describe: 'Per-request timeout, seconds', defaultText: String(DEFAULTS.timeout) },
  { key: 'loadingBudget', flag: 'loading-budget', type: 'number', group: 'Model', describe: 'Longest total wait for a cold model per run, seconds', defaultText: String(DEFAULTS.loadingBudget) },
  { key: 'backoffCap', flag: 'backoff-cap', type: 'number', group: 'Model', describe: 'Longest single retry wait, seconds', defaultText: String(DEFAULTS.backoffCap) },
  { key: 'breakerFailures', flag: 'breaker-failures', type: 'number', group: 'Model', describe: 'Stop the run after this many failed requests in a row (network, 5xx, malformed answers); 0 = never', defaultText: String(DEFAULTS.breakerFailures) },
  { key: 'breakerWindow', flag: 'breaker-window', type: 'number', group: 'Model', describe: 'Stop the run when nothing succeeded for this long (429s included), seconds; 0 = never', defaultText: String(DEFAULTS.breakerWindow) },
  { key: 'onnxFile', flag: 'onnx-file', type: 'string', group: 'Model', describe: 'ONNX file inside the model folder', defaultText: 'the quantized file on CPU' },
  { key: 'device', flag: 'device', type: 'string', group: 'Model', choices: ['cpu', 'cuda'], describe: 'onnx: where to run the model', defaultText: DEFAULTS.device },
  { key: 'revision', flag: 'revision', type: 'string', group: 'Model', describe: 'onnx: Hub revision to download', defaultText: DEFAULTS.revision },

  { key: 'concurrency', flag: 'concurrency', type: 'number', group: 'Run', describe: 'Most requests in flight at once (hf: found automatically up to this, lowered on overload)', defaultText: `${DEFAULTS.concurrency.hf} (hf), ${DEFAULTS.concurrency.onnx} (onnx)` },
  { key: 'batchSize', flag: 'batch-size', type: 'number', group: 'Run', describe: 'Texts per request (hf) or per model run (onnx; 1 = batch-independent scores)', defaultText: `${DEFAULTS.batchSize.hf} (hf), ${DEFAULTS.batchSize.onnx} (onnx)` },
  { key: 'maxRetries', flag: 'max-retries', type: 'number', group: 'Run', describe: 'Retries per request for transient errors before a row is marked failed', defaultText: String(DEFAULTS.maxRetries) },
  { key: 'checkpoint', flag: 'checkpoint', type: 'string', group: 'Run', describe: 'SQLite checkpoint file', defaultText: "out.batchlabel.sqlite for --output out.csv (out.csv.batchlabel.sqlite when out.jsonl's checkpoint has that name), else <input>.batchlabel.sqlite" },
  { key: 'shard', flag: 'shard', type: 'string', group: 'Run', describe: 'Label only shard I of N (0-based; I=auto reads SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or CLOUD_RUN_TASK_INDEX) into its own checkpoint; merge with `export --shards N`', defaultText: 'the whole job' },
  { key: 'drainTimeout', flag: 'drain-timeout', type: 'number', group: 'Run', describe: 'On Ctrl-C, wait this long for in-flight requests, seconds', defaultText: String(DEFAULTS.drainTimeout) },

  { key: 'output', flag: 'output', type: 'string', group: 'Output', describe: 'Scored CSV/TSV/JSONL/Parquet to write when the run finishes; - writes CSV or JSONL to standard output (format: --output-format, else the input\'s)' },
  { key: 'outputFormat', flag: 'output-format', type: 'string', group: 'Output', choices: ['csv', 'jsonl', 'parquet'], describe: 'Output format', defaultText: "from the output's extension" },
  { key: 'outputEncoding', flag: 'output-encoding', type: 'string', group: 'Output', describe: 'CSV, JSONL output: its text encoding (as --encoding)', defaultText: "the input's" },
  { key: 'parquetCompression', flag: 'parquet-compression', type: 'string', group: 'Output', choices: [...PARQUET_COMPRESSIONS], describe: 'Parquet output: page compression (snappy or gzip for readers without zstd, uncompressed for none)', defaultText: DEFAULTS.parquetCompression },
  { key: 'pushToHub', flag: 'push-to-hub', type: 'string', group: 'Output', describe: 'Upload the export (Parquet unless --output says otherwise) with a dataset card to this Hub dataset repo, <owner>/<name>' },
  { key: 'private', flag: 'private', type: 'boolean', group: 'Output', describe: 'With --push-to-hub: create the dataset repo private' },
  { key: 'labelColumn', flag: 'label-column', type: 'string', group: 'Output', describe: 'Name of the added label column', defaultText: DEFAULTS.labelColumn },
  { key: 'scoreColumn', flag: 'score-column', type: 'string', group: 'Output', describe: 'Name of the added score column', defaultText: DEFAULTS.scoreColumn },
  { key: 'scorePrefix', flag: 'score-prefix', type: 'string', group: 'Output', describe: 'Prefix of the per-label score columns', defaultText: DEFAULTS.scorePrefix },
  { key: 'truncatedColumn', flag: 'truncated-column', type: 'string', group: 'Output', describe: 'Name of the added column marking texts cut to fit the model', defaultText: DEFAULTS.truncatedColumn },
  { key: 'labelsColumn', flag: 'labels-column', type: 'string', group: 'Output', describe: 'Name of the added column of labels at or above --threshold (--multi-label)', defaultText: DEFAULTS.labelsColumn },
  { key: 'errorColumn', flag: 'error-column', type: 'string', group: 'Output', describe: 'Name of the added error column', defaultText: DEFAULTS.errorColumn },
  { key: 'escapeFormulas', flag: 'escape-formulas', type: 'boolean', group: 'Output', describe: "CSV: prefix added cells that start like a spreadsheet formula (= + - @) with ' (--no-escape-formulas: write them as they are)", defaultText: String(DEFAULTS.escapeFormulas) },
];

/** Settings as read from a job file or flags, before validation and defaults. */
export type JobValues = Record<string, string | number | boolean | string[] | undefined>;

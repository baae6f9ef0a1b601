/**
 * Every job setting, once: its flag, its job-file key, its type and its help text. The CLI builds its
 * yargs options from this table and the job-file loader validates keys against it, so the two can
 * never disagree.
 */
export interface OptionSpec {
  /** camelCase: the job-file key and yargs' camel-cased flag. */
  key: string;
  flag: string;
  type: 'string' | 'number' | 'boolean';
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
  { key: 'textColumn', flag: 'text-column', type: 'string', group: 'Input', describe: 'Column (CSV) or field (JSONL, dotted path allowed) holding the text', defaultText: 'text' },
  { key: 'idColumn', flag: 'id-column', type: 'string', group: 'Input', describe: 'Column identifying a row in failure reports' },
  { key: 'limit', flag: 'limit', type: 'number', group: 'Input', describe: 'Label only the first N rows (a trial run)' },

  { key: 'backend', flag: 'backend', type: 'string', group: 'Model', choices: ['hf', 'onnx'], describe: 'hf: Hugging Face Inference API or a compatible endpoint; onnx: local model', defaultText: 'hf' },
  { key: 'model', flag: 'model', type: 'string', group: 'Model', describe: 'Hub model id (hf, onnx) or local model folder (onnx)' },
  { key: 'endpoint', flag: 'endpoint', type: 'string', group: 'Model', describe: 'POST exactly to this URL (Inference Endpoints, self-hosted servers)', defaultText: '$HF_INFERENCE_ENDPOINT/models/<model>, else the HF router' },
  { key: 'endpointType', flag: 'endpoint-type', type: 'string', group: 'Model', choices: ['hf', 'tei'], describe: 'Request format: Hugging Face task API, or text-embeddings-inference /predict', defaultText: 'hf' },
  { key: 'tokenEnv', flag: 'token-env', type: 'string', group: 'Model', describe: 'Environment variable holding the Hugging Face token (HF_TOKEN also falls back to the `hf auth login` file)', defaultText: 'HF_TOKEN' },
  { key: 'topK', flag: 'top-k', type: 'number', group: 'Model', describe: 'Keep the K best labels (adds one score_<LABEL> column per label)' },
  { key: 'functionToApply', flag: 'function-to-apply', type: 'string', group: 'Model', choices: ['sigmoid', 'softmax', 'none'], describe: 'Score function', defaultText: "the model's" },
  { key: 'allScores', flag: 'all-scores', type: 'boolean', group: 'Model', describe: "Export every label's score (score_<LABEL> columns)" },
  { key: 'cache', flag: 'cache', type: 'boolean', group: 'Model', describe: 'Allow the HF API to answer from its cache (--no-cache sends x-use-cache: false)', defaultText: 'true' },
  { key: 'waitForModel', flag: 'wait-for-model', type: 'boolean', group: 'Model', describe: 'Send x-wait-for-model: true from the first request' },
  { key: 'maxRequestsPerMinute', flag: 'max-requests-per-minute', type: 'number', group: 'Model', describe: 'Client-side request rate limit' },
  { key: 'timeout', flag: 'timeout', type: 'number', group: 'Model', describe: 'Per-request timeout, seconds', defaultText: '120' },
  { key: 'loadingBudget', flag: 'loading-budget', type: 'number', group: 'Model', describe: 'Longest total wait for a cold model per run, seconds', defaultText: '600' },
  { key: 'backoffCap', flag: 'backoff-cap', type: 'number', group: 'Model', describe: 'Longest single retry wait, seconds', defaultText: '60' },
  { key: 'onnxFile', flag: 'onnx-file', type: 'string', group: 'Model', describe: 'ONNX file inside the model folder', defaultText: 'the quantized file on CPU' },
  { key: 'device', flag: 'device', type: 'string', group: 'Model', choices: ['cpu', 'cuda'], describe: 'onnx: where to run the model', defaultText: 'cpu' },
  { key: 'revision', flag: 'revision', type: 'string', group: 'Model', describe: 'onnx: Hub revision to download', defaultText: 'main' },

  { key: 'concurrency', flag: 'concurrency', type: 'number', group: 'Run', describe: 'Requests in flight at once (lowered automatically on 429)', defaultText: '8 (hf), 2 (onnx)' },
  { key: 'batchSize', flag: 'batch-size', type: 'number', group: 'Run', describe: 'Texts per request (hf) or per model run (onnx; 1 = batch-independent scores)', defaultText: '1 (hf), 32 (onnx)' },
  { key: 'maxRetries', flag: 'max-retries', type: 'number', group: 'Run', describe: 'Retries per request for transient errors before a row is marked failed', defaultText: '6' },
  { key: 'checkpoint', flag: 'checkpoint', type: 'string', group: 'Run', describe: 'SQLite checkpoint file', defaultText: '<output>.batchlabel.sqlite, else <input>.batchlabel.sqlite' },
  { key: 'drainTimeout', flag: 'drain-timeout', type: 'number', group: 'Run', describe: 'On Ctrl-C, wait this long for in-flight requests, seconds', defaultText: '15' },

  { key: 'output', flag: 'output', type: 'string', group: 'Output', describe: 'Scored CSV/TSV/JSONL/Parquet to write when the run finishes' },
  { key: 'outputFormat', flag: 'output-format', type: 'string', group: 'Output', choices: ['csv', 'jsonl', 'parquet'], describe: 'Output format', defaultText: "from the output's extension" },
  { key: 'pushToHub', flag: 'push-to-hub', type: 'string', group: 'Output', describe: 'Upload the export (Parquet unless --output says otherwise) with a dataset card to this Hub dataset repo, <owner>/<name>' },
  { key: 'private', flag: 'private', type: 'boolean', group: 'Output', describe: 'With --push-to-hub: create the dataset repo private' },
  { key: 'labelColumn', flag: 'label-column', type: 'string', group: 'Output', describe: 'Name of the added label column', defaultText: 'predicted_label' },
  { key: 'scoreColumn', flag: 'score-column', type: 'string', group: 'Output', describe: 'Name of the added score column', defaultText: 'predicted_score' },
  { key: 'scorePrefix', flag: 'score-prefix', type: 'string', group: 'Output', describe: 'Prefix of the per-label score columns', defaultText: 'score_' },
  { key: 'truncatedColumn', flag: 'truncated-column', type: 'string', group: 'Output', describe: 'Name of the added column marking texts cut to fit the model', defaultText: 'truncated' },
  { key: 'errorColumn', flag: 'error-column', type: 'string', group: 'Output', describe: 'Name of the added error column', defaultText: 'error' },
];

export type JobValues = Record<string, string | number | boolean | undefined>;

/**
 * Mistakes in what a command names, caught before any work with the line that fixes them: a data file
 * given where the job file goes, a folder given as the input, a local model folder given to the HF
 * backend (which would POST to /models//path/to/folder and fail every row).
 */
import { UsageError } from '../errors.js';
import type { JobValues } from '../job/options.js';
import { checkInputFolder, localModelBackend, localModelNotice } from '../job/local-paths.js';
import { loadJobFile } from '../job/resolve.js';

const DATA_EXTENSIONS = /\.(csv|tsv|jsonl|ndjson|parquet)$/i;

/** The job-file positional must be a job file, not the data: `batchlabel run reviews.csv`. */
function checkJobFile(job: string | undefined): void {
  if (job !== undefined && DATA_EXTENSIONS.test(job)) {
    throw new UsageError(`${job} looks like a data file: pass it with --input ${job} (the argument after \`run\` is a job file, JSON or YAML).`);
  }
}

/**
 * Checks what `run` and `plan` were given, before the library reads anything. Returns the flags to run
 * with (`backend: 'onnx'` added for a local model folder) and a notice to show, if any.
 */
export function checkJobArgs(job: string | undefined, values: JobValues): { values: JobValues; notice?: string } {
  checkJobFile(job);
  // A job file's relative paths are relative to it; loadJobFile resolves them (and reports a bad file).
  const fromFile = job ? loadJobFile(job) : {};
  const merged = { ...fromFile, ...values };
  checkInputFolder(merged.input);
  // A model path in a job file is relative to the folder the command runs in, as the library reads it.
  if (!localModelBackend(merged.model, merged.backend)) return { values };
  return { values: { ...values, backend: 'onnx' }, notice: localModelNotice(String(merged.model)) };
}

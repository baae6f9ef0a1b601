/**
 * Mistakes in what a command names, caught before any work with the line that fixes them: a data file
 * given where the job file goes, a folder given as the input, a local model folder given to the HF
 * backend (which would POST to /models//path/to/folder and fail every row).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { JobValues } from '../job/options.js';
import { loadJobFile } from '../job/resolve.js';

const DATA_EXTENSIONS = /\.(csv|tsv|jsonl|ndjson|parquet)$/i;
const INPUT_FILES = /\.(csv|tsv|jsonl|ndjson|json|parquet)$/i;

function isFolder(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The job-file positional must be a job file, not the data: `batchlabel run reviews.csv`. */
function checkJobFile(job: string | undefined): void {
  if (job !== undefined && DATA_EXTENSIONS.test(job)) {
    throw new UsageError(`${job} looks like a data file: pass it with --input ${job} (the argument after \`run\` is a job file, JSON or YAML).`);
  }
}

/** An input that is a folder: say so, and name a few of the files in it that could be meant. */
function checkInputFolder(input: unknown): void {
  if (typeof input !== 'string' || input.startsWith('hf://') || !isFolder(input)) return;
  let files: string[] = [];
  try {
    files = readdirSync(input).filter((n) => INPUT_FILES.test(n)).sort();
  } catch {
    // unreadable: the line below is still right
  }
  const some = files.length ? ` (e.g. --input ${path.join(input, files[0]!)}${files.length > 1 ? `; ${files.length} such files there` : ''})` : '';
  throw new UsageError(`${input} is a folder: --input takes one CSV, TSV, JSONL or Parquet file${some}.`);
}

/**
 * A --model that is an existing folder is a local model: without --backend it runs on the local (onnx)
 * backend, the only one that can read it, and the returned notice says so. With --backend hf it is
 * refused: a Hub model id or --endpoint is what that backend takes.
 */
function localModelBackend(merged: JobValues): string | undefined {
  const model = merged.model;
  if (typeof model !== 'string' || !isFolder(model)) return undefined;
  if (merged.backend === 'hf') {
    throw new UsageError(`--model ${model} is a local folder, but --backend hf takes a Hub model id (or --endpoint URL): pass --backend onnx to run the folder's model here.`);
  }
  if (merged.backend !== undefined) return undefined;
  return `--model ${model} is a local folder: running it with the local backend (--backend onnx).`;
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
  const notice = localModelBackend(merged);
  return notice ? { values: { ...values, backend: 'onnx' }, notice } : { values };
}

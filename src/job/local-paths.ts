/**
 * Paths that name the wrong kind of thing, caught before any work with the line that fixes them: a folder
 * given as the input, a local model folder given to the HF backend (which would POST to
 * /models//path/to/folder and fail every row).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

const INPUT_FILES = /\.(csv|tsv|jsonl|ndjson|json|parquet)$/i;

export function isFolder(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** An input that is a folder: say so, and name a few of the files in it that could be meant. */
export function checkInputFolder(input: unknown): void {
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
 * The backend for a --model that is an existing folder, a local model: the local (onnx) backend, the only
 * one that can read it, when none is named; refused with --backend hf, which takes a Hub model id or
 * --endpoint. Undefined when the model is not a folder or the backend is named.
 */
export function localModelBackend(model: unknown, backend: unknown): 'onnx' | undefined {
  if (typeof model !== 'string' || !isFolder(model)) return undefined;
  if (backend === 'hf') {
    throw new UsageError(`--model ${model} is a local folder, but --backend hf takes a Hub model id (or --endpoint URL): pass --backend onnx to run the folder's model here.`);
  }
  return backend === undefined ? 'onnx' : undefined;
}

/** The notice of a model folder run on the local backend because no backend was named. */
export function localModelNotice(model: string): string {
  return `--model ${model} is a local folder: running it with the local backend (--backend onnx).`;
}

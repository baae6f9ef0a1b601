import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { InputError, UsageError } from '../errors.js';
import { isHubUri } from '../hub/datasets.js';
import type { JobSettings } from '../job/settings.js';

function statOf(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

function inputStat(input: string): Stats {
  try {
    return statSync(input);
  } catch (err) {
    throw new InputError(`${input}: cannot read the input (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Check the path given with --input.`, { cause: err });
  }
}

/** Same file: same path, or the same inode through a symlink or a hard link. */
function sameFile(a: string, b: Stats | undefined, other: string, otherStat: Stats | undefined): boolean {
  if (path.resolve(a) === path.resolve(other)) return true;
  return b !== undefined && otherStat !== undefined && b.dev === otherStat.dev && b.ino === otherStat.ino;
}

/** The folder a file is to be written in: it must be a folder (or not exist yet, to be created). */
function checkParent(file: string, what: string): void {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const st = statOf(dir);
    if (st && !st.isDirectory()) throw new UsageError(`${what} ${file} cannot be written: ${dir} is a file, not a folder.`);
    if (st || dir === path.dirname(dir)) return;
  }
}

/**
 * Checks the job's files before any work, so that a mistake costs seconds, not a night of labeling:
 * the input is a readable file, and the output and checkpoint are files that are neither the input nor
 * each other.
 */
export function checkJobPaths(s: Pick<JobSettings, 'input' | 'output' | 'checkpoint'>): void {
  // A Hub dataset (hf://…) is checked when it is resolved, and is never a local file to overwrite.
  const input = isHubUri(s.input) ? undefined : inputStat(s.input);
  const checkpoint = statOf(s.checkpoint);
  if (checkpoint?.isDirectory()) throw new UsageError(`--checkpoint ${s.checkpoint} is a folder: name a file (e.g. ${path.join(s.checkpoint, 'job.batchlabel.sqlite')}).`);
  checkParent(s.checkpoint, '--checkpoint');
  if (sameFile(s.checkpoint, checkpoint, s.input, input)) throw new UsageError(`--checkpoint ${s.checkpoint} is the input file: it would be overwritten. Name another checkpoint file.`);
  if (!s.output) return;
  const output = statOf(s.output);
  checkParent(s.output, '--output');
  if (sameFile(s.output, output, s.input, input)) throw new UsageError(`--output ${s.output} is the input file: the export would overwrite it. Name another output file.`);
  if (sameFile(s.output, output, s.checkpoint, checkpoint)) throw new UsageError(`--output ${s.output} is the checkpoint file. Name another output file (or another --checkpoint).`);
}

import { CheckpointError } from '../errors.js';

/** SQLite's codes for a disk that has no room or a file over its size limit. */
const NO_ROOM = new Set(['SQLITE_FULL', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_IOERR_SHORT_READ', 'SQLITE_IOERR']);

/** A commit that failed, as the one line the user sees; the rows it held stay pending. */
export function commitFailure(path: string, err: unknown): CheckpointError {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_FULL' || NO_ROOM.has(code) || /disk is full|disk I\/O error/i.test((err as Error).message)) {
    return new CheckpointError(`cannot write the checkpoint ${path}: the disk is full (or over a file-size limit). Free some space and run the same command to resume; nothing committed is lost.`, { cause: err });
  }
  if (code === 'SQLITE_READONLY' || code.startsWith('SQLITE_READONLY')) {
    return new CheckpointError(`cannot write the checkpoint ${path}: it is read-only. Make it writable (and its folder) and run the same command to resume.`, { cause: err });
  }
  return new CheckpointError(`cannot write the checkpoint ${path}: ${(err as Error).message}. Fix the cause and run the same command to resume.`, { cause: err });
}

/** Two reads of the checkpoint that contradict each other (an index that no longer matches its table). */
export class Inconsistent extends Error {}

/** Whether an error is SQLite (or a read that contradicts another) finding the file damaged (a flipped bit, a truncated or overwritten page). */
export function isDamage(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code === 'SQLITE_MISMATCH' || code === 'SQLITE_RANGE' || err instanceof SyntaxError || err instanceof Inconsistent;
}

/** The one line for a checkpoint whose bytes are damaged: what SQLite (or the check) found, and what to do. */
export function damaged(path: string, detail: string, cause?: unknown): CheckpointError {
  return new CheckpointError(
    `${path}: the checkpoint is damaged: ${detail.replace(/\s*\n\s*/g, '; ')}. Restore it from a copy (see README "Resume"), or label the input again with \`batchlabel run --restart\`.`,
    cause === undefined ? undefined : { cause },
  );
}

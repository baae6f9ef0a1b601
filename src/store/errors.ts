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

import os from 'node:os';
import { CheckpointError } from '../errors.js';
import { holderAlive, readHolder, tryLock, type FileLock } from '../core/file-lock.js';

/**
 * One run per checkpoint at a time: two runs on one job would send every text twice, and a concurrent
 * --restart would mix two jobs' results. The lock is a file created exclusively next to the checkpoint;
 * a holder that no longer runs on this host (killed, rebooted) leaves it to be taken over. `status` and
 * `export` only read, and take no lock.
 */
export function lockJob(checkpoint: string): FileLock {
  const file = `${checkpoint}.lock`;
  let taken;
  try {
    taken = tryLock(file);
  } catch (err) {
    throw new CheckpointError(`cannot create the lock ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. Make its folder writable.`, { cause: err });
  }
  if ('lock' in taken) return taken.lock;
  const holder = taken.held;
  if (!holder) throw new CheckpointError(`cannot take the lock ${file}: other runs keep taking it. Run one batchlabel at a time on a job.`);
  const here = holder.host === os.hostname();
  throw new CheckpointError(
    `another batchlabel run (pid ${holder.pid}${here ? '' : ` on ${holder.host}`}, started ${holder.startedAt}) is working on ${checkpoint}. Wait for it to finish, or stop it; watch it with \`batchlabel status\`.${here ? '' : ` If that run is dead, delete ${file}.`}`,
  );
}

/**
 * Whether a run still holds the job: its lock exists and its holder lives. A holder on another host cannot
 * be checked from here and counts as alive.
 */
export function jobIsLocked(checkpoint: string): boolean {
  const holder = readHolder(`${checkpoint}.lock`);
  return holder !== undefined && holderAlive(holder);
}

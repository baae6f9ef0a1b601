import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { CheckpointError } from '../errors.js';
import { isRunning } from '../core/process.js';

/** Who holds a job: written into `<checkpoint>.lock` by the run that holds it. */
interface Holder {
  pid: number;
  host: string;
  startedAt: string;
  /** Tells this lock from a later one of the same pid (pids are reused). */
  nonce: string;
}

export interface RunLock {
  release(): void;
}

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined; // gone
  }
}

/** Creates the lock with its content in one step (a hard link fails if the name exists): never seen half written. */
function tryCreate(file: string, holder: Holder): boolean {
  const tmp = `${file}.${holder.pid}-${holder.nonce}`;
  try {
    writeFileSync(tmp, JSON.stringify(holder), { flag: 'wx', mode: 0o644 });
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new CheckpointError(`cannot create the lock ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}. Make its folder writable.`, { cause: err });
  } finally {
    unlinkQuietly(tmp);
  }
}

/**
 * One run per checkpoint at a time: two runs on one job would send every text twice, and a concurrent
 * --restart would mix two jobs' results. The lock is a file created exclusively next to the checkpoint;
 * a holder that no longer runs on this host (killed, rebooted) leaves it to be taken over. `status` and
 * `export` only read, and take no lock.
 */
export function lockJob(checkpoint: string): RunLock {
  const file = `${checkpoint}.lock`;
  const me: Holder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(file, me)) return { release: () => releaseIfMine(file, me) };
    const holder = readHolder(file);
    if (holder && (holder.host !== me.host || isRunning(holder.pid))) {
      const where = holder.host === me.host ? '' : ` on ${holder.host}`;
      throw new CheckpointError(
        `another batchlabel run (pid ${holder.pid}${where}, started ${holder.startedAt}) is working on ${checkpoint}. Wait for it to finish, or stop it; watch it with \`batchlabel status\`.${holder.host === me.host ? '' : ` If that run is dead, delete ${file}.`}`,
      );
    }
    // The holder is gone: take the lock over, unless another run just did.
    if (holder && readHolder(file)?.nonce === holder.nonce) unlinkQuietly(file);
    else if (!holder) unlinkQuietly(file);
  }
  throw new CheckpointError(`cannot take the lock ${file}: other runs keep taking it. Run one batchlabel at a time on a job.`);
}

/**
 * Whether a run still holds the job: its lock exists and its holder lives. A holder on another host cannot
 * be checked from here and counts as alive.
 */
export function jobIsLocked(checkpoint: string): boolean {
  const holder = readHolder(`${checkpoint}.lock`);
  if (!holder) return false;
  return holder.host !== os.hostname() || isRunning(holder.pid);
}

function releaseIfMine(file: string, me: Holder): void {
  if (readHolder(file)?.nonce === me.nonce) unlinkQuietly(file);
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

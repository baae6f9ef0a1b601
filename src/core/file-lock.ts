/**
 * An exclusive claim on something, held as a file created in one step: a hard link fails if the name
 * exists, so the file is never seen half written. A holder that no longer runs on this host (killed,
 * rebooted) leaves its claim to be taken over. Used for a job's checkpoint and for a download's partial file.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { isRunning } from './process.js';

/** Who holds a claim: written into the lock file by the process that holds it. */
export interface Holder {
  pid: number;
  host: string;
  startedAt: string;
  /** Tells this lock from a later one of the same pid (pids are reused). */
  nonce: string;
}

export interface FileLock {
  release(): void;
}

export function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Holder;
  } catch {
    return undefined; // gone
  }
}

/** Whether the holder may still be working: alive on this host, or on another host (which cannot be checked from here). */
export function holderAlive(holder: Holder): boolean {
  return holder.host !== os.hostname() || isRunning(holder.pid);
}

/** Creates the lock with its content in one step. Errors other than "it exists" are thrown as they are. */
function tryCreate(file: string, holder: Holder): boolean {
  const tmp = `${file}.${holder.pid}-${holder.nonce}`;
  try {
    writeFileSync(tmp, JSON.stringify(holder), { flag: 'wx', mode: 0o644 });
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkQuietly(tmp);
  }
}

/**
 * Takes the lock `file`, or tells who holds it: `{ held: holder }` when a live holder has it (or other
 * processes keep taking it, `held: undefined`). Filesystem errors are thrown as they are.
 */
export function tryLock(file: string): { lock: FileLock } | { held: Holder | undefined } {
  const me: Holder = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(file, me)) return { lock: { release: () => releaseIfMine(file, me) } };
    const holder = readHolder(file);
    if (holder && holderAlive(holder)) return { held: holder };
    // The holder is gone: take the lock over, unless another process just did.
    if (holder && readHolder(file)?.nonce === holder.nonce) unlinkQuietly(file);
    else if (!holder) unlinkQuietly(file);
  }
  return { held: undefined };
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

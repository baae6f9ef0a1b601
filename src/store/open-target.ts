import { openSync, readSync, closeSync } from 'node:fs';
import { CheckpointError } from '../errors.js';
import { loadJobFile, resolveSettings } from '../job/resolve.js';
import type { JobSettings } from '../job/settings.js';
import { Checkpoint } from './checkpoint.js';

function isSqlite(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(16);
    readSync(fd, buf, 0, 16, 0);
    return buf.toString('latin1') === 'SQLite format 3\0';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `status` and `export` accept a checkpoint or the job file that names one. */
export function openTarget(target: string): { store: Checkpoint; settings: JobSettings } {
  const checkpoint = isSqlite(target) ? target : resolveSettings(loadJobFile(target)).checkpoint;
  // Read-only: status and export never change the file (which may not even be a checkpoint).
  const store = Checkpoint.openReadOnly(checkpoint);
  const settings = store.getMeta('settings');
  if (!settings) {
    store.close();
    throw new CheckpointError(`${checkpoint}: this checkpoint has no job yet (its run never started). Run \`batchlabel run\` first.`);
  }
  return { store, settings };
}

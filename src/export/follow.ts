/**
 * Starts the export of a job on a worker thread while the run labels it, and hands back the result when
 * the run is over. On a big job this takes the export's second pass over the input off the thread that
 * drives the requests, and the output is ready moments after the last row is labeled.
 */
import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { BatchlabelError } from '../errors.js';
import type { JobSettings } from '../job/settings.js';
import { exportTmpPath, type ExportOptions, type ExportSummary } from './export.js';
import type { FollowMessage, FollowReply, FollowWorkerData } from './follow-worker.js';

const WORKER_URL = new URL('./follow-worker.js', import.meta.url);

export interface FollowingExport {
  /** The run completed: wait for the export to write its last rows and rename the file into place. */
  finish(): Promise<ExportSummary>;
  /** The run did not complete: stop the export and remove its partial file. */
  cancel(): Promise<void>;
  /** As cancel, synchronously, for a hard exit. */
  cancelNow(): void;
}

/** Whether the export can be written while the run goes: not when it has a column per label (known at the end). */
export function canFollow(settings: JobSettings): boolean {
  return !settings.allScores && (settings.topK ?? 1) <= 1;
}

export function startFollowingExport(settings: JobSettings, opts: { output: string; format: ExportOptions['format']; pollMs?: number }): FollowingExport {
  const data: FollowWorkerData = { checkpoint: settings.checkpoint, settings, output: opts.output, format: opts.format, pollMs: opts.pollMs ?? 50 };
  const worker = new Worker(WORKER_URL, { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
  const result = new Promise<ExportSummary>((resolve, reject) => {
    let replied = false;
    worker.on('message', (r: FollowReply) => {
      replied = true;
      if (r.type === 'done') return resolve(r.summary);
      if (r.code) return reject(new BatchlabelError(r.message, r.code, r.exitCode));
      const err = new Error(r.message);
      if (r.stack) err.stack = r.stack;
      reject(err);
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (!replied) reject(new Error(`the export thread exited (code ${code}) without a result`));
    });
  });
  result.catch(() => {}); // observed by finish(); a cancelled export's failure is of no interest
  const removeTmp = () => rmSync(exportTmpPath(opts.output), { force: true });
  return {
    finish() {
      worker.postMessage({ type: 'ended' } satisfies FollowMessage);
      return result;
    },
    async cancel() {
      await worker.terminate();
      removeTmp();
    },
    cancelNow() {
      void worker.terminate();
      removeTmp();
    },
  };
}

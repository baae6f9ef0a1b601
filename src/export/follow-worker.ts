/**
 * The export of a run in progress, on its own thread: it reads the input a second time and pages the
 * checkpoint through its own read-only connection, writing each row as soon as the run has committed it,
 * so the export's pass over the file overlaps the run instead of following it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { BatchlabelError } from '../errors.js';
import type { JobSettings } from '../job/settings.js';
import { Checkpoint } from '../store/checkpoint.js';
import { exportResults, type ExportOptions } from './export.js';

export interface FollowWorkerData {
  checkpoint: string;
  settings: JobSettings;
  output: string;
  format: ExportOptions['format'];
  pollMs: number;
}

/** Worker → main. An error crosses as plain data; a BatchlabelError keeps its code and exit code. */
export type FollowReply =
  | { type: 'done'; summary: Awaited<ReturnType<typeof exportResults>> }
  | { type: 'error'; message: string; code?: string; exitCode?: number; stack?: string };

/** Main → worker: the run has stopped and committed for the last time. */
export type FollowMessage = { type: 'ended' };

const data = workerData as FollowWorkerData;
let ended = false;
const onMessage = (m: FollowMessage) => {
  if (m.type === 'ended') ended = true;
};
parentPort!.on('message', onMessage);

const reply = (r: FollowReply) => parentPort!.postMessage(r);
let store: Checkpoint | undefined;
try {
  store = Checkpoint.open(data.checkpoint, { readonly: true });
  const summary = await exportResults(store, data.settings, {
    output: data.output,
    format: data.format,
    partial: false,
    follow: { ended: () => ended, pollMs: data.pollMs },
  });
  reply({ type: 'done', summary });
} catch (err) {
  const e = err as Error;
  reply(err instanceof BatchlabelError ? { type: 'error', message: e.message, code: err.code, exitCode: err.exitCode } : { type: 'error', message: e?.message ?? String(err), stack: e?.stack });
} finally {
  store?.close();
  parentPort!.off('message', onMessage); // nothing more to hear: let the thread end
}

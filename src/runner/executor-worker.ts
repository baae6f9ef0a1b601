/**
 * The executor thread: a local executor (p-queue and the classifier) driven by messages from the runner.
 * Outcomes finished in one turn of this thread's event loop go back in one message.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Outcome } from '../backends/classifier.js';
import { toWire, unpackCalls, type ExecutorWorkerData, type FromWorker, type ToWorker, type WorkerEvent } from './executor-wire.js';
import type { Executor } from './executor.js';
import { openLocalExecutor } from './local-executor.js';

const port = parentPort!;
const { settings } = workerData as ExecutorWorkerData;
const abort = new AbortController();
let exec: Executor | undefined;

const post = (m: WorkerEvent) =>
  port.postMessage({ ...m, batchSize: exec?.batchSize ?? settings.batchSize, concurrency: exec?.concurrency ?? settings.concurrency } satisfies FromWorker);

/**
 * Outcomes wait here until this many texts' worth are ready, or for DONE_DELAY_MS: a message per answer
 * cost both threads more than the answer itself, and the runner has a backlog queued here meanwhile.
 */
const DONE_TEXTS = 256;
const DONE_DELAY_MS = 1;
let doneIds: number[] = [];
let doneOutcomes: Outcome[][] = [];
let doneTexts = 0;
let timer: NodeJS.Timeout | undefined;
const sendDone = () => {
  if (timer) clearTimeout(timer);
  timer = undefined;
  doneTexts = 0;
  if (!doneIds.length) return;
  const ids = doneIds;
  const outcomes = doneOutcomes;
  doneIds = [];
  doneOutcomes = [];
  post({ type: 'done', ids, outcomes });
};

try {
  exec = await openLocalExecutor(
    settings,
    {
      events: {
        retry: (kind, waitMs) => post({ type: 'retry', kind, waitMs }),
        status: (text) => post({ type: 'status', text }),
        notice: (message) => post({ type: 'notice', message }),
      },
      signal: abort.signal,
      fatal: (err) => {
        abort.abort(); // stop the other calls in flight at once; the runner stops everything else
        post({ type: 'fatal', error: toWire(err) });
      },
    },
  );
  post({ type: 'ready', identity: exec.identity });
} catch (err) {
  post({ type: 'fatal', error: toWire(err) });
}

port.on('message', (m: ToWorker) => {
  if (!exec) return;
  switch (m.type) {
    case 'calls':
      for (const { id, texts } of unpackCalls(m)) {
        exec.submit({
          texts,
          done: (outcomes) => {
            doneIds.push(id);
            doneOutcomes.push(outcomes);
            doneTexts += outcomes.length;
            if (doneTexts >= DONE_TEXTS) sendDone();
            else timer ??= setTimeout(sendDone, DONE_DELAY_MS);
          },
        });
      }
      break;
    case 'clear':
      exec.clear();
      void exec.idle().then(() => {
        sendDone();
        post({ type: 'idle' });
      });
      break;
    case 'abort':
      abort.abort();
      break;
    case 'close':
      void exec.close().finally(() => {
        post({ type: 'closed' });
        port.close();
      });
      break;
  }
});

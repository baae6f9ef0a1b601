import PQueue from 'p-queue';
import { createClassifier } from '../backends/index.js';
import type { JobSettings } from '../job/settings.js';
import type { Call, Executor, ExecutorContext } from './executor.js';
import { queueControl } from './queue-control.js';

/** p-queue and the classifier in this thread. Also what the worker executor runs on its thread. */
export async function openLocalExecutor(settings: JobSettings, ctx: ExecutorContext): Promise<Executor> {
  const { signal } = ctx;
  const queue = new PQueue({ concurrency: settings.concurrency });
  const control = queueControl(queue, settings.concurrency, signal);
  const classifier = await createClassifier(settings, { queue: control, events: ctx.events, signal });
  control.setConcurrency(Math.min(settings.concurrency, classifier.maxConcurrency ?? Infinity));
  const bound = Math.max(2, queue.concurrency * 2); // calls waiting to start
  let failed = false;
  const fail = (err: unknown) => {
    if (failed || signal.aborted) return;
    failed = true;
    ctx.fatal(err);
  };

  return {
    get batchSize() {
      return classifier.batchSize;
    },
    get concurrency() {
      return queue.concurrency;
    },
    identity: classifier.identity,
    submit(call: Call) {
      queue
        .add(async () => {
          if (failed || signal.aborted) return;
          const outcomes = await classifier.classify(call.texts);
          if (outcomes.length !== call.texts.length) throw new Error(`backend returned ${outcomes.length} outcomes for ${call.texts.length} texts`);
          if (failed || signal.aborted) return; // results of a cancelled run are not trusted
          call.done(outcomes);
        })
        .catch(fail);
    },
    flush() {},
    room() {
      // Refill in steps of half the backlog: one wait per step, not per call (each wait is a promise and a queue listener).
      return queue.size >= bound ? queue.onSizeLessThan(Math.ceil(bound / 2)) : undefined;
    },
    idle: () => queue.onIdle(),
    clear: () => queue.clear(),
    close: () => classifier.close(),
  };
}

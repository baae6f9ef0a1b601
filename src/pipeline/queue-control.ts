import type PQueue from 'p-queue';
import type { QueueControl } from '../backends/classifier.js';

/**
 * The runner's p-queue as backends see it: a concurrency the backend steers, whole-queue pauses (a spent
 * quota), and tasks that step aside while they wait (parked tasks do not count against the concurrency).
 */
export function queueControl(queue: PQueue, maxConcurrency: number, signal: AbortSignal): QueueControl {
  let limit = queue.concurrency;
  let parked = 0;
  const apply = () => {
    queue.concurrency = limit + parked;
  };
  let pausedUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  const resume = () => {
    timer = undefined;
    const left = pausedUntil - Date.now();
    if (left > 0) timer = setTimeout(resume, left);
    else queue.start();
  };
  signal.addEventListener('abort', () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  });
  return {
    get concurrency() {
      return limit;
    },
    maxConcurrency,
    setConcurrency(n: number) {
      limit = Math.max(1, Math.min(maxConcurrency, Math.floor(n)));
      apply();
    },
    park() {
      parked++;
      apply();
      let back = false;
      return () => {
        if (back) return;
        back = true;
        parked--;
        apply();
      };
    },
    pauseFor(ms: number) {
      if (signal.aborted) return;
      pausedUntil = Math.max(pausedUntil, Date.now() + ms);
      queue.pause();
      if (!timer) timer = setTimeout(resume, Math.max(0, pausedUntil - Date.now()));
    },
  };
}

/**
 * How far ahead of the queue the runner reads: it waits once `full` calls are queued (twice the calls in
 * flight), until fewer than `resume` are left. Half the backlog a step: one wait per step, not per call (each
 * wait is a promise and a queue listener).
 */
export function queueBacklog(concurrency: number): { full: number; resume: number } {
  const full = Math.max(2, concurrency * 2);
  return { full, resume: Math.ceil(full / 2) };
}

/**
 * The cold-start budget: wall time the run has spent waiting for a loading model. Concurrent waiters
 * overlap, so the clock counts time during which anyone waits, not the sum of the waits; it is
 * separate from the per-row retry limit because a cold start says nothing about the rows.
 */
import type { ClassifierEvents } from '../classifier.js';
import { sleep } from './backoff.js';

export interface LoadingClock {
  /** ms of budget left; 0 means the model did not load in time. */
  remainingMs(): number;
  /** Wait `ms` (at most what is left) while the progress line says "model loading". */
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

export function createLoadingClock(budgetMs: number, events: ClassifierEvents): LoadingClock {
  let spent = 0;
  let waiters = 0;
  let since = 0;
  const elapsed = () => spent + (waiters > 0 ? Date.now() - since : 0);
  return {
    remainingMs: () => Math.max(0, budgetMs - elapsed()),
    async wait(ms, signal) {
      if (waiters++ === 0) {
        since = Date.now();
        events.status?.('model loading');
      }
      try {
        await sleep(Math.min(ms, Math.max(0, budgetMs - elapsed())), signal);
      } finally {
        if (--waiters === 0) {
          spent += Date.now() - since;
          events.status?.(undefined);
        }
      }
    },
  };
}

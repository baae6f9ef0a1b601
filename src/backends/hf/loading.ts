/**
 * The cold-start budget: wall time the run has spent waiting for a loading model, both sleeping before a
 * retry and while the server holds a retried request (`x-wait-for-model`). Concurrent waiters overlap,
 * so the clock counts time during which anyone waits, not the sum of the waits; it is separate from the
 * per-row retry limit because a cold start says nothing about the rows.
 */
import type { ClassifierEvents } from '../classifier.js';
import { sleep } from './backoff.js';

export interface LoadingClock {
  /** ms of budget left; 0 means the model did not load in time. */
  remainingMs(): number;
  /**
   * A request met a loading model: the clock runs and the progress line says "model loading" until the
   * returned function is called (when that request finally has its answer).
   */
  begin(): () => void;
  /** Sleep `ms`, at most what is left of the budget. */
  wait(ms: number, signal: AbortSignal): Promise<void>;
}

export function createLoadingClock(budgetMs: number, events: ClassifierEvents): LoadingClock {
  let spent = 0;
  let waiters = 0;
  let since = 0;
  const elapsed = () => spent + (waiters > 0 ? Date.now() - since : 0);
  return {
    remainingMs: () => Math.max(0, budgetMs - elapsed()),
    begin() {
      if (waiters++ === 0) {
        since = Date.now();
        events.status?.('model loading');
      }
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        if (--waiters === 0) {
          spent += Date.now() - since;
          events.status?.(undefined);
        }
      };
    },
    wait: (ms, signal) => sleep(Math.min(ms, Math.max(0, budgetMs - elapsed())), signal),
  };
}

/**
 * The circuit breaker: a backend where nothing has succeeded for a while (connections refused, every
 * answer a 5xx, an HTML page or a 429) stops the run with one line naming the cause, instead of giving
 * every row its retries and marking them all failed over hours. Only failures that say something about
 * the backend count; a bad input, a cold start or a too-long text is an answer from a working server.
 */
import { BackendFatalError } from '../../errors.js';

export interface BreakerOptions {
  /** Consecutive failed attempts (network, 5xx, malformed answers), across requests, that stop the run; 0: off. */
  failures: number;
  /** No success for this long (ms), counted from the first failure of a streak, stops the run; 0: off. */
  windowMs: number;
}

/** What went wrong, grouped so "every request answered HTTP 500" can be said when it is true. */
export interface FailureCause {
  /** Same key = same failure ("HTTP 500", "ECONNREFUSED", "malformed"). */
  key: string;
  /**
   * Counted toward --breaker-failures. A 429 is not: the server is up and says so at once, and an
   * overloaded one refuses twenty resends in the 30 ms before its next answer (measured: the run
   * stopped at start-up against an 8-slot server). A 429 that never ends trips the time window.
   */
  counted: boolean;
  /** How to say it when it is the only cause: "cannot connect to 127.0.0.1:9 (ECONNREFUSED)". */
  alone: (seconds: number) => string;
  /** How to name it as the last of several: "HTTP 500: CUDA error". */
  last: string;
}

export interface Breaker {
  /** `at`: the time of the success (the breaker's clock), if the caller has read it. */
  success(at?: number): void;
  /**
   * A failed attempt of a request sent at `sentAt` (performance.now()). Requests that were already in
   * flight when the streak began count once together: a dropped keep-alive pool fails all of them at
   * the same moment, which is one event, not N. Returns the error to stop the run with when it trips.
   */
  failure(sentAt: number, cause: FailureCause): BackendFatalError | undefined;
  /** Whether anything succeeded after `since` (performance.now()): then a row that keeps failing fails on its own. */
  workedSince(since: number): boolean;
}

export function createBreaker(options: BreakerOptions, where: string, now: () => number = () => performance.now()): Breaker {
  const off = options.failures <= 0 && options.windowMs <= 0;
  let lastSuccess = -Infinity;
  let streakStart: number | undefined;
  let count = 0;
  let keys = new Set<string>();
  let last: FailureCause | undefined;
  return {
    success(at = now()) {
      lastSuccess = at;
      streakStart = undefined;
      count = 0;
      if (keys.size > 0) keys = new Set(); // a success per answer: no new Set when nothing failed
    },
    failure(sentAt, cause) {
      if (off) return undefined;
      const t = now();
      if (streakStart === undefined) {
        streakStart = t;
        count = cause.counted ? 1 : 0;
      } else if (sentAt >= streakStart && cause.counted) {
        count++;
      }
      keys.add(cause.key);
      last = cause;
      const elapsed = t - streakStart;
      const byCount = options.failures > 0 && count >= options.failures;
      const byTime = options.windowMs > 0 && elapsed >= options.windowMs;
      if (!byCount && !byTime) return undefined;
      const seconds = Math.max(1, Math.round(elapsed / 1000));
      const what = keys.size === 1 ? cause.alone(seconds) : `no request succeeded for ${seconds} s (last: ${last.last})`;
      return new BackendFatalError(
        `stopped: ${what} at ${where}; rows not labeled stay pending`,
        'E_BACKEND_DOWN',
      );
    },
    workedSince(since) {
      return off || lastSuccess > since;
    },
  };
}

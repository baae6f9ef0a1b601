import { setMaxListeners } from 'node:events';
import { InterruptedError } from '../errors.js';

/**
 * Waits `ms`, or less: an aborted `signal` ends the wait at once with an InterruptedError (a stop, or a
 * fatal error elsewhere in the run). The one wait of every retry and pause, so each is interruptible.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(new InterruptedError());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InterruptedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Lets up to `concurrency` requests in flight listen on the run's `signal` without Node's "possible
 * EventTarget memory leak" warning at 11: backends may listen per request (the HF backend once, the hub
 * download per file), and a waiting retry or quota wait listens too.
 */
export function allowListeners(signal: AbortSignal, concurrency: number): void {
  setMaxListeners(concurrency * 4 + 16, signal);
}

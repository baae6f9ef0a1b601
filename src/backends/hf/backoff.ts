/** Waiting: capped, jittered, and always cut short by the run's abort signal. */


/** First backoff step; doubles per attempt up to the cap. */
export const BASE_BACKOFF_MS = 500;

/** Full jitter (uniform in [0, min(cap, base·2^attempt)]): concurrent retries spread out instead of colliding. */
export function backoffMs(attempt: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, BASE_BACKOFF_MS * 2 ** Math.min(attempt, 30));
  return Math.round(random() * ceiling);
}

/** A wait the server asked for, capped; a little jitter so paused clients do not return in lockstep. */
export function hintedWaitMs(hintMs: number, capMs: number, random: () => number = Math.random): number {
  return Math.round(Math.min(capMs, hintMs * (1 + 0.2 * random())));
}

/** Model loading: min(estimated, cap), jittered ±25% but never above the cap. */
export function loadingWaitMs(estimatedMs: number, capMs: number, random: () => number = Math.random): number {
  return Math.round(Math.min(capMs, Math.min(estimatedMs, capMs) * (0.75 + 0.5 * random())));
}

export { sleep } from '../../core/abort.js';

/**
 * How fast to send: the server's explicit hints (Retry-After, RateLimit), AIMD on the shared queue,
 * and the optional client-side requests-per-minute limit.
 */
import type { QueueControl } from '../classifier.js';
import { sleep } from './backoff.js';

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Retry-After as ms: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Fractional seconds are accepted
 * although the RFC does not allow them; a past date means "now".
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * When the RateLimit headers say the quota is spent, ms until it resets. Understands the IETF
 * structured form (`"policy";r=0;t=30`, what the Hub sends) and the older `remaining=0, reset=30` form,
 * in one header or as RateLimit-Remaining / RateLimit-Reset.
 */
export function parseRateLimitReset(headers: Headers): number | undefined {
  const value = header(headers, 'ratelimit');
  if (value !== undefined) {
    let wait: number | undefined;
    for (const item of value.split(',')) {
      const r = /(?:^|;)\s*r\s*=\s*(\d+)/.exec(item);
      const t = /(?:^|;)\s*t\s*=\s*(\d+)/.exec(item);
      if (r && t && Number(r[1]) === 0) wait = Math.max(wait ?? 0, Number(t[1]) * 1000);
    }
    if (wait !== undefined) return wait;
    const remaining = /\bremaining\s*=\s*(\d+)/.exec(value);
    const reset = /\breset\s*=\s*(\d+)/.exec(value);
    if (remaining && reset && Number(remaining[1]) === 0) return Number(reset[1]) * 1000;
  }
  const remaining = header(headers, 'ratelimit-remaining');
  const reset = header(headers, 'ratelimit-reset');
  if (remaining !== undefined && reset !== undefined && Number(remaining) === 0 && /^\d+$/.test(reset.trim())) {
    return Number(reset) * 1000;
  }
  return undefined;
}

/** What the server asks us to wait, if anything: Retry-After first, then an exhausted RateLimit. */
export function serverWaitMs(headers: Headers, now = Date.now()): number | undefined {
  return parseRetryAfter(header(headers, 'retry-after'), now) ?? parseRateLimitReset(headers);
}

export interface Aimd {
  /** Tag a request with the current congestion epoch before sending it. */
  epoch(): number;
  /** A 429 for a request sent in `epoch`: halve once per congestion event, not once per rejected request. */
  rateLimited(epoch: number): void;
  success(): void;
}

/** Additive increase after this many successes in a row (at least), so we creep back up slowly. */
const INCREASE_AFTER = 10;

export function createAimd(queue: QueueControl): Aimd {
  let epoch = 0;
  let successes = 0;
  return {
    epoch: () => epoch,
    rateLimited(sentIn) {
      successes = 0;
      // Requests already in flight when we cut back will also see 429; reacting to each would
      // collapse the concurrency to 1 from a single burst.
      if (sentIn !== epoch) return;
      epoch++;
      queue.setConcurrency(Math.max(1, Math.floor(queue.concurrency / 2)));
    },
    success() {
      successes++;
      if (successes >= Math.max(INCREASE_AFTER, 2 * queue.concurrency) && queue.concurrency < queue.maxConcurrency) {
        successes = 0;
        queue.setConcurrency(queue.concurrency + 1);
      }
    },
  };
}

export interface RequestLimiter {
  /** Resolves when the next request may start; requests are spaced evenly across the minute. */
  take(signal: AbortSignal): Promise<void>;
}

export function createRequestLimiter(perMinute: number | undefined): RequestLimiter | undefined {
  if (perMinute === undefined || !(perMinute > 0)) return undefined;
  const interval = 60_000 / perMinute;
  let next = 0;
  return {
    async take(signal) {
      const now = Date.now();
      const slot = Math.max(now, next);
      next = slot + interval;
      await sleep(slot - now, signal);
    },
  };
}

/**
 * How fast to send: the server's explicit hints (Retry-After, RateLimit), a concurrency limit that finds
 * the server's capacity, a quota budget read from RateLimit headers, and the optional client-side
 * requests-per-minute limit.
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

/** One quota item of a RateLimit header: requests left and seconds until the window resets. */
export interface QuotaState {
  remaining: number;
  resetSeconds: number;
}

/**
 * The tightest quota in a RateLimit header: the IETF structured form (`"policy";r=0;t=30`, what the Hub
 * sends, several items separated by commas) or the older `remaining=0, reset=30` form.
 */
export function parseRateLimit(value: string | undefined): QuotaState | undefined {
  if (value === undefined) return undefined;
  let best: QuotaState | undefined;
  for (const item of value.split(',')) {
    const r = /(?:^|;)\s*r\s*=\s*(\d+)/.exec(item);
    const t = /(?:^|;)\s*t\s*=\s*(\d+(?:\.\d+)?)/.exec(item);
    if (!r || !t) continue;
    const state = { remaining: Number(r[1]), resetSeconds: Number(t[1]) };
    if (!best || state.remaining < best.remaining) best = state;
  }
  if (best) return best;
  const remaining = /\bremaining\s*=\s*(\d+)/.exec(value);
  const reset = /\breset\s*=\s*(\d+)/.exec(value);
  return remaining && reset ? { remaining: Number(remaining[1]), resetSeconds: Number(reset[1]) } : undefined;
}

/** When the RateLimit headers say the quota is spent, ms until it resets (also RateLimit-Remaining / -Reset). */
export function parseRateLimitReset(headers: Headers): number | undefined {
  const state = parseRateLimit(header(headers, 'ratelimit'));
  if (state) return state.remaining === 0 ? state.resetSeconds * 1000 : undefined;
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

/** A request as the concurrency limit sees it: when it left and in which congestion epoch. */
export interface Sample {
  sentAt: number;
  epoch: number;
}

export interface ConcurrencyLimit {
  /**
   * Resolves when a request may be sent (fewer than `limit` in flight); undefined when it may go at once.
   * The limit is kept here, not only by the queue's concurrency: tasks the queue started before a cut
   * must not all send.
   */
  admit(): Promise<void> | undefined;
  /** A request is being sent (after admit). */
  start(): Sample;
  /** A request sent is answered or failed. */
  end(): void;
  /** It was answered with a result: its latency is a sample of the server's. `now`: performance.now(), if the caller has read it. */
  answered(sample: Sample, now?: number): void;
  /** The server said it is overloaded (TEI's `overloaded` 429, a 429 or 503 without hints). */
  overloaded(sample: Sample): void;
  /** Smoothed latency of answered requests, ms (a scale for short retry delays). */
  readonly latencyMs: number;
  /** The current limit, in requests in flight. */
  readonly limit: number;
}

/**
 * The limit starts here and doubles each round trip until the first sign of congestion (slow start), so
 * the latency with the server unloaded is measured before the queue fills it.
 */
const INITIAL_LIMIT = 4;
/** Multiplicative decrease on overload: Netflix concurrency-limits' AIMD ratio; halving (TCP Reno) gave a sawtooth between N/2 and N, 0.38 of an 8-slot server's capacity. */
const BACKOFF_RATIO = 0.9;
/**
 * Overload refusals in one round trip before the limit is cut. One is the price of holding the server
 * full: our count of requests in flight includes answers the server has sent and we have not yet read,
 * so a limit equal to the server's leaves it short (6.6 of 8 busy, measured); tolerating one refusal a
 * round trip holds the limit a request or two above and the server at 7.5 of 8. Also what keeps random
 * unhinted 429s (a few percent) from cutting the limit every few round trips.
 */
const REFUSALS_TO_CUT = 2;
/**
 * Below this much queueing delay (ms), or against a server answering faster than this unloaded, latency
 * is our own noise, not the server's queue: loopback answers in 0.2 ms, and at thousands of requests a
 * second our own event loop adds 5–10 ms (measured: the limit fell from 8 to 6 against an instant server).
 */
const MIN_QUEUE_DELAY_MS = 5;
/**
 * Once slow start ends, and then this often, PROBE_ROUNDS round trips at PROBE_LIMIT re-measure the
 * server's unloaded latency (BBR's PROBE_RTT). The first round trips run cold: against the loopback
 * server (15 ms a request) they averaged 25–27 ms (JIT, new connections), and a limit held above the
 * server's width never sees it unloaded again, so that figure stood for the run and hid a queue of 11
 * (the limit held at 19–23 against 8 workers, measured). Later probes follow a server that got slower or
 * faster. At 200 ms a request, a probe every 30 s costs about 1% of the run.
 */
const PROBE_INTERVAL_MS = 30_000;
/**
 * In flight during a probe, which runs only while the limit is at least twice this: below that the
 * latency rule cannot cut (the queue estimate, under the limit, stays below beta), and a probe would halve
 * the rate for nothing.
 */
const PROBE_LIMIT = 4;
/**
 * Round trips in a probe; the better one is the unloaded latency. One round trip of 4 answers is a small
 * sample: on a machine busy with other work, one stall in it read as an unloaded latency far too high, and
 * the limit then climbed to 19 against 8 workers, the queue hidden until the next probe (seen in CI).
 */
const PROBE_ROUNDS = 2;

/**
 * The concurrency controller. Two signals, as in Netflix's concurrency-limits library:
 * - Drops: overload answers (the second in a round trip) cut the limit to 0.9×, once per congestion epoch (requests in flight when
 *   we cut will be rejected too; reacting to each would collapse the limit from one burst). 0.9 rather
 *   than 0.5 because overload here is a soft limit the server states per request, not lost packets.
 * - Latency, TCP Vegas-style: once per round trip (`limit` answers), the queue the server holds for us is
 *   estimated as limit × (1 − noLoad / rtt), where noLoad is the lowest round-trip average seen (the
 *   average, not the lowest single answer, so network jitter does not read as queueing) and rtt the
 *   better of the last two round trips (a queue persists; a stall of the machine does not). Above
 *   beta = 6·log10(limit) the limit drops by one, below alpha = 3·log10(limit) it grows by one (doubles in
 *   slow start), in between it holds. This is what stops a server that queues instead of rejecting
 *   (latency growing with load) from being driven to --concurrency with nothing gained. Gradient2 was the
 *   other candidate; its baseline is a long-term average that follows a standing queue upward, so it
 *   keeps growing against a queueing server, where Vegas holds a few requests above the server's width.
 * The limit grows only while it is used (at least half of it in flight), as in Netflix's AIMD. A
 * round trip is read from requests sent under the limit it judges: after a doubling or a probe, answers
 * to requests sent before it are left out (the round trip at 16 otherwise averaged half its answers from
 * 8 in flight, and slow start doubled on past a queue).
 * Measured on the loopback server (15 ms a request), 7 runs, 4 of them with both cores kept busy: against
 * 8 workers with a queue behind them, the limit settles at 13–17 from --concurrency 32; against a
 * max-in-flight of 8, it moves between 8 and 9.
 */
export function createConcurrencyLimit(queue: QueueControl, signal: AbortSignal): ConcurrencyLimit {
  let limit = Math.min(queue.maxConcurrency, INITIAL_LIMIT);
  let started = false;
  const waiting: Array<() => void> = [];
  /** Let waiting requests go while there is room; all of them once the run stops (they then see it stopped). */
  const wake = () => {
    while (waiting.length > 0 && (signal.aborted || inFlight + admitted < Math.floor(limit))) {
      admitted++;
      waiting.shift()!();
    }
  };
  /** Admitted but not yet started: counted so one wake does not let in more than the room. */
  let admitted = 0;
  signal.addEventListener('abort', wake, { once: true });
  let slowStart = true;
  let epoch = 0;
  let inFlight = 0;
  let busiest = 0;
  let windowSum = 0;
  let windowCount = 0;
  let refusedInWindow = 0;
  let noLoad = Infinity;
  /** The limit to go back to while a probe runs. */
  let probingFrom: number | undefined;
  /** The probe's round trips so far and the best of them: what noLoad becomes when it ends. */
  let probeRounds = 0;
  let probeBest = Infinity;
  let nextProbeAt = Infinity;
  /** Answers to requests sent before this (performance.now()) belong to an earlier limit. */
  let countFrom = 0;
  let latency = 0;
  const apply = () => {
    queue.setConcurrency(Math.max(1, Math.floor(limit)));
    wake();
  };
  const resetWindow = () => {
    windowSum = 0;
    windowCount = 0;
    refusedInWindow = 0;
    busiest = inFlight;
  };
  let previousRtt = Infinity;
  /** Starts a new round trip whose answers are only those sent from now on. */
  const restartWindow = (now: number) => {
    countFrom = now;
    previousRtt = Infinity;
  };
  const startProbe = (now: number) => {
    probingFrom = limit;
    probeRounds = 0;
    probeBest = Infinity;
    limit = PROBE_LIMIT;
    restartWindow(now);
  };
  const endProbe = (now: number) => {
    noLoad = probeBest;
    limit = probingFrom!;
    probingFrom = undefined;
    nextProbeAt = now + PROBE_INTERVAL_MS;
    restartWindow(now);
  };
  const endOfWindow = (now: number) => {
    const windowRtt = windowSum / windowCount;
    if (probingFrom !== undefined) {
      resetWindow();
      probeBest = Math.min(probeBest, windowRtt);
      if (++probeRounds < PROBE_ROUNDS) return;
      endProbe(now);
      return apply();
    }
    noLoad = Math.min(noLoad, windowRtt);
    // A queue lasts; a pause of the event loop or the machine (one slow round trip) does not: the
    // better of the last two round trips is the one read.
    const rtt = Math.min(windowRtt, previousRtt);
    previousRtt = windowRtt;
    const used = busiest * 2 >= Math.floor(limit);
    resetWindow();
    const log = Math.log10(Math.max(10, limit));
    const queueOf = (r: number) => (noLoad >= MIN_QUEUE_DELAY_MS && r - noLoad >= MIN_QUEUE_DELAY_MS ? limit * (1 - noLoad / r) : 0);
    const queued = queueOf(rtt);
    if (slowStart && queueOf(windowRtt) > 3 * log) slowStart = false; // doubling on would overshoot by a round trip
    if (queued >= 6 * log) {
      // Straight to the server's width (limit × noLoad / rtt, what it gets through per unloaded round
      // trip) plus beta, or one less: from 32 against 8 workers, one round trip instead of twenty.
      slowStart = false;
      limit = Math.max(1, Math.min(limit - 1, (limit * noLoad) / rtt + 6 * log));
    } else if (queued <= 3 * log && used) {
      if (slowStart) restartWindow(now);
      limit = Math.min(queue.maxConcurrency, slowStart ? limit * 2 : limit + 1);
    }
    if (!slowStart && nextProbeAt === Infinity) nextProbeAt = now;
    if (now >= nextProbeAt && limit >= 2 * PROBE_LIMIT) startProbe(now);
    apply();
  };
  return {
    admit() {
      if (!started) {
        started = true;
        apply(); // the runner opened the queue to --concurrency; start low and climb
      }
      if (waiting.length === 0 && inFlight + admitted < Math.floor(limit)) {
        admitted++;
        return undefined;
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    start() {
      admitted--;
      inFlight++;
      if (inFlight > busiest) busiest = inFlight;
      return { sentAt: performance.now(), epoch };
    },
    end() {
      inFlight--;
      wake();
    },
    answered(sample, now = performance.now()) {
      const ms = now - sample.sentAt;
      latency = latency === 0 ? ms : latency * 0.9 + ms * 0.1;
      // An answer counts whichever epoch it was sent in: a cut must not stop the climb back, or random
      // refusals (a few percent of requests at hundreds a second) would hold the limit down. Only those
      // sent before the last doubling or probe are left out of the round trip.
      if (sample.sentAt < countFrom) return;
      windowSum += ms;
      if (++windowCount >= Math.max(1, Math.floor(limit))) endOfWindow(now);
    },
    overloaded(sample) {
      if (sample.epoch !== epoch || ++refusedInWindow < REFUSALS_TO_CUT) return;
      refusedInWindow = 0;
      epoch++;
      slowStart = false;
      if (probingFrom !== undefined) probingFrom = Math.max(1, probingFrom * BACKOFF_RATIO);
      else limit = Math.max(1, limit * BACKOFF_RATIO);
      apply();
    },
    get latencyMs() {
      return latency;
    },
    get limit() {
      return Math.max(1, Math.floor(limit));
    },
  };
}

/**
 * A short jittered delay before resending a request an overloaded server refused: about one answer's
 * time, one more per refusal. Linear, not doubling: near the limit a quarter of the sends are refused, so
 * a request meets several refusals in a row by chance, and doubling left the run's last rows waiting.
 */
export function overloadWaitMs(latencyMs: number, refusals: number, capMs: number, random: () => number = Math.random): number {
  const scale = Math.max(5, latencyMs) * Math.min(1 + refusals, 16);
  return Math.round(Math.min(capMs, scale * (0.5 + random())));
}

/** After a quota resets, wait this much more: the server's clock and ours are not the same clock. */
const QUOTA_MARGIN_MS = 25;

/**
 * The quota a server announces in RateLimit headers (the Hub sends them on every answer): requests left
 * in this window and when it resets. Requests are counted against it as they leave, so the run stops
 * sending when the window is spent instead of collecting a 429 per request in flight.
 *
 * `t` is whole seconds, rounded up, so one answer only says the reset lies in (t−1, t] s from now; the
 * answers of one window each give such an interval and their intersection narrows it to the gap between
 * two answers (a few ms at 100 answers/s). Waiting for the end of a 1 s interval instead would waste half
 * a second of every 2 s window.
 */
export interface QuotaBudget {
  /**
   * Read the RateLimit header of an answer. Its r already counts the requests that reached the server
   * before the answer left, which is nearly all of ours in flight: subtracting them as well left ~8% of
   * every window unused (measured: 0.91 of a 200-per-2-s quota at --concurrency 16).
   */
  observe(rateLimit: string | undefined): void;
  /** ms to wait before sending (the window is spent), or 0 to send now; a 0 counts one request. */
  take(): number;
}

export function createQuotaBudget(now: () => number = Date.now): QuotaBudget {
  let remaining: number | undefined;
  let lo = 0;
  let hi = 0;
  return {
    observe(value) {
      const state = parseRateLimit(value);
      if (!state) return;
      const t = now();
      const whole = Number.isInteger(state.resetSeconds);
      const newHi = t + state.resetSeconds * 1000;
      const newLo = whole ? t + Math.max(0, state.resetSeconds - 1) * 1000 : newHi;
      const left = state.remaining;
      if (remaining !== undefined && newLo <= hi && newHi >= lo) {
        lo = Math.max(lo, newLo);
        hi = Math.min(hi, newHi);
        remaining = Math.min(remaining, left);
      } else {
        lo = newLo;
        hi = newHi;
        remaining = left;
      }
    },
    take() {
      if (remaining === undefined) return 0;
      const t = now();
      if (t >= hi + QUOTA_MARGIN_MS) {
        remaining = undefined; // a new window: the next answer tells its budget
        return 0;
      }
      if (remaining > 0) {
        remaining--;
        return 0;
      }
      return hi + QUOTA_MARGIN_MS - t;
    },
  };
}

/**
 * Whether a 429 is the server's answer to everyone or to this request: the share of 429s among the
 * latest answers. A quota spent (or a server shedding load) answers most of them 429; random ones are a
 * few percent.
 */
export interface RejectionWatch {
  answered(rejected: boolean): void;
  /** At least 3 of the latest answers, and half of them, were 429. */
  crowded(): boolean;
}

const WATCHED_ANSWERS = 16;

export function createRejectionWatch(): RejectionWatch {
  const ring = new Uint8Array(WATCHED_ANSWERS);
  let at = 0;
  let seen = 0;
  let rejected = 0;
  return {
    answered(r) {
      rejected += (r ? 1 : 0) - ring[at]!;
      ring[at] = r ? 1 : 0;
      at = (at + 1) % WATCHED_ANSWERS;
      seen++;
    },
    crowded: () => rejected >= 3 && rejected * 2 >= Math.min(seen, WATCHED_ANSWERS),
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

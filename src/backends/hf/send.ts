/**
 * One request (one text or a batch) and its retries. This is where the error table's verdicts become
 * waits: loading waits spend the run's loading budget, transient faults spend the per-request retry
 * limit, and fatal answers stop every request of the run. What a 429 or 503 does to the others depends
 * on what it means: a spent quota pauses the whole queue until it resets, an overload lowers the
 * concurrency a little and resends after a short delay, a 429 with Retry-After that only this request got
 * delays this request alone (it steps out of the queue meanwhile). The breaker stops the run when
 * nothing succeeds any more; until it has decided, a request out of retries keeps trying rather than
 * failing its rows for the backend's sake.
 */
import type { ClassifierContext, FailureKind, Input, Prediction } from '../classifier.js';
import type { JobSettings } from '../../job/settings.js';
import { BackendFatalError, InterruptedError } from '../../errors.js';
import { backoffMs, hintedWaitMs, loadingWaitMs, sleep } from './backoff.js';
import type { Breaker, FailureCause } from './breaker.js';
import { judgeStatus, type ErrorContext, type Verdict } from './classify-error.js';
import type { LoadingClock } from './loading.js';
import { networkFailure, type HttpAnswer, type HttpPool } from './pool.js';
import { overloadWaitMs, type ConcurrencyLimit, type QuotaBudget, type RejectionWatch, type RequestLimiter, type Sample } from './rate.js';
import type { RequestHeaders, Target } from './request.js';
import { parseAnswer, type Shaping } from './response.js';

export type SendResult =
  | { type: 'ok'; lists: Prediction[][] }
  /** A batch answered with something other than one list per text. */
  | { type: 'count'; detail: string }
  | { type: 'bad_input'; message: string; keepRatio?: number }
  | { type: 'failed'; kind: FailureKind; error: string };

/** Everything the requests of one run share. */
export interface Engine {
  settings: JobSettings;
  ctx: ClassifierContext;
  target: Target;
  pool: HttpPool;
  headers: RequestHeaders;
  buildBody(texts: readonly Input[]): Buffer;
  errors: ErrorContext;
  shaping: Shaping;
  loading: LoadingClock;
  limit: ConcurrencyLimit;
  quota: QuotaBudget;
  rejections: RejectionWatch;
  breaker: Breaker;
  limiter: RequestLimiter | undefined;
  /** Set by the first fatal answer; every later attempt rethrows it instead of sending. */
  fatal?: BackendFatalError;
  /** close() was called: the pool is gone, so failures from here on are not the server's. */
  closed?: boolean;
}

type Retry = Extract<Verdict, { type: 'retry' }> & { code?: string };
type AttemptResult = Exclude<Verdict, { type: 'retry' }> | Retry | { type: 'ok'; lists: Prediction[][] } | { type: 'count'; detail: string };

export async function send(engine: Engine, texts: readonly Input[]): Promise<SendResult> {
  const { settings, ctx } = engine;
  const cap = settings.hf.backoffCapMs;
  const body = engine.buildBody(texts);
  let waitForModel = settings.hf.waitForModel;
  let retries = 0;
  let refusals = 0;
  let failingSince: number | undefined;
  /** This request has just waited for the quota (up to the cap): it tries again before waiting more. */
  let waitedForQuota = false;
  let endLoading: (() => void) | undefined;
  try {
    for (;;) {
      if (engine.fatal) throw engine.fatal;
      if (ctx.signal.aborted || engine.closed) throw new InterruptedError();
      if (engine.limiter) await engine.limiter.take(ctx.signal);
      // Before sending: if the quota the server announced is spent, the whole queue waits for its reset
      // (at most the cap). Checked here, awaiting only a wait: an async helper cost every request a promise.
      const quotaWait = waitedForQuota ? 0 : engine.quota.take();
      if (quotaWait > 0) await pausedForQuota(engine, Math.min(quotaWait, settings.hf.backoffCapMs));
      waitedForQuota = false;
      const admitted = engine.limit.admit();
      if (admitted) await admitted;
      if (engine.fatal) throw engine.fatal;
      if (ctx.signal.aborted || engine.closed) throw new InterruptedError();
      const sample = engine.limit.start();
      let result: AttemptResult;
      try {
        result = await attempt(engine, body, texts.length, waitForModel, sample.sentAt);
      } finally {
        engine.limit.end();
      }
      engine.rejections.answered(result.type === 'retry' && result.retry === 'rate_limited');
      switch (result.type) {
        case 'ok': {
          // One clock read for both (performance.now(), the breaker's clock too): ~45 ns each, 4 a request.
          const at = performance.now();
          engine.limit.answered(sample, at);
          engine.breaker.success(at);
          return result;
        }
        case 'count':
        case 'bad_input':
          engine.breaker.success(); // the server read the request and judged it: it works
          return result;
        case 'fatal':
          engine.fatal ??= result.error;
          throw engine.fatal;
        case 'loading': {
          engine.breaker.success(); // a cold start has its own budget
          if (engine.loading.remainingMs() <= 0) {
            engine.fatal ??= new BackendFatalError(
              `the model at ${engine.target.url} was still loading after the loading budget ` +
                `(${Math.round(settings.hf.loadingBudgetMs / 1000)} s); try again later and resume`,
              'E_MODEL_LOADING',
            );
            throw engine.fatal;
          }
          const wait = loadingWaitMs(result.estimatedMs, cap);
          ctx.events.retry?.('model_loading', wait);
          // From here until this request has its answer, the run is waiting for the model: the sleep, then
          // the retried request that the server holds until the model is up.
          endLoading ??= engine.loading.begin();
          await engine.loading.wait(wait, ctx.signal);
          waitForModel = true;
          continue;
        }
        case 'retry': {
          endLoading?.(); // the model answered something else: no longer a cold start
          endLoading = undefined;
          failingSince ??= sample.sentAt;
          const tripped = engine.breaker.failure(sample.sentAt, causeOf(engine, result));
          if (tripped) {
            engine.fatal ??= tripped;
            throw engine.fatal;
          }
          const plan = planRetry(engine, result, sample, retries, refusals);
          if (!plan.free) {
            // Out of retries: the row fails, unless nothing has worked since it began failing (then it is
            // the backend's failure, and the breaker will say so).
            if (retries >= settings.maxRetries && engine.breaker.workedSince(failingSince)) {
              return { type: 'failed', kind: result.failure, error: result.message };
            }
            retries++;
          }
          if (plan.overload) refusals++;
          ctx.events.retry?.(result.retry, plan.waitMs);
          if (plan.quota) {
            await pausedForQuota(engine, plan.waitMs);
            waitedForQuota = true;
          } else if (plan.aside) await aside(engine, plan.waitMs);
          else await sleep(plan.waitMs, ctx.signal);
          continue;
        }
      }
    }
  } finally {
    endLoading?.();
  }
}

/** Overload refusals one request may meet before they count as retries (the breaker bounds a server refusing everyone). */
const OVERLOAD_REFUSALS = 20;

interface RetryPlan {
  waitMs: number;
  /** Pause the whole queue for the wait: a spent quota. */
  quota?: boolean;
  /** Step out of the queue for the wait: only this request was told to wait. */
  aside?: boolean;
  /** A refusal for load: the delay doubles with each one. */
  overload?: boolean;
  /** Not spent from the row's retries: the wait was the server's quota, which says nothing about the row. */
  free?: boolean;
}

function planRetry(engine: Engine, result: Retry, sample: Sample, retries: number, refusals: number): RetryPlan {
  const cap = engine.settings.hf.backoffCapMs;
  const hint = result.serverWaitMs;
  const rateLimited = result.retry === 'rate_limited';
  // A hinted 429 the other requests are getting too is a quota, whatever the headers say.
  if (result.pressure === 'quota' || (rateLimited && hint !== undefined && engine.rejections.crowded())) {
    return { waitMs: hintedWaitMs(hint ?? backoffMs(retries, cap), cap), quota: true, free: true };
  }
  if (result.pressure === 'overload') {
    engine.limit.overloaded(sample);
    // A refusal for load says nothing about the row, and near the limit a resent request can meet a full
    // server several times; only past OVERLOAD_REFUSALS do they spend its retries.
    // It waits aside: holding its place in the queue while it sleeps would leave the server a request
    // short of the limit each time (measured: 6.6 in flight against a limit of 8).
    if (rateLimited) return { waitMs: overloadWaitMs(engine.limit.latencyMs, refusals, cap), overload: true, aside: true, free: refusals < OVERLOAD_REFUSALS };
    return { waitMs: backoffMs(retries, cap) };
  }
  if (hint !== undefined) return { waitMs: hintedWaitMs(hint, cap), aside: rateLimited };
  return { waitMs: backoffMs(retries, cap) };
}

async function pausedForQuota(engine: Engine, ms: number): Promise<void> {
  const { ctx } = engine;
  ctx.queue.pauseFor(ms);
  ctx.events.status?.(`quota reached, paused ${Math.max(1, Math.round(ms / 1000))} s`);
  try {
    await sleep(ms, ctx.signal);
  } finally {
    ctx.events.status?.(undefined);
  }
}

/** Wait without holding a place in the queue (when the queue lets a task step aside), so the others go on. */
async function aside(engine: Engine, ms: number): Promise<void> {
  const back = engine.ctx.queue.park?.();
  try {
    await sleep(ms, engine.ctx.signal);
  } finally {
    back?.();
  }
}

/** How the breaker names a failure. */
function causeOf(engine: Engine, result: Retry): FailureCause {
  const host = new URL(engine.target.origin).host;
  if (result.code !== undefined) {
    const code = result.code;
    const alone =
      result.retry === 'timeout'
        ? () => `no complete answer from ${host} within the timeout (${code})`
        : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE'
          ? () => `every connection to ${host} was dropped (${code})`
          : () => `cannot connect to ${host} (${code})`;
    return { key: code, alone, last: result.message, counted: true };
  }
  if (result.status !== undefined) {
    const status = result.status;
    const alone =
      status === 429
        ? (s: number) => `every request was refused with HTTP 429 (rate limited) for ${s} s`
        : (s: number) => `every request answered HTTP ${status} for ${s} s`;
    return { key: `HTTP ${status}`, alone, last: result.message, counted: status !== 429 };
  }
  return {
    key: result.failure,
    alone: (s) => `no answer was a classification result for ${s} s (${result.message})`,
    last: result.message,
    counted: true,
  };
}

/** `sentAt`: performance.now() as the request leaves (the concurrency limit's sample). */
async function attempt(engine: Engine, body: Buffer, count: number, waitForModel: boolean, sentAt: number): Promise<AttemptResult> {
  const { settings, ctx } = engine;
  let answer: HttpAnswer;
  try {
    answer = await engine.pool.post({
      path: engine.target.path,
      headers: waitForModel ? engine.headers.waitForModel : engine.headers.plain,
      body,
      sentAt,
      // With x-wait-for-model the server holds the request while the model loads; the loading budget
      // bounds that, not the ordinary timeout.
      ...(waitForModel ? { headersTimeoutMs: settings.hf.timeoutMs + engine.loading.remainingMs() } : {}),
    });
  } catch (err) {
    if (ctx.signal.aborted || engine.closed) throw new InterruptedError();
    const failure = networkFailure(err);
    if (!failure) throw err;
    if (failure.kind === 'fatal') {
      const message = `cannot talk to ${engine.target.url}: ${failure.message}`;
      return { type: 'fatal', error: new BackendFatalError(engine.errors.redact(message), 'E_CONNECT') };
    }
    return { type: 'retry', retry: failure.kind, failure: 'network', message: engine.errors.redact(failure.message), code: failure.code };
  }
  engine.quota.observe(answer.rateLimit);
  if (answer.status < 200 || answer.status >= 300) return judgeStatus(answer, engine.errors);
  const parsed = parseAnswer(answer.text, count, engine.shaping, engine.errors.redact);
  if (parsed.ok) {
    // The router names the model revision that answered; a resumed job must not mix two revisions.
    const sha = answer.revision;
    if (sha !== undefined && sha !== '') ctx.events.revision?.(sha);
    return { type: 'ok', lists: parsed.lists };
  }
  if (parsed.reason === 'count') return { type: 'count', detail: parsed.detail };
  return {
    type: 'retry',
    retry: 'malformed_response',
    failure: 'malformed_response',
    message: engine.errors.redact(parsed.detail),
  };
}

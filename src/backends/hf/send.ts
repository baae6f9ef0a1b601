/**
 * One request (one text or a batch) and its retries. This is where the error table's verdicts become
 * waits: loading waits spend the run's loading budget, transient faults spend the per-request retry
 * limit, 429s also slow the whole queue down, and fatal answers stop every request of the run.
 */
import type { ClassifierContext, FailureKind, Input, Prediction } from '../classifier.js';
import type { JobSettings } from '../../job/settings.js';
import { BackendFatalError, InterruptedError } from '../../errors.js';
import { backoffMs, hintedWaitMs, loadingWaitMs, sleep } from './backoff.js';
import { judgeStatus, type ErrorContext, type Verdict } from './classify-error.js';
import type { LoadingClock } from './loading.js';
import { networkFailure, type HttpAnswer, type HttpPool } from './pool.js';
import type { Aimd, RequestLimiter } from './rate.js';
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
  aimd: Aimd;
  limiter: RequestLimiter | undefined;
  /** Set by the first fatal answer; every later attempt rethrows it instead of sending. */
  fatal?: BackendFatalError;
  /** close() was called: the pool is gone, so failures from here on are not the server's. */
  closed?: boolean;
}

type AttemptResult = Verdict | { type: 'ok'; lists: Prediction[][] } | { type: 'count'; detail: string };

export async function send(engine: Engine, texts: readonly Input[]): Promise<SendResult> {
  const { settings, ctx } = engine;
  const cap = settings.hf.backoffCapMs;
  const body = engine.buildBody(texts);
  let waitForModel = settings.hf.waitForModel;
  let retries = 0;
  let endLoading: (() => void) | undefined;
  try {
    for (;;) {
      if (engine.fatal) throw engine.fatal;
      if (ctx.signal.aborted || engine.closed) throw new InterruptedError();
      if (engine.limiter) await engine.limiter.take(ctx.signal);
      const epoch = engine.aimd.epoch();
      const result = await attempt(engine, body, texts.length, waitForModel);
      switch (result.type) {
        case 'ok':
          engine.aimd.success();
          return result;
        case 'count':
        case 'bad_input':
          return result;
        case 'fatal':
          engine.fatal ??= result.error;
          throw engine.fatal;
        case 'loading': {
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
          const wait =
            result.serverWaitMs !== undefined ? hintedWaitMs(result.serverWaitMs, cap) : backoffMs(retries, cap);
          // The whole queue backs off even when this request has no retries left: the others would hit the same limit.
          if (result.retry === 'rate_limited') {
            engine.aimd.rateLimited(epoch);
            ctx.queue.pauseFor(wait);
          }
          if (retries >= settings.maxRetries) return { type: 'failed', kind: result.failure, error: result.message };
          retries++;
          ctx.events.retry?.(result.retry, wait);
          await sleep(wait, ctx.signal);
          continue;
        }
      }
    }
  } finally {
    endLoading?.();
  }
}

async function attempt(engine: Engine, body: Buffer, count: number, waitForModel: boolean): Promise<AttemptResult> {
  const { settings, ctx } = engine;
  let answer: HttpAnswer;
  try {
    answer = await engine.pool.post({
      path: engine.target.path,
      headers: waitForModel ? engine.headers.waitForModel : engine.headers.plain,
      body,
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
    return { type: 'retry', retry: failure.kind, failure: 'network', message: engine.errors.redact(failure.message) };
  }
  if (answer.status < 200 || answer.status >= 300) return judgeStatus(answer, engine.errors);
  const parsed = parseAnswer(answer.text, count, engine.shaping);
  if (parsed.ok) return { type: 'ok', lists: parsed.lists };
  if (parsed.reason === 'count') return { type: 'count', detail: parsed.detail };
  return {
    type: 'retry',
    retry: 'malformed_response',
    failure: 'malformed_response',
    message: engine.errors.redact(parsed.detail),
  };
}

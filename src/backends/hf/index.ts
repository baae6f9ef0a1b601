/**
 * The Hugging Face Inference backend (serverless router, Inference Endpoints, text-embeddings-inference).
 * This file decides what to send for a call to classify(): batches while the endpoint accepts them,
 * bisection when a batch is rejected so only the bad rows fail, and one truncated retry for a text
 * that is too long. Retries, waits and the error table live in send.ts and classify-error.ts.
 */
import { isPair, textOf, type Classifier, type ClassifierContext, type Input, type Outcome } from '../classifier.js';
import type { JobSettings } from '../../job/settings.js';
import { truncateText } from './classify-error.js';
import { createLoadingClock } from './loading.js';
import { createPool } from './pool.js';
import { createBreaker } from './breaker.js';
import { createConcurrencyLimit, createQuotaBudget, createRejectionWatch, createRequestLimiter } from './rate.js';
import { createRedactor } from './redact.js';
import { redactUrl } from '../../core/redact-url.js';
import { bodyBuilder, buildHeaders, maxTextsPerRequest, readToken, resolveTarget, shapingFor } from './request.js';
import { send, type Engine, type SendResult } from './send.js';

export { DEFAULT_INFERENCE_ENDPOINT } from './request.js';

export function createHfClassifier(
  settings: JobSettings,
  ctx: ClassifierContext,
  env: NodeJS.ProcessEnv = process.env,
): Classifier {
  const target = resolveTarget(settings, env);
  const found = readToken(settings, env);
  const token = found?.token;
  const redact = createRedactor(token, target.urlSecrets);
  const engine: Engine = {
    settings,
    ctx,
    target,
    pool: createPool(target.origin, settings.concurrency, settings.hf.timeoutMs, ctx.signal),
    headers: buildHeaders(settings, token, target.basicAuth),
    buildBody: bodyBuilder(settings),
    errors: { target, tokenEnv: settings.hf.tokenEnv, tokenSource: target.basicAuth ? 'the endpoint URL (user:password, sent as basic auth)' : found?.source, redact },
    shaping: shapingFor(settings),
    loading: createLoadingClock(settings.hf.loadingBudgetMs, ctx.events),
    limit: createConcurrencyLimit(ctx.queue, ctx.signal),
    quota: createQuotaBudget(),
    rejections: createRejectionWatch(),
    breaker: createBreaker({ failures: settings.hf.breakerFailures, windowMs: settings.hf.breakerWindowMs }, target.url),
    limiter: createRequestLimiter(settings.hf.maxRequestsPerMinute),
  };

  let batchSize = Math.max(1, Math.min(settings.batchSize, maxTextsPerRequest(settings)));
  /**
   * Batches refused although every row in them then succeeded alone, with no accepted full batch since.
   * One such refusal may be a passing fault; two in a row mean the endpoint refuses batches that big.
   */
  let refusedBatches = 0;
  /** Batches only ever shrink, and the user hears about it once per step. */
  const shrinkBatches = (to: number, why: string) => {
    if (to >= batchSize) return;
    batchSize = to;
    ctx.events.notice?.(
      to === 1
        ? `${target.url} ${why}; sending one text per request`
        : `${target.url} ${why}; sending at most ${to} texts per request`,
    );
  };

  async function classifyOne(text: Input): Promise<Outcome> {
    const first = await send(engine, [text]);
    if (first.type !== 'bad_input' || first.keepRatio === undefined) return outcome(first, 0);
    // Too long: the service told us so; one shorter attempt, never the same text again.
    ctx.events.retry?.('too_long', 0);
    // A pair is shortened in its first text, which is the long one in practice (a passage, a review).
    const shorter = isPair(text) ? { text: truncateText(textOf(text.text), first.keepRatio), pair: text.pair } : truncateText(textOf(text), first.keepRatio);
    const second = await send(engine, [shorter]);
    if (second.type === 'ok') return { ok: true, predictions: second.lists[0]!, truncated: true };
    return second.type === 'bad_input'
      ? { ok: false, kind: 'bad_input', error: `${second.message} (after truncating the text)` }
      : outcome(second, 0);
  }

  async function classifyMany(texts: readonly Input[]): Promise<Outcome[]> {
    if (texts.length === 1) return [await classifyOne(texts[0]!)];
    if (texts.length > batchSize) {
      const chunks: Input[][] = [];
      for (let i = 0; i < texts.length; i += batchSize) chunks.push(texts.slice(i, i + batchSize));
      return (await inSequence(chunks, classifyMany)).flat();
    }
    const result = await send(engine, texts);
    if (result.type === 'ok' && texts.length >= batchSize) refusedBatches = 0;
    if (result.type === 'count') {
      shrinkBatches(1, `does not answer a batch with one list per text (${result.detail})`);
      return inSequence(texts, classifyOne);
    }
    if (result.type !== 'bad_input') return texts.map((_, i) => outcome(result, i));
    // Bisect: halves run one after the other so a shrink decided in the first applies to the second.
    const mid = Math.ceil(texts.length / 2);
    const left = await classifyMany(texts.slice(0, mid));
    const right = await classifyMany(texts.slice(mid));
    const all = [...left, ...right];
    // Every row is fine on its own, so it was the batch the endpoint refused. Its size, if the answer says
    // so (413, or a message about the batch) or if it happens again; once may be a passing fault.
    const aboutSize = /HTTP 413|\bbatch/i.test(result.message);
    if (all.every((o) => o.ok && !o.truncated) && (aboutSize || ++refusedBatches >= 2)) {
      refusedBatches = 0;
      shrinkBatches(mid, `rejected a batch of ${texts.length} (${result.message})`);
    }
    return all;
  }

  return {
    // The effective URL ($HF_INFERENCE_ENDPOINT included, credentials hidden): a resume against another
    // server is refused like a changed --endpoint.
    identity: { endpoint: redactUrl(target.url) },
    get batchSize() {
      return batchSize;
    },
    async classify(texts) {
      return texts.length === 0 ? [] : classifyMany(texts);
    },
    close() {
      engine.closed = true;
      return engine.pool.close();
    },
  };
}

/**
 * One request at a time within a call: the queue's concurrency (which AIMD steers) counts requests in
 * flight, so a call that had to split its batch must not multiply them.
 */
async function inSequence<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}

function outcome(result: SendResult, index: number): Outcome {
  switch (result.type) {
    case 'ok':
      return { ok: true, predictions: result.lists[index]! };
    case 'bad_input':
      return { ok: false, kind: 'bad_input', error: result.message };
    case 'failed':
      return { ok: false, kind: result.kind, error: result.error };
    case 'count':
      return { ok: false, kind: 'malformed_response', error: result.detail };
  }
}

/**
 * A window of texts → outcomes, in input order: tokenize the window (on the tokenizer threads), sort it
 * into length-homogeneous batches, queue them on the session, post-process each batch as it finishes.
 */
import type { FunctionToApply, Outcome } from '../classifier.js';
import { InterruptedError } from '../../errors.js';
import { planBatches, type BatchLimits } from './batching.js';
import type { OnnxModel } from './model.js';
import { defaultFunctionToApply, postprocessLogits } from './postprocess.js';
import type { Serial } from './scheduler.js';
import type { Encoded } from './tokenize.js';
import { errorLine, type EncodeFailure } from './tokenize-wire.js';
import { runBatches } from './run-batches.js';

export interface ClassifyOptions {
  limits: BatchLimits;
  /** settings.functionToApply; undefined = the model's default (Python's rule). */
  functionToApply?: FunctionToApply;
  /** Predictions per text, best first. */
  topK: number;
  serial: Serial;
  /** Texts → token ids (or why the tokenizer failed), one per text in order: the tokenizer threads. */
  tokenize: (texts: readonly string[]) => Promise<(Encoded | EncodeFailure)[]>;
  signal?: AbortSignal;
}

export async function classifyWindow(model: OnnxModel, texts: readonly string[], opts: ClassifyOptions): Promise<Outcome[]> {
  if (opts.signal?.aborted) throw new InterruptedError();
  const results = await opts.tokenize(texts);
  if (opts.signal?.aborted) throw new InterruptedError();
  const outcomes = new Array<Outcome>(texts.length);
  const encoded: (Encoded | undefined)[] = results.map((r, i) => {
    if (!('error' in r)) return r;
    outcomes[i] = { ok: false, kind: 'inference_error', error: `tokenizer: ${r.error}` };
    return undefined;
  });
  const todo = encoded.flatMap((e, i) => (e ? [i] : []));
  const batches = planBatches(
    todo.map((i) => encoded[i]!.ids.length),
    opts.limits,
  ).map((b) => b.map((j) => todo[j]!));

  const labels = model.config.id2label;
  const fill = (indices: readonly number[], data: ArrayLike<number>, n: number) => {
    const fn = opts.functionToApply ?? defaultFunctionToApply(model.config.problemType, n, model.config.functionToApply);
    const predictions = postprocessLogits(data, indices.length, n, { fn, labels, topK: opts.topK });
    indices.forEach((i, k) => {
      outcomes[i] = { ok: true, predictions: predictions[k]!, truncated: encoded[i]!.truncated };
    });
  };

  await runBatches(batches, {
    feeds: (indices) => model.feeds(indices.map((i) => encoded[i]!)),
    run: (feeds, rows) => model.runFeeds(feeds, rows),
    fill: (indices, logits) => fill(indices, logits.data, logits.labels),
    failed: (i, err) => void (outcomes[i] = { ok: false, kind: 'inference_error', error: errorLine(err) }),
    serial: opts.serial,
    signal: opts.signal,
  });
  return outcomes;
}

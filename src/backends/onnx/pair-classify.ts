/**
 * A window of text pairs → text-classification outcomes, in input order (--text-pair-column: cross-encoders,
 * NLI models used directly). Both sides are tokenized once without special tokens on the tokenizer threads,
 * cut `longest_first` as Python's text-classification pipeline does for pairs (the tokenizer's default
 * strategy), then batched by length and post-processed exactly like single texts (classify.ts).
 */
import type { Outcome } from '../classifier.js';
import { InterruptedError } from '../../errors.js';
import { planBatches } from './batching.js';
import type { ClassifyOptions } from './classify.js';
import type { OnnxModel } from './model.js';
import { longestFirst, padPairs, pairLength, type PairLayout, type PairRow } from './pair-encoding.js';
import { defaultFunctionToApply, postprocessLogits } from './postprocess.js';
import type { Encoded } from './tokenize.js';
import { errorLine } from './tokenize-wire.js';
import { runBatches } from './run-batches.js';

export interface PairClassifyOptions extends Omit<ClassifyOptions, 'tokenize'> {
  layout: PairLayout;
  /** Texts → tokens without special tokens (TokenizerPool.encodeSegments). */
  tokenize: ClassifyOptions['tokenize'];
}

export async function classifyPairWindow(model: OnnxModel, pairs: readonly { text: string; pair: string }[], opts: PairClassifyOptions): Promise<Outcome[]> {
  if (opts.signal?.aborted) throw new InterruptedError();
  const n = pairs.length;
  const segments = await opts.tokenize([...pairs.map((p) => p.text), ...pairs.map((p) => p.pair)]);
  if (opts.signal?.aborted) throw new InterruptedError();
  const outcomes = new Array<Outcome>(n);
  const rows: (PairRow | undefined)[] = new Array(n);
  const truncated = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = segments[i]!;
    const b = segments[n + i]!;
    if ('error' in a || 'error' in b) {
      outcomes[i] = { ok: false, kind: 'inference_error', error: `tokenizer: ${'error' in a ? a.error : (b as { error: string }).error}` };
      continue;
    }
    const cut = longestFirst(a.ids.length, b.ids.length, model.encoder.maxLength, opts.layout.special);
    rows[i] = { first: (a as Encoded).ids, second: (b as Encoded).ids, cut };
    truncated[i] = a.truncated || b.truncated || cut.first < a.ids.length || cut.second < b.ids.length ? 1 : 0;
  }
  const todo = rows.flatMap((r, i) => (r ? [i] : []));
  const batches = planBatches(todo.map((i) => pairLength(opts.layout, rows[i]!.cut)), opts.limits).map((b) => b.map((j) => todo[j]!));
  const labels = model.config.id2label;
  const fill = (indices: readonly number[], data: ArrayLike<number>, width: number) => {
    const fn = opts.functionToApply ?? defaultFunctionToApply(model.config.problemType, width, model.config.functionToApply);
    const predictions = postprocessLogits(data, indices.length, width, { fn, labels, topK: opts.topK });
    indices.forEach((i, k) => {
      outcomes[i] = { ok: true, predictions: predictions[k]!, truncated: truncated[i] === 1 };
    });
  };
  const feedsOf = (indices: readonly number[]) => padPairs(indices.map((i) => rows[i]!), model.inputs, model.encoder, opts.layout);
  await runBatches(batches, {
    feeds: feedsOf,
    run: (feeds, rows) => model.runFeeds(feeds, rows),
    fill: (indices, logits) => fill(indices, logits.data, logits.labels),
    failed: (i, err) => void (outcomes[i] = { ok: false, kind: 'inference_error', error: errorLine(err) }),
    serial: opts.serial,
    signal: opts.signal,
  });
  return outcomes;
}

/**
 * A window of texts → zero-shot outcomes, in input order. Each text is tokenized once (without special
 * tokens, on the tokenizer threads) and paired with every hypothesis, tokenized once per run; the pairs of
 * the whole window, across texts and labels, are sorted by length into model batches within the token
 * budget, as text-classification batches texts (batching.ts). A text's outcome is made once all its pairs
 * have their logits.
 */
import type { Outcome } from '../classifier.js';
import { InterruptedError } from '../../errors.js';
import { planBatches, type BatchLimits } from './batching.js';
import type { OnnxModel } from './model.js';
import { logitColumn, zeroShotScores, type NliIndices } from './nli.js';
import { onlyFirst, padPairs, pairLength, type PairLayout, type PairRow } from './pair-encoding.js';
import type { Serial } from './scheduler.js';
import type { Encoded } from './tokenize.js';
import { errorLine, type EncodeFailure } from './tokenize-wire.js';
import { runBatches } from './run-batches.js';

export interface ZeroShotOptions {
  labels: readonly string[];
  /** Each label's hypothesis, tokenized without special tokens, in label order. */
  hypotheses: readonly ArrayLike<number>[];
  multiLabel: boolean;
  nli: NliIndices;
  layout: PairLayout;
  limits: BatchLimits;
  serial: Serial;
  /** Texts → tokens without special tokens (TokenizerPool.encodeSegments). */
  tokenize: (texts: readonly string[]) => Promise<(Encoded | EncodeFailure)[]>;
  signal?: AbortSignal;
}

export async function zeroShotWindow(model: OnnxModel, texts: readonly string[], opts: ZeroShotOptions): Promise<Outcome[]> {
  if (opts.signal?.aborted) throw new InterruptedError();
  const premises = await opts.tokenize(texts);
  if (opts.signal?.aborted) throw new InterruptedError();
  const { labels, hypotheses, layout } = opts;
  const L = labels.length;
  const maxLength = model.encoder.maxLength;
  const outcomes = new Array<Outcome | undefined>(texts.length);
  const todo: number[] = [];
  premises.forEach((p, i) => {
    if ('error' in p) outcomes[i] = { ok: false, kind: 'inference_error', error: `tokenizer: ${p.error}` };
    else todo.push(i);
  });

  // Pair k = t * L + j: the t-th text to do with label j. Python tokenizes each pair with only_first
  // truncation (`_parse_and_tokenize(..., truncation=TruncationStrategy.ONLY_FIRST)`).
  const pairs: PairRow[] = new Array(todo.length * L);
  const lengths = new Array<number>(pairs.length);
  const truncated = new Uint8Array(todo.length);
  todo.forEach((i, t) => {
    const premise = premises[i] as Encoded;
    if (premise.truncated) truncated[t] = 1;
    for (let j = 0; j < L; j++) {
      const cut = onlyFirst(premise.ids.length, hypotheses[j]!.length, maxLength, layout.special);
      if (cut.first < premise.ids.length) truncated[t] = 1;
      const k = t * L + j;
      pairs[k] = { first: premise.ids, second: hypotheses[j]!, cut };
      lengths[k] = pairLength(layout, cut);
    }
  });

  const entail = new Float64Array(pairs.length);
  const contra = new Float64Array(pairs.length);
  const failed = new Map<number, string>(); // text t → why one of its pairs failed
  const fill = (indices: readonly number[], data: ArrayLike<number>, n: number) => {
    const e = logitColumn(opts.nli.entailment, n);
    const c = logitColumn(opts.nli.contradiction, n);
    indices.forEach((k, r) => {
      entail[k] = data[r * n + e]!;
      contra[k] = data[r * n + c]!;
    });
  };
  const pad = model.encoder;
  // A text fails when one of its pairs fails alone.
  await runBatches(planBatches(lengths, opts.limits), {
    feeds: (indices) => padPairs(indices.map((k) => pairs[k]!), model.inputs, pad, layout),
    run: (feeds, rows) => model.runFeeds(feeds, rows),
    fill: (indices, logits) => fill(indices, logits.data, logits.labels),
    failed: (k, err) => {
      const t = Math.floor(k / L);
      if (!failed.has(t)) failed.set(t, errorLine(err));
    },
    serial: opts.serial,
    signal: opts.signal,
  });

  todo.forEach((i, t) => {
    const why = failed.get(t);
    outcomes[i] = why !== undefined
      ? { ok: false, kind: 'inference_error', error: why }
      : { ok: true, predictions: zeroShotScores(labels, entail, contra, t * L, opts.multiLabel), truncated: truncated[t] === 1 };
  });
  return outcomes as Outcome[];
}

/**
 * NLI logits → zero-shot scores, as Python transformers' ZeroShotClassificationPipeline computes them
 * (src/transformers/pipelines/zero_shot_classification.py at commit 000c33fd; the lines followed are quoted).
 */
import { rankLabels } from '../../tasks/zero-shot-classification.js';
import type { Prediction } from '../classifier.js';

/** Which logit means entailment and which contradiction; -1 is Python's "the last one" (numpy indexing). */
export interface NliIndices {
  entailment: number;
  contradiction: number;
  /** No label2id name starts with "entail" (Python logs a warning and uses -1). */
  guessed: boolean;
}

/**
 * `entailment_id`: `for label, ind in self.model.config.label2id.items(): if label.lower().startswith("entail"):
 * return ind` / `return -1`; and in postprocess `contradiction_id = -1 if entailment_id == 0 else 0`.
 */
export function nliIndices(label2id: readonly [string, number][]): NliIndices {
  const found = label2id.find(([label]) => label.toLowerCase().startsWith('entail'));
  const entailment = found ? found[1] : -1;
  return { entailment, contradiction: entailment === 0 ? -1 : 0, guessed: !found };
}

/** A numpy index into a row of `n` logits. */
export function logitColumn(index: number, n: number): number {
  const column = index < 0 ? n + index : index;
  if (column < 0 || column >= n) throw new RangeError(`logit index ${index} outside a row of ${n} logits`);
  return column;
}

/**
 * One text's scores from its pairs' entailment and contradiction logits (in candidate order), best first.
 * postprocess: `if multi_label or len(candidate_labels) == 1:` a softmax over `[contradiction_id,
 * entailment_id]` per label, taking the entailment share; `else:` `np.exp(entail_logits) /
 * np.exp(entail_logits).sum(-1, keepdims=True)` across the labels. Doubles here, with the maximum
 * subtracted first (the same value; numpy's float32 agrees to ~1e-7).
 */
export function zeroShotScores(labels: readonly string[], entail: ArrayLike<number>, contra: ArrayLike<number>, offset: number, multiLabel: boolean): Prediction[] {
  const n = labels.length;
  const scores = new Array<number>(n);
  if (multiLabel || n === 1) {
    for (let j = 0; j < n; j++) {
      const e = entail[offset + j]!;
      const c = contra[offset + j]!;
      const m = Math.max(e, c);
      const ee = Math.exp(e - m);
      scores[j] = ee / (ee + Math.exp(c - m));
    }
  } else {
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, entail[offset + j]!);
    let sum = 0;
    for (let j = 0; j < n; j++) {
      scores[j] = Math.exp(entail[offset + j]! - max);
      sum += scores[j]!;
    }
    for (let j = 0; j < n; j++) scores[j] = scores[j]! / sum;
  }
  return rankLabels(labels, scores);
}

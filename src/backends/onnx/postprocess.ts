/**
 * Logits → predictions exactly as Python transformers' TextClassificationPipeline.postprocess does it, so
 * a label and score here mean what they mean in the Hugging Face docs.
 */
import type { FunctionToApply, Prediction } from '../classifier.js';

export interface PostprocessSpec {
  fn: FunctionToApply;
  /** Label per logit column. */
  labels: readonly string[];
  /** How many predictions to keep per text, best first. */
  topK: number;
}

/**
 * Python's default, in Python's order: regression → none; multi-label or a single output → sigmoid;
 * single-label or several outputs → softmax. (transformers.js only knows sigmoid/softmax; for the usual
 * single-label models the two agree.)
 */
export function defaultFunctionToApply(problemType: string | undefined, numLabels: number, configFn?: string): FunctionToApply {
  if (problemType === 'regression') return 'none';
  if (problemType === 'multi_label_classification' || numLabels === 1) return 'sigmoid';
  if (problemType === 'single_label_classification' || numLabels > 1) return 'softmax';
  if (configFn === 'sigmoid' || configFn === 'softmax' || configFn === 'none') return configFn;
  return 'none';
}

/** Scores for one row of logits, written into `out` (same length). Doubles throughout; numpy's float32 agrees to ~1e-7. */
export function applyFunction(fn: FunctionToApply, logits: ArrayLike<number>, offset: number, n: number, out: number[]): void {
  if (fn === 'softmax') {
    let max = -Infinity;
    for (let j = 0; j < n; j++) max = Math.max(max, logits[offset + j]!);
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(logits[offset + j]! - max);
      out[j] = e;
      sum += e;
    }
    for (let j = 0; j < n; j++) out[j] = out[j]! / sum;
  } else if (fn === 'sigmoid') {
    for (let j = 0; j < n; j++) out[j] = 1 / (1 + Math.exp(-logits[offset + j]!));
  } else {
    for (let j = 0; j < n; j++) out[j] = logits[offset + j]!;
  }
}

/**
 * The best `topK` labels, best first; ties keep column order (Python's stable sort does the same). For the
 * common top-1 case a single scan beats sorting.
 */
export function toPredictions(scores: readonly number[], spec: PostprocessSpec): Prediction[] {
  const n = scores.length;
  const label = (j: number) => spec.labels[j] ?? `LABEL_${j}`;
  if (spec.topK === 1) {
    let best = 0;
    for (let j = 1; j < n; j++) if (scores[j]! > scores[best]!) best = j;
    return [{ label: label(best), score: scores[best]! }];
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => scores[b]! - scores[a]!);
  return order.slice(0, Math.min(spec.topK, n)).map((j) => ({ label: label(j), score: scores[j]! }));
}

/** Predictions for every row of a `[rows, n]` logits matrix. */
export function postprocessLogits(logits: ArrayLike<number>, rows: number, n: number, spec: PostprocessSpec): Prediction[][] {
  const scores = new Array<number>(n).fill(0);
  const out: Prediction[][] = [];
  for (let i = 0; i < rows; i++) {
    applyFunction(spec.fn, logits, i * n, n, scores);
    out.push(toPredictions(scores, spec));
  }
  return out;
}

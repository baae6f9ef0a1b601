/**
 * zero-shot-classification: the user's own labels, scored by an NLI model. Each text (the premise) is put
 * against "This example is {label}." for every candidate label (the hypothesis), and the entailment logit
 * says how well the label fits. The labels are job-level settings: they are known before the first row, so
 * every candidate has a score_<label> column and a fresh run can stream its export.
 *
 * Semantics are those of Python transformers' ZeroShotClassificationPipeline
 * (src/transformers/pipelines/zero_shot_classification.py at commit 000c33fd; the lines followed are quoted
 * where they are used).
 */
import type { Prediction } from '../backends/classifier.js';
import { UsageError } from '../errors.js';
import type { JobSettings } from '../job/settings.js';

/** Python's default: `def preprocess(self, inputs, candidate_labels=None, hypothesis_template="This example is {}.")`. */
export const DEFAULT_HYPOTHESIS_TEMPLATE = 'This example is {}.';

export interface ZeroShotSpec {
  candidateLabels: readonly string[];
  hypothesisTemplate: string;
  multiLabel: boolean;
}

export function zeroShotSpec(s: Pick<JobSettings, 'candidateLabels' | 'hypothesisTemplate' | 'multiLabel'>): ZeroShotSpec {
  if (!s.candidateLabels || s.candidateLabels.length === 0) {
    throw new UsageError('zero-shot-classification needs --candidate-labels, e.g. --candidate-labels "shipping,fit,price,quality".');
  }
  return { candidateLabels: s.candidateLabels, hypothesisTemplate: s.hypothesisTemplate ?? DEFAULT_HYPOTHESIS_TEMPLATE, multiLabel: s.multiLabel === true };
}

/**
 * Labels from the command line: comma-separated, each trimmed, empty ones dropped, as Python's
 * `_parse_labels`: `[label.strip() for label in labels.split(",") if label.strip()]`; a job file's list is
 * taken label by label (trimmed). Labels may contain spaces. A label
 * given twice would make two score columns of one name: refused.
 */
export function parseCandidateLabels(value: unknown): string[] {
  let labels: string[];
  if (typeof value === 'string') labels = value.split(',').map((l) => l.trim()).filter((l) => l !== '');
  else if (Array.isArray(value) && value.every((l) => typeof l === 'string')) labels = value.map((l: string) => l.trim());
  else throw new UsageError(`--candidate-labels must be a comma-separated list (or a list of strings in a job file), got ${JSON.stringify(value)}.`);
  if (labels.length === 0 || labels.some((l) => l === '')) {
    throw new UsageError(`--candidate-labels needs at least one non-empty label, got ${JSON.stringify(value)}.`);
  }
  const twice = labels.find((l, i) => labels.indexOf(l) !== i);
  if (twice !== undefined) throw new UsageError(`--candidate-labels lists "${twice}" twice; each label gets one score column.`);
  return labels;
}

/**
 * `template.format(label)` for the templates Python accepts with one label: `{}` or `{0}` (each occurrence),
 * `{{` and `}}` as literal braces. A template with no placeholder is refused, as Python refuses it
 * (`if hypothesis_template.format(labels[0]) == hypothesis_template: raise ValueError(...)`).
 */
export function formatHypothesis(template: string, label: string): string {
  let placed = false;
  const out = template.replace(/\{\{|\}\}|\{0?\}|\{[^}]*\}?|\}/g, (m) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    if (m === '{}' || m === '{0}') {
      placed = true;
      return label;
    }
    throw new UsageError(`--hypothesis-template ${JSON.stringify(template)}: "${m}" is not a placeholder; write {} where the label goes (and {{ }} for literal braces).`);
  });
  if (!placed) throw new UsageError(`--hypothesis-template ${JSON.stringify(template)} has no {} for the label, e.g. "This example is {}.".`);
  return out;
}

/** Checks a template once, when the job is set up. */
export function checkHypothesisTemplate(template: string): string {
  formatHypothesis(template, 'label');
  return template;
}

/** What changes results: another label set, template or mode must not resume a checkpoint. */
export function resultSettings(s: JobSettings): Record<string, unknown> {
  const spec = zeroShotSpec(s);
  return { task: 'zero-shot-classification', candidateLabels: spec.candidateLabels, hypothesisTemplate: spec.hypothesisTemplate, multiLabel: spec.multiLabel };
}

/** Every candidate has a score column, in the user's order. */
export function scoreLabels(s: JobSettings): string[] {
  return [...zeroShotSpec(s).candidateLabels];
}

/** The HF task API's parameters; the template and mode only when they are not the service's defaults. */
export function hfParameters(spec: ZeroShotSpec): Record<string, unknown> {
  return {
    candidate_labels: spec.candidateLabels,
    ...(spec.hypothesisTemplate !== DEFAULT_HYPOTHESIS_TEMPLATE ? { hypothesis_template: spec.hypothesisTemplate } : {}),
    ...(spec.multiLabel ? { multi_label: true } : {}),
  };
}

/**
 * Scores in candidate order → predictions best first. Ties go as in Python's postprocess,
 * `top_inds = list(reversed(scores[0].argsort()))`: numpy sorts a few values stably, so of tied labels the
 * later candidate comes first.
 */
export function rankLabels(labels: readonly string[], scores: ArrayLike<number>): Prediction[] {
  return labels
    .map((label, j) => ({ label, score: scores[j]!, j }))
    .sort((a, b) => b.score - a.score || b.j - a.j)
    .map(({ label, score }) => ({ label, score }));
}

/**
 * A 200 answer to one text → its predictions, or why it is not an answer to what was asked. Two shapes are
 * answers: today's list of {label, score} (sorted best first), and the older {sequence, labels, scores}
 * (the shape changed in late 2025; huggingface.js accepts both). Either may come wrapped in a one-element
 * list. It must hold exactly the candidate labels, once each, with probabilities.
 */
export function parseZeroShotAnswer(body: unknown, candidates: readonly string[]): Prediction[] | string {
  let answer = body;
  if (Array.isArray(answer) && answer.length === 1 && (Array.isArray(answer[0]) || isLegacy(answer[0]))) answer = answer[0];
  let list: { label: unknown; score: unknown }[];
  if (isLegacy(answer)) {
    const { labels, scores } = answer as { labels: unknown; scores: unknown };
    if (!Array.isArray(labels) || !Array.isArray(scores) || labels.length !== scores.length) return 'labels and scores are not two lists of one length';
    list = labels.map((label, i) => ({ label, score: scores[i] }));
  } else if (Array.isArray(answer)) {
    if (!answer.every((p) => p !== null && typeof p === 'object')) return 'expected {label, score} objects';
    list = answer as { label: unknown; score: unknown }[];
  } else {
    return 'expected a list of {label, score} or {sequence, labels, scores}';
  }
  if (list.length !== candidates.length) return `${list.length} labels for ${candidates.length} candidate labels`;
  const out: Prediction[] = [];
  const seen = new Set<string>();
  const wanted = new Set(candidates);
  for (const { label, score } of list) {
    if (typeof label !== 'string' || !wanted.has(label)) return `label ${JSON.stringify(label)} is not a candidate label`;
    if (seen.has(label)) return `label ${label} appears twice`;
    if (typeof score !== 'number' || !Number.isFinite(score) || score < -1e-6 || score > 1 + 1e-6) return `label ${label} has no score in [0, 1]`;
    seen.add(label);
    out.push({ label, score });
  }
  return out.sort((a, b) => b.score - a.score);
}

function isLegacy(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && 'labels' in v && 'scores' in v;
}

/** The labels at or above `threshold`, best first, as the predicted_labels cell. */
export function labelsAtOrAbove(predictions: readonly Prediction[], threshold: number): string {
  return predictions.filter((p) => p.score >= threshold).map((p) => p.label).join('|');
}

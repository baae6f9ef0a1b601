/**
 * text-classification: the model's own labels. Asked with function_to_apply / top_k (HF API), answered
 * with a list of {label, score} per text (see backends/hf/response.ts, backends/onnx/postprocess.ts).
 */
import type { JobSettings } from '../job/settings.js';

/**
 * Every label's score is kept (score_<LABEL> columns) with --all-scores or --top-k above 1, and for a
 * multi-label model, whose predicted_labels are read from them.
 */
export function keepsAllScores(s: Pick<JobSettings, 'allScores' | 'topK' | 'multiLabel'>): boolean {
  return s.allScores || (s.topK ?? 1) > 1 || s.multiLabel === true;
}

/** Absent for a single-label job, so checkpoints made before multi-label existed resume. */
export function resultSettings(s: Pick<JobSettings, 'multiLabel'>): Record<string, unknown> {
  return s.multiLabel === true ? { multiLabel: true } : {};
}

/** The task's request parameters for the HF task API (absent when the model's defaults apply). */
export function hfParameters(s: Pick<JobSettings, 'functionToApply' | 'topK'>): Record<string, unknown> | undefined {
  const parameters: Record<string, unknown> = {};
  if (s.functionToApply !== undefined) parameters.function_to_apply = s.functionToApply;
  if (s.topK !== undefined) parameters.top_k = s.topK;
  return Object.keys(parameters).length > 0 ? parameters : undefined;
}

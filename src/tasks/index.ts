/**
 * A task is what the model is asked and what its answer means: the request parameters, how an answer is
 * validated and shaped into predictions, and which columns the export adds. The runner and the backends
 * ask the job's task; they do not know the tasks themselves.
 */
import type { JobSettings } from '../job/settings.js';
import * as textClassification from './text-classification.js';
import * as zeroShot from './zero-shot-classification.js';

export const TASKS = ['text-classification', 'zero-shot-classification'] as const;
export type TaskName = (typeof TASKS)[number];

export function taskOf(s: Pick<JobSettings, 'task'>): TaskName {
  return s.task ?? 'text-classification';
}

export function isZeroShot(s: Pick<JobSettings, 'task'>): boolean {
  return taskOf(s) === 'zero-shot-classification';
}

/**
 * The settings of the task that change results. Absent keys for the plain case (a text-classification job
 * without pairs), so a checkpoint made before tasks existed still resumes.
 */
export function taskResultSettings(s: JobSettings): Record<string, unknown> {
  return {
    ...(s.textPairColumn !== undefined ? { textPairColumn: s.textPairColumn } : {}),
    ...(isZeroShot(s) ? zeroShot.resultSettings(s) : textClassification.resultSettings(s)),
  };
}

/**
 * The labels that get a score_<label> column, when they are known before any result (zero-shot: the
 * candidates); undefined when they are the labels the model answers with, known only after the run.
 */
export function knownScoreLabels(s: JobSettings): string[] | undefined {
  return isZeroShot(s) ? zeroShot.scoreLabels(s) : undefined;
}

/** Whether the export has one score_<label> column per label. */
export function keepsAllScores(s: JobSettings): boolean {
  return isZeroShot(s) || textClassification.keepsAllScores(s);
}

/** Whether the export adds predicted_labels (the labels at or above the threshold). */
export function listsPredictedLabels(s: JobSettings): boolean {
  return s.multiLabel === true;
}

export const DEFAULT_THRESHOLD = 0.5;

import { ExportError } from '../errors.js';
import { DEFAULT_COLUMNS, type JobSettings, type OutputColumns } from '../job/settings.js';
import type { StoredRow } from '../store/checkpoint.js';
import { DEFAULT_THRESHOLD, keepsAllScores, knownScoreLabels, listsPredictedLabels } from '../tasks/index.js';

/** The columns an export adds, in order, and how each row fills them. */
export interface AddedColumns {
  names: string[];
  values(row: StoredRow | undefined): (string | number | boolean | null)[];
}

const FLAGS: Record<keyof OutputColumns, string> = {
  label: '--label-column',
  score: '--score-column',
  scorePrefix: '--score-prefix',
  truncated: '--truncated-column',
  error: '--error-column',
  labels: '--labels-column',
};

/**
 * The added columns: label, score, the labels at or above `threshold` (when given), one score per label in
 * `labels` (when given), truncated, error.
 */
export function addedColumns(columns: OutputColumns, labels: string[] | null, threshold?: number): AddedColumns {
  const listed = threshold !== undefined;
  const names = [
    columns.label,
    columns.score,
    ...(listed ? [columns.labels ?? DEFAULT_COLUMNS.labels!] : []),
    ...(labels ?? []).map((l) => columns.scorePrefix + l),
    columns.truncated,
    columns.error,
  ];
  const blank = names.map(() => null);
  return {
    names,
    values(row) {
      if (!row || row.status === 'skipped') return blank; // not labeled yet, or nothing to label (an empty text)
      const perLabel: (number | null)[] = [];
      let atOrAbove: string[] = [];
      if (labels || listed) {
        const all = row.scores ? row.scores : row.label !== null && row.score !== null ? [{ label: row.label, score: row.score }] : [];
        if (labels) {
          const scores = new Map<string, number>(all.map((p) => [p.label, p.score]));
          for (const l of labels) perLabel.push(scores.get(l) ?? null);
        }
        // Best first, as stored; a failed row has no labels (null), a row with none at or above has ''.
        if (listed) atOrAbove = all.filter((p) => p.score >= threshold).map((p) => p.label);
      }
      const listedCell = listed ? [row.status === 'done' ? atOrAbove.join('|') : null] : [];
      return [row.label, row.score, ...listedCell, ...perLabel, row.truncated, row.error];
    },
  };
}

/** What a spreadsheet takes for the start of a formula (OWASP's CSV injection list). */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * A string cell a spreadsheet would run as a formula (`=HYPERLINK(…)`, `@SUM(1)`, `-2+3`), prefixed with
 * a single quote as OWASP advises, so it is shown as text. Numbers are left alone: a negative score is a
 * number, not a formula.
 */
export function escapeFormula<T>(value: T): T | string {
  return typeof value === 'string' && FORMULA_START.test(value) ? `'${value}` : value;
}

/**
 * The job's added columns. Score columns are named after the candidate labels when the task knows them up
 * front (zero-shot); otherwise after the labels the model answered with (`seenLabels`, read only then).
 */
export function columnsForJob(settings: JobSettings, seenLabels: () => string[]): AddedColumns {
  const labels = knownScoreLabels(settings) ?? (keepsAllScores(settings) ? seenLabels() : null);
  return addedColumns(settings.columns, labels, listsPredictedLabels(settings) ? (settings.threshold ?? DEFAULT_THRESHOLD) : undefined);
}

/** A clash with an input column would silently overwrite the user's data: refuse, and say how to rename. */
export function checkClash(added: string[], existing: Iterable<string>, columns: OutputColumns, where: string): void {
  const have = new Set(existing);
  for (const name of added) {
    if (!have.has(name)) continue;
    const key = (Object.keys(columns) as (keyof OutputColumns)[]).find((k) => (k === 'scorePrefix' ? name.startsWith(columns[k]) : columns[k] === name)) ?? 'label';
    throw new ExportError(`${where} already has a column "${name}". Name the added column differently with ${FLAGS[key]} (e.g. ${FLAGS[key]} ${key === 'scorePrefix' ? 'bl_score_' : `bl_${name}`}).`);
  }
}

import { ExportError } from '../errors.js';
import type { OutputColumns } from '../job/settings.js';
import type { StoredRow } from '../store/checkpoint.js';

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
};

export function addedColumns(columns: OutputColumns, labels: string[] | null): AddedColumns {
  const names = [
    columns.label,
    columns.score,
    ...(labels ?? []).map((l) => columns.scorePrefix + l),
    columns.truncated,
    columns.error,
  ];
  return {
    names,
    values(row) {
      if (!row) return [null, null, ...(labels ?? []).map(() => null), null, null];
      let perLabel: (number | null)[] = [];
      if (labels) {
        const scores = new Map<string, number>((row.scores ? (JSON.parse(row.scores) as { label: string; score: number }[]) : []).map((p) => [p.label, p.score]));
        perLabel = labels.map((l) => scores.get(l) ?? null);
      }
      return [row.label, row.score, ...perLabel, row.truncated === 1, row.error];
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

/** A clash with an input column would silently overwrite the user's data: refuse, and say how to rename. */
export function checkClash(added: string[], existing: Iterable<string>, columns: OutputColumns, where: string): void {
  const have = new Set(existing);
  for (const name of added) {
    if (!have.has(name)) continue;
    const key = (Object.keys(columns) as (keyof OutputColumns)[]).find((k) => (k === 'scorePrefix' ? name.startsWith(columns[k]) : columns[k] === name)) ?? 'label';
    throw new ExportError(`${where} already has a column "${name}". Name the added column differently with ${FLAGS[key]} (e.g. ${FLAGS[key]} ${key === 'scorePrefix' ? 'bl_score_' : `bl_${name}`}).`);
  }
}

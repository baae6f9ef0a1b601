/**
 * The export's check that each row it writes is still the row its result is for. The input fingerprint
 * samples the file, so an edit between runs that keeps the size (a changed letter, two swapped rows of
 * equal length) passes it; this check does not: every labeled row's input is hashed as the run keyed it
 * (hashText/hashPair) and looked up in the checkpoint's text index. The index must know the hash, and the
 * result stored for the ordinal it names must be this row's result (a row reused from an identical text
 * has no index entry of its own, so results are compared). A row recorded as unreadable that now reads
 * well is refused too (a same-size shift moves line boundaries).
 */
import { CheckpointError } from '../errors.js';
import type { InputRow } from '../io/index.js';
import { hashPair, hashText } from '../job/fingerprint.js';
import type { Checkpoint, StoredRow } from '../store/checkpoint.js';
import { damaged } from '../store/errors.js';

/** Throws when the row's input is not the one its result was stored for. */
export type RowCheck = (row: InputRow, result: StoredRow | undefined) => void;

function changed(input: string, row: InputRow, why: string): CheckpointError {
  return new CheckpointError(
    `${input}: row ${row.ordinal + 1} (ordinal ${row.ordinal}, line ${row.line}) changed since it was labeled (${why}); its stored result would be exported for another text. Restore the original input, or label the new one with \`batchlabel run --restart\`.`,
  );
}

function sameResult(a: StoredRow, b: StoredRow): boolean {
  return a.label === b.label && a.score === b.score && JSON.stringify(a.scores) === JSON.stringify(b.scores) && a.truncated === b.truncated;
}

/** The check of the rows of `store` (one checkpoint: a job, or a shard of one). */
export function rowCheck(store: Checkpoint, input: string): RowCheck {
  const resultAt = (ordinal: number): StoredRow | undefined => {
    const [r] = store.page(ordinal, 1);
    return r?.ordinal === ordinal ? r : undefined;
  };
  return (row, result) => {
    if (!result) return;
    const text = row.textBytes ?? row.text;
    if (result.status === 'skipped') return;
    if (result.status === 'failed') {
      if (text !== undefined && store.failureKind(row.ordinal) === 'bad_row') throw changed(input, row, 'it was unreadable and now reads as a row');
      return;
    }
    if (text === undefined) throw changed(input, row, row.error ?? 'it has no text now');
    const ordinal = store.textOrdinal(row.textPair !== undefined ? hashPair(text, row.textPair) : hashText(text));
    if (ordinal === row.ordinal) return;
    if (ordinal === undefined) throw changed(input, row, 'its text is not one the checkpoint labeled');
    const first = resultAt(ordinal);
    if (!first || !sameResult(first, result)) throw changed(input, row, `its text is the one of row ${ordinal + 1}, whose result differs`);
  };
}

/**
 * The check that every result is one the job can give: a label of the job's label set (the `labels`
 * table the run filled, or a zero-shot job's candidate labels), a number for a score, a status the run
 * writes. A bit flipped in the checkpoint otherwise exported a label no model ever answered.
 */
export function resultCheck(store: Checkpoint, known: readonly string[] | undefined): RowCheck {
  const labels = new Set(known ?? store.labels());
  const bad = (row: InputRow, what: string) => damaged(store.path, `row ${row.ordinal + 1} (ordinal ${row.ordinal}) holds ${what}`);
  const checkLabel = (row: InputRow, label: unknown) => {
    if (typeof label !== 'string' || !labels.has(label)) throw bad(row, `the label ${JSON.stringify(label)}, which is not one of the job's labels (${[...labels].join(', ')})`);
  };
  return (row, result) => {
    if (!result) return;
    if (result.status !== 'done') return; // an unknown stored status is refused when the row is read (Checkpoint.page)
    checkLabel(row, result.label);
    if (typeof result.score !== 'number' || !Number.isFinite(result.score)) throw bad(row, `the score ${JSON.stringify(result.score)}`);
    if (result.scores === null) return;
    const all: unknown = result.scores;
    if (!Array.isArray(all)) throw bad(row, 'scores that are not a list');
    for (const p of all as { label?: unknown; score?: unknown }[]) {
      checkLabel(row, p?.label);
      if (typeof p.score !== 'number') throw bad(row, `the score ${JSON.stringify(p.score)}`);
    }
  };
}

/** Both checks, the cheap one first. */
export function exportCheck(store: Checkpoint, input: string, known: readonly string[] | undefined): RowCheck {
  const results = resultCheck(store, known);
  const rows = rowCheck(store, input);
  return (row, result) => {
    results(row, result);
    rows(row, result);
  };
}

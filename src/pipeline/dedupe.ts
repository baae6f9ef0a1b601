import type { Input } from '../core/types.js';
import type { TextKey } from '../job/fingerprint.js';
import type { InputRow } from '../io/types.js';
import type { StoredResult } from '../store/checkpoint.js';

/** What a finished row needs of its input row: the rest (record, text) is not kept while it waits. */
export type RowRef = Pick<InputRow, 'ordinal' | 'line' | 'byteStart' | 'id'>;

/** Built field by field: spreading InputRow (whose optional fields vary) took the slow generic copy, ~3 µs a row. */
export const rowRef = (row: InputRow): RowRef => ({ ordinal: row.ordinal, line: row.line, byteStart: row.byteStart, id: row.id });

/** One text on its way to the model, with every row that has that text. */
export interface Pending {
  key: TextKey;
  /**
   * The text (its bytes where the reader has them: a waiting row then holds no decoded copy, ~1.5 kB a
   * review, that outlives young-generation GCs), or the text and its pair.
   */
  input: Input;
  rows: RowRef[];
}

/** Where finished results for a text are found: the checkpoint, for texts of earlier commits and runs. */
export interface ResultLookup {
  lookupDone(key: TextKey): StoredResult | undefined;
}

/**
 * Identical texts are classified once per job, resumed runs included: a text in flight gathers the rows
 * that repeat it, a finished one is reused from the results not committed yet or from the checkpoint.
 */
export class Dedupe {
  private readonly inflight = new Map<TextKey, Pending>();
  /** Finished but not yet committed: the checkpoint cannot answer for them yet. */
  private readonly recent = new Map<TextKey, StoredResult>();

  constructor(private readonly store: ResultLookup) {}

  /** Adds `row` to the request in flight for the same text; false when there is none. */
  join(key: TextKey, row: InputRow): boolean {
    const waiting = this.inflight.get(key);
    if (!waiting) return false;
    waiting.rows.push(rowRef(row)); // the first row carries the text
    return true;
  }

  /** A finished result for this text, if there is one. */
  known(key: TextKey): StoredResult | undefined {
    return this.recent.get(key) ?? this.store.lookupDone(key);
  }

  /** A new text to send, with its first row. */
  start(key: TextKey, input: Input, row: InputRow): Pending {
    const p: Pending = { key, input, rows: [rowRef(row)] };
    this.inflight.set(key, p);
    return p;
  }

  /** The model answered for `p` (with a result, or a failure: then later copies are sent again). */
  settle(p: Pending, result: StoredResult | undefined): void {
    this.inflight.delete(p.key);
    if (result) this.recent.set(p.key, result);
  }

  /** Everything finished so far is in the checkpoint now. */
  committed(): void {
    this.recent.clear();
  }

  get inFlight(): number {
    return this.inflight.size;
  }
}

import type { InputRow, ReadPosition } from '../readers/types.js';

/**
 * Tracks the first row that is not finished yet, with its byte offset and line: the point a resumed run
 * seeks to. Rows finish out of order (concurrency, dedupe waits), so it keeps the rows read since the
 * first unfinished one, in read order. Their number is bounded by the queue, except behind a row held up
 * by retries: ready() bounds that.
 */
export class Frontier {
  private readonly open: { ordinal: number; byte: number; line: number; done: boolean }[] = [];
  private readonly index = new Map<number, { done: boolean }>();
  private head = 0;
  private next: ReadPosition;
  /** The run's wait for the span to shrink: resolved once half of `at` rows are left. */
  private backlog: { at: number; promise: Promise<void>; resolve: () => void } | undefined;

  constructor(start: ReadPosition) {
    this.next = { ...start };
  }

  /** A row was read and is now in flight. */
  read(row: InputRow): void {
    const entry = { ordinal: row.ordinal, byte: row.byteStart, line: row.line, done: false };
    this.open.push(entry);
    this.index.set(row.ordinal, entry);
    this.next = { ordinal: row.ordinal + 1, byte: row.byteEnd, line: row.nextLine };
  }

  /** A row finished (its result is in the writer's buffer, or it was already in the checkpoint). */
  finish(ordinal: number): void {
    const e = this.index.get(ordinal);
    if (!e) return;
    e.done = true;
    this.index.delete(ordinal);
    while (this.head < this.open.length && this.open[this.head]!.done) this.head++;
    if (this.head > 4096 && this.head * 2 > this.open.length) {
      this.open.splice(0, this.head);
      this.head = 0;
    }
    if (this.backlog && this.span <= this.backlog.at / 2) {
      this.backlog.resolve();
      this.backlog = undefined;
    }
  }

  /** Rows from the first unfinished one to the last one read: what the run (and the export it writes) holds. */
  get span(): number {
    return this.open.length - this.head;
  }

  /**
   * Pending while `max` rows or more wait behind the first unfinished one, so that a row held up by
   * retries does not let everything read after it pile up in memory; resolved once half are left. The
   * caller must have sent every unfinished row it read before waiting, or it may wait for itself.
   */
  ready(max: number): Promise<void> | undefined {
    if (this.span < max) return undefined;
    if (!this.backlog) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.backlog = { at: max, promise, resolve };
    }
    return this.backlog.promise;
  }

  /** Ordinal of the next row to be read: the row count once the whole input has been read. */
  get nextOrdinal(): number {
    return this.next.ordinal;
  }

  get inFlight(): number {
    return this.index.size;
  }

  position(): ReadPosition {
    const first = this.open[this.head];
    return first ? { ordinal: first.ordinal, byte: first.byte, line: first.line } : { ...this.next };
  }
}

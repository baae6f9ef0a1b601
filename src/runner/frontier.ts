import type { InputRow, ReadPosition } from '../readers/types.js';

/**
 * Tracks the first row that is not finished yet, with its byte offset and line: the point a resumed run
 * seeks to. Rows finish out of order (concurrency, dedupe waits), so it keeps the rows read but not yet
 * finished, in read order; their number is bounded by the queue, not by the file.
 */
export class Frontier {
  private readonly open: { ordinal: number; byte: number; line: number; done: boolean }[] = [];
  private readonly index = new Map<number, { done: boolean }>();
  private head = 0;
  private next: ReadPosition;

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

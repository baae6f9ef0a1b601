import { grownRings } from '../core/ring.js';
import type { InputRow, ReadPosition } from '../io/types.js';

/**
 * Tracks the first row that is not finished yet, with its byte offset and line: the point a resumed run
 * seeks to. Rows finish out of order (concurrency, dedupe waits), so it keeps the rows read since the
 * first unfinished one. Their number is bounded by the queue, except behind a row held up by retries:
 * ready() bounds that.
 *
 * Rows are read with consecutive ordinals, so they are kept in rings indexed by ordinal (core/ring.ts).
 */
export class Frontier {
  private mask = 1023;
  private done = new Uint8Array(this.mask + 1);
  private bytes = new Float64Array(this.mask + 1);
  private lines = new Float64Array(this.mask + 1);
  /** Ordinal of the first unfinished row read; equal to nextOrd when every row read is finished. */
  private first: number;
  private nextOrd: number;
  private nextByte: number;
  private nextLine: number;
  /** The run's wait for the span to shrink: resolved once half of `at` rows are left. */
  private backlog: { at: number; promise: Promise<void>; resolve: () => void } | undefined;

  constructor(start: ReadPosition) {
    this.first = this.nextOrd = start.ordinal;
    this.nextByte = start.byte;
    this.nextLine = start.line;
  }

  /** A row was read and is now in flight. Rows come in order: ordinal after ordinal. */
  read(row: InputRow): void {
    if (row.ordinal !== this.nextOrd) throw new Error(`Frontier: row ${row.ordinal} read after row ${this.nextOrd - 1}`);
    if (this.span > this.mask) this.grow();
    const i = row.ordinal & this.mask;
    this.done[i] = 0;
    this.bytes[i] = row.byteStart;
    this.lines[i] = row.line;
    this.nextOrd = row.ordinal + 1;
    this.nextByte = row.byteEnd;
    this.nextLine = row.nextLine;
  }

  /** A row finished (its result is in the writer's buffer, or it was already in the checkpoint). */
  finish(ordinal: number): void {
    if (ordinal < this.first || ordinal >= this.nextOrd || this.done[ordinal & this.mask]) return;
    this.done[ordinal & this.mask] = 1;
    while (this.first < this.nextOrd && this.done[this.first & this.mask]) this.first++;
    if (this.backlog && this.span <= this.backlog.at / 2) {
      this.backlog.resolve();
      this.backlog = undefined;
    }
  }

  /** Rows from the first unfinished one to the last one read: what the run (and the export it writes) holds. */
  get span(): number {
    return this.nextOrd - this.first;
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
    return this.nextOrd;
  }

  position(): ReadPosition {
    if (this.first === this.nextOrd) return { ordinal: this.nextOrd, byte: this.nextByte, line: this.nextLine };
    const i = this.first & this.mask;
    return { ordinal: this.first, byte: this.bytes[i]!, line: this.lines[i]! };
  }

  /** Twice the room, each row held moved to its place under the new mask. */
  private grow(): void {
    const grown = grownRings([this.done, this.bytes, this.lines] as [typeof this.done, typeof this.bytes, typeof this.lines], this.mask, this.first, this.nextOrd);
    this.mask = grown.mask;
    [this.done, this.bytes, this.lines] = grown.rings;
  }
}

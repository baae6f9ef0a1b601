import type { ReadPosition } from '../io/types.js';
import { commitFailure } from './errors.js';
import type { Checkpoint, RowRecord } from './checkpoint.js';

export interface WriterOptions {
  /** Commit when this many rows are buffered. @default 1000 */
  maxRows: number;
  /** Commit at least this often while rows are buffered, ms. @default 250 */
  maxDelayMs: number;
}

export const DEFAULT_WRITER: WriterOptions = { maxRows: 1000, maxDelayMs: 250 };

/** What the writer needs of the run's frontier: rows finish into it, and it says where a resume starts. */
export interface FinishLine {
  finish(ordinal: number): void;
  position(): ReadPosition;
}

/**
 * Batches finished rows into one SQLite transaction per few hundred rows or fraction of a second.
 * The frontier goes into the same transaction, so what is committed and where to resume always agree.
 * Commits are synchronous (better-sqlite3): a hard exit right after flush() loses nothing it held.
 * A commit that fails (disk full) keeps its rows buffered: the frontier committed later never passes a
 * row that is not in the checkpoint.
 */
export class CheckpointWriter {
  private buffer: RowRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The first commit failure; the run stops on it, and later commits are not attempted. */
  failure: Error | undefined;
  /** Committed row count of this run, by status. */
  committed = { done: 0, failed: 0, skipped: 0 };

  constructor(
    private readonly store: Checkpoint,
    private readonly frontier: FinishLine,
    private readonly opts: WriterOptions = DEFAULT_WRITER,
    private readonly afterCommit: () => void = () => {},
    /** A timed commit failed (no caller to throw to): the run must stop. */
    private readonly onFailure: (err: Error) => void = () => {},
  ) {}

  add(row: RowRecord): void {
    this.buffer.push(row);
    this.frontier.finish(row.ordinal);
    if (this.failure) return;
    if (this.buffer.length >= this.opts.maxRows) this.flushOrReport();
    else this.timer ??= setTimeout(() => this.flushOrReport(), this.opts.maxDelayMs);
  }

  /** Buffered rows not yet committed. */
  get buffered(): number {
    return this.buffer.length;
  }

  /** Commits what is buffered; throws a CheckpointError (rows kept) when the commit fails. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const rows = this.buffer;
    if (!rows.length && this.failure) throw this.failure;
    try {
      this.store.commit(rows, { frontier: this.frontier.position() });
    } catch (err) {
      this.failure ??= commitFailure(this.store.path, err);
      throw this.failure;
    }
    this.buffer = [];
    for (const r of rows) this.committed[r.status]++;
    this.afterCommit();
  }

  private flushOrReport(): void {
    try {
      this.flush();
    } catch (err) {
      this.onFailure(err as Error);
    }
  }
}

import type { Checkpoint, RowRecord } from '../store/checkpoint.js';
import type { Frontier } from './frontier.js';

export interface WriterOptions {
  /** Commit when this many rows are buffered. */
  maxRows: number;
  /** Commit at least this often while rows are buffered, ms. */
  maxDelayMs: number;
}

export const DEFAULT_WRITER: WriterOptions = { maxRows: 1000, maxDelayMs: 250 };

/**
 * Batches finished rows into one SQLite transaction per few hundred rows or fraction of a second.
 * The frontier goes into the same transaction, so what is committed and where to resume always agree.
 * Commits are synchronous (better-sqlite3): a hard exit right after flush() loses nothing it held.
 */
export class CheckpointWriter {
  private buffer: RowRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Committed row count of this run, by status. */
  committed = { done: 0, failed: 0 };
  private readonly extraMeta: () => Record<string, unknown>;

  constructor(
    private readonly store: Checkpoint,
    private readonly frontier: Frontier,
    extraMeta: () => Record<string, unknown> = () => ({}),
    private readonly opts: WriterOptions = DEFAULT_WRITER,
    private readonly afterCommit: () => void = () => {},
  ) {
    this.extraMeta = extraMeta;
  }

  add(row: RowRecord): void {
    this.buffer.push(row);
    this.frontier.finish(row.ordinal);
    if (this.buffer.length >= this.opts.maxRows) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.maxDelayMs);
  }

  /** Buffered rows not yet committed. */
  get buffered(): number {
    return this.buffer.length;
  }

  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const rows = this.buffer;
    this.buffer = [];
    this.store.commit(rows, { frontier: this.frontier.position(), ...this.extraMeta() });
    for (const r of rows) this.committed[r.status]++;
    this.afterCommit();
  }
}

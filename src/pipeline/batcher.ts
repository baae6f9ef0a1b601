import type PQueue from 'p-queue';
import { queueBacklog } from './queue-control.js';
import type { Pending } from './dedupe.js';

/**
 * Gathers texts into classifier calls of `size()` texts and queues them. The size is read at each text:
 * a backend may shrink its batches during a run (an endpoint that refuses lists).
 */
export class Batcher {
  private batch: Pending[] = [];
  private readonly backlog: { full: number; resume: number };

  constructor(
    private readonly queue: PQueue,
    private readonly size: () => number,
    concurrency: number,
    /** Sends one batch; resolves when its outcomes are recorded. */
    private readonly send: (entries: Pending[]) => Promise<void>,
    /** A batch failed as a whole (a fatal backend error): the run stops. */
    private readonly onError: (err: unknown) => void,
    /** True once nothing new may start (stopped, or a fatal error). */
    private readonly halted: () => boolean,
  ) {
    this.backlog = queueBacklog(concurrency);
  }

  /** Adds a text; returns a promise to wait on when the queue's backlog is full, else undefined. */
  add(p: Pending): Promise<void> | undefined {
    this.batch.push(p);
    if (this.batch.length < Math.max(1, this.size())) return undefined;
    this.flush();
    return this.queue.size >= this.backlog.full ? this.queue.onSizeLessThan(this.backlog.resume) : undefined;
  }

  /** Sends the part-filled batch (before a wait that a row in it may be holding up, and at the end). */
  flush(): void {
    if (!this.batch.length || this.halted()) return;
    const entries = this.batch;
    this.batch = [];
    // The task is send's own promise: an async wrapper around it cost each call a promise more.
    this.queue.add(() => (this.halted() ? Promise.resolve() : this.send(entries))).catch(this.onError);
  }
}

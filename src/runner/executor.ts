/**
 * What the runner hands its batches to: the concurrency-limited queue (p-queue) and the classifier behind
 * it, in this thread (local-executor.ts) or on a thread of its own (worker-executor.ts). The runner reads,
 * dedupes, checkpoints and exports; an executor only turns calls into outcomes.
 */
import type { ClassifierEvents, Outcome, Text } from '../backends/classifier.js';
import type { JobSettings } from '../job/settings.js';

/** One classify() call: its texts, and where its outcomes go (one per text, in order). */
export interface Call {
  texts: Text[];
  done(outcomes: Outcome[]): void;
}

export interface Executor {
  /** Texts the runner should put in one call; a backend may shrink it during the run. */
  readonly batchSize: number;
  /** Calls allowed in flight now (AIMD moves it). */
  readonly concurrency: number;
  /** See Classifier.identity. */
  readonly identity?: Record<string, string>;
  /**
   * Queues a call. Its `done` runs once, unless the call is cleared or the run aborted first; a run-level
   * error (bad credentials, unknown model) goes to the `fatal` callback the executor was opened with.
   */
  submit(call: Call): void;
  /** Sends calls held back to be sent together (the worker executor); a no-op where nothing is held. */
  flush(): void;
  /** undefined while the backlog has room; else resolved once it has drained to about half. */
  room(): Promise<void> | undefined;
  /** Resolved once every submitted call is done or cleared. */
  idle(): Promise<void>;
  /** Drops the calls that have not started: their rows stay unfinished, for the next run. */
  clear(): void;
  close(): Promise<void>;
}

export interface ExecutorContext {
  events: ClassifierEvents;
  /** Aborted when the run stops for good (fatal error, drain time is up): calls in flight are cancelled. */
  signal: AbortSignal;
  /** The first run-level error of a call; later ones, and any after `signal` aborted, are dropped. */
  fatal(err: unknown): void;
}

/**
 * The HF backend runs on its own thread: its per-request work (HTTP, bodies, answers) then never waits
 * behind the runner's reading, hashing, checkpoint commits and export, nor they behind it. The ONNX backend
 * stays here: its heavy work already runs off this thread (tokenizer threads, onnxruntime's own threads).
 */
export async function openExecutor(settings: JobSettings, ctx: ExecutorContext): Promise<Executor> {
  if (settings.backend === 'hf') {
    const { openWorkerExecutor } = await import('./worker-executor.js');
    return openWorkerExecutor(settings, ctx);
  }
  const { openLocalExecutor } = await import('./local-executor.js');
  return openLocalExecutor(settings, ctx);
}

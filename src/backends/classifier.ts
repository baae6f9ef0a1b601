/**
 * The one interface both backends implement. The runner hands a classifier batches of distinct texts and
 * gets back exactly one outcome per text, in the same order. Row-level problems (bad input, retries
 * exhausted) are outcomes; run-level problems (credentials, unknown model) are thrown as BackendFatalError.
 */

import type { Input, Outcome, ProgressSink, RetryKind } from '../core/types.js';

export { isPair, textOf, type FailureKind, type FunctionToApply, type Input, type Outcome, type Prediction, type RetryKind, type Text, type TextPair } from '../core/types.js';

/** What the runner lets a backend steer: the shared queue (AIMD, global pauses on 429). */
export interface QueueControl {
  /** Current number of requests allowed in flight. */
  readonly concurrency: number;
  /** Change the number of requests allowed in flight (clamped to 1..configured maximum). */
  setConcurrency(n: number): void;
  /** The configured maximum concurrency. */
  readonly maxConcurrency: number;
  /** Start no new task before `Date.now() + ms`; overlapping pauses extend, never shorten. */
  pauseFor(ms: number): void;
  /**
   * The calling task waits without using the server (a request told to come back later): one more task
   * may run until the returned function is called. Optional: without it the task keeps its place.
   */
  park?(): () => void;
}

/** Progress and summary hooks; every field optional so a backend can be used on its own. */
export interface ClassifierEvents {
  retry?(kind: RetryKind, waitMs: number): void;
  /** A short state shown on the progress line ("model loading"); undefined clears it. */
  status?(text: string | undefined): void;
  /** A one-time message worth telling the user ("endpoint rejects batches; sending one text per request"). */
  notice?(message: string): void;
  /** Where model downloads report progress; silent when absent. */
  download?: ProgressSink;
  /** The revision the server says answered (the router's `x-sha`), on every answer that names one. */
  revision?(sha: string): void;
}

export interface ClassifierContext {
  queue: QueueControl;
  events: ClassifierEvents;
  /** Aborted when the run stops (Ctrl-C or a fatal error); waits and requests must end promptly. */
  signal: AbortSignal;
}

export interface Classifier {
  /** How many texts the runner should put in one classify() call. */
  readonly batchSize: number;
  /** Upper bound on classify() calls in flight that this backend can use (the runner takes the min with --concurrency). */
  readonly maxConcurrency?: number;
  /**
   * What exactly produces the answers, beyond the job's settings (the ONNX file picked, the Hub commit).
   * A resumed run that finds another identity would mix two models' results, so it is refused.
   */
  readonly identity?: Record<string, string>;
  classify(inputs: readonly Input[]): Promise<Outcome[]>;
  close(): Promise<void>;
}


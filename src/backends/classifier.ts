/**
 * The one interface both backends implement. The runner hands a classifier batches of distinct texts and
 * gets back exactly one outcome per text, in the same order. Row-level problems (bad input, retries
 * exhausted) are outcomes; run-level problems (credentials, unknown model) are thrown as BackendFatalError.
 */

/**
 * A text to classify: a string, or its bytes as valid UTF-8 where the reader has them (a view of the
 * buffer it read). Bytes go into a request body with a copy, and hold no decoded copy in memory while
 * they wait their turn; a backend that needs a string decodes them (textOf).
 */
export type Text = string | Buffer;

export function textOf(t: Text): string {
  return typeof t === 'string' ? t : t.toString('utf8');
}

/** Two texts classified together (--text-pair-column: cross-encoders, NLI models used directly). */
export interface TextPair {
  text: Text;
  pair: string;
}

/** What the runner hands a classifier for one row: its text, or its text and the pair's second text. */
export type Input = Text | TextPair;

export function isPair(input: Input): input is TextPair {
  return typeof input === 'object' && !Buffer.isBuffer(input);
}

export interface Prediction {
  label: string;
  score: number;
}

/** Why a row failed; `status` groups failures by these. */
export type FailureKind =
  | 'bad_row' // the input row itself is malformed (wrong field count, bad JSON, missing or empty text)
  | 'bad_input' // the model service rejected this text (400/413/422)
  | 'server_error' // 5xx, 424 after all retries
  | 'network' // connection reset/refused, timeouts, after all retries
  | 'malformed_response' // 200 with a body that is not a text-classification answer, after all retries
  | 'rate_limited' // still 429 after all retries
  | 'inference_error'; // local backend failed on this input

export type Outcome =
  | { ok: true; predictions: Prediction[]; truncated?: boolean }
  | { ok: false; kind: FailureKind; error: string };

/** Retry reasons, counted per run and shown in progress and status. */
export type RetryKind = 'model_loading' | 'rate_limited' | 'server_error' | 'network' | 'timeout' | 'malformed_response' | 'too_long';

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
}

/** Progress and summary hooks; every field optional so a backend can be used on its own. */
export interface ClassifierEvents {
  retry?(kind: RetryKind, waitMs: number): void;
  /** A short state shown on the progress line ("model loading"); undefined clears it. */
  status?(text: string | undefined): void;
  /** A one-time message worth telling the user ("endpoint rejects batches; sending one text per request"). */
  notice?(message: string): void;
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

export type FunctionToApply = 'sigmoid' | 'softmax' | 'none';

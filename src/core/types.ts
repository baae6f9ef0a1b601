/**
 * The small core every stage shares: what a text is, what a model answers, and why a row can fail. It
 * imports nothing of batchlabel's.
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

export type FunctionToApply = 'sigmoid' | 'softmax' | 'none';

/** Where a long download reports its progress (the CLI's stderr; nothing by default). */
export interface ProgressSink {
  /** Write raw text (no newline added). */
  write(text: string): void;
  /** Whether the sink is a terminal that understands \r and clear-to-end-of-line. */
  isTTY: boolean;
}

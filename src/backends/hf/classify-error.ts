/**
 * The error table: what an HTTP answer other than 2xx means and what to do about it. Pure: the caller
 * owns waiting, counting and sending. Every message that may reach the user goes through `redact`.
 */
import type { FailureKind, RetryKind } from '../classifier.js';
import { BackendFatalError } from '../../errors.js';
import type { HttpAnswer } from './pool.js';
import { preview } from './response.js';
import { parseRateLimitReset, serverWaitMs } from './rate.js';
import type { Target } from './request.js';

export type Verdict =
  /** Cold start: wait about `estimatedMs`, then ask again with x-wait-for-model. */
  | { type: 'loading'; estimatedMs: number; message: string }
  /**
   * Transient: back off (or wait what the server asked) and resend, within the retry limit. `pressure`
   * says what a 429 or 503 means for the other requests: `quota`, a spent quota (every request would get
   * the same answer until it resets); `overload`, a server shedding load (send a little less). Without
   * it, a hinted 429 concerns this request unless other requests get the same answer.
   */
  | { type: 'retry'; retry: RetryKind; failure: FailureKind; message: string; serverWaitMs?: number; pressure?: 'quota' | 'overload'; status?: number }
  /** This input is bad: never resend it unchanged. `keepRatio` is set when it is merely too long. */
  | { type: 'bad_input'; message: string; keepRatio?: number }
  | { type: 'fatal'; error: BackendFatalError };

export interface ErrorContext {
  target: Target;
  tokenEnv: string;
  /** Where the token sent came from ("HF_TOKEN", "the token file …"); undefined when none was sent. */
  tokenSource: string | undefined;
  redact(text: string): string;
}

/** Used when a 503 says "loading" without a usable estimate. */
const DEFAULT_LOADING_MS = 20_000;
const OLD_INFERENCE_HOST = 'api-inference.huggingface.co';

export function judgeStatus(answer: HttpAnswer, ctx: ErrorContext): Verdict {
  const { status } = answer;
  const body = parseErrorBody(answer.text, ctx.redact);
  const message = ctx.redact(`HTTP ${status}: ${body.message}`);
  const hint = serverWaitMs(answer.headers);
  const transient = (retry: RetryKind, failure: FailureKind, pressure?: 'quota' | 'overload'): Verdict => ({
    type: 'retry',
    retry,
    failure,
    message,
    status,
    ...(hint !== undefined ? { serverWaitMs: hint } : {}),
    ...(pressure !== undefined ? { pressure } : {}),
  });

  if (status === 503 && (body.estimatedTime !== undefined || /currently loading/i.test(body.message))) {
    const estimatedMs = body.estimatedTime !== undefined ? body.estimatedTime * 1000 : DEFAULT_LOADING_MS;
    return { type: 'loading', estimatedMs, message };
  }
  if (status === 429) return transient('rate_limited', 'rate_limited', rateLimitPressure(answer, body, hint));
  if (status === 503 && hint === undefined) return transient('server_error', 'server_error', 'overload');
  if (status >= 500 || TRANSIENT_4XX.has(status)) return transient(status === 408 ? 'timeout' : 'server_error', status === 408 ? 'network' : 'server_error');
  if (ROW_4XX.has(status)) {
    const keepRatio = tooLongRatio(status, body.message);
    return { type: 'bad_input', message, ...(keepRatio !== undefined ? { keepRatio } : {}) };
  }
  return { type: 'fatal', error: fatalError(answer, body.message, ctx) };
}

/**
 * 4xx answers about this request's content: the same text would get the same answer, others would not.
 * 451: the text itself is refused (a content filter), not the endpoint.
 */
const ROW_4XX = new Set([400, 413, 422, 451]);
/**
 * 4xx answers about a passing state of the server, worth a retry: 408 Request Timeout, 409 Conflict (an
 * endpoint being updated or resumed), 423 Locked, 424 Failed Dependency (TEI/TGI's backend error), 425 Too
 * Early. Every other 4xx (401, 402, 403, 404, 405 wrong method or URL, 406/415 the endpoint does not speak
 * JSON, 407 proxy auth, 410, 411, 414, 421, 426, 428, 431, …) says the run is misconfigured: the same for
 * every row, so the run stops with the server's message.
 */
const TRANSIENT_4XX = new Set([408, 409, 423, 424, 425]);

/**
 * What a 429 says about the other requests. TEI says it is overloaded in words (`error_type:
 * "overloaded"`), whatever the headers; a RateLimit header with r=0 or a RateLimit-Policy is a quota; a
 * 429 with no hint at all is read as overload (a short delay, a little less concurrency). A 429 with only
 * Retry-After is left undecided: it is a quota if the other requests get it too (see send.ts).
 */
function rateLimitPressure(answer: HttpAnswer, body: ErrorBody, hint: number | undefined): 'quota' | 'overload' | undefined {
  if (body.errorType === 'overloaded' || /\boverloaded\b/i.test(body.message)) return 'overload';
  if (parseRateLimitReset(answer.headers) !== undefined || answer.headers['ratelimit-policy'] !== undefined) return 'quota';
  return hint === undefined ? 'overload' : undefined;
}

function fatalError(answer: HttpAnswer, serverMessage: string, ctx: ErrorContext): BackendFatalError {
  const { status } = answer;
  const said = ctx.redact(serverMessage);
  const where = ctx.target.url;
  if (status === 401 || status === 403) {
    // Only the default variable falls back to the login file (see readToken).
    const login = ctx.tokenEnv === 'HF_TOKEN';
    const problem = ctx.tokenSource
      ? `the token in ${ctx.tokenSource} is invalid or lacks the "Make calls to Inference Providers" permission`
      : `no token: ${ctx.tokenEnv} is not set${login ? ' and there is no login token file' : ''}`;
    return new BackendFatalError(
      `Hugging Face refused the request (HTTP ${status}: ${said}): ${problem}; create a token at ` +
        `https://huggingface.co/settings/tokens and export it as ${ctx.tokenEnv}${login ? ' (or run `hf auth login`)' : ''}, then resume`,
      'E_AUTH',
    );
  }
  if (status === 402) {
    return new BackendFatalError(
      `Hugging Face says the Inference credits are exhausted (HTTP 402: ${said}); add credits at ` +
        'https://huggingface.co/settings/billing or wait for the monthly reset, then resume',
      'E_CREDITS',
    );
  }
  if (status === 404) {
    return new BackendFatalError(
      `no model served at ${where} (HTTP 404: ${said}); check --model, or pass --endpoint for a deployed endpoint`,
      'E_MODEL_NOT_FOUND',
    );
  }
  if (status === 410) {
    const advice =
      new URL(where).hostname === OLD_INFERENCE_HOST
        ? 'the old api-inference.huggingface.co API is retired: set HF_INFERENCE_ENDPOINT=https://router.huggingface.co/hf-inference or pass --endpoint'
        : 'check --endpoint';
    return new BackendFatalError(`endpoint ${where} is gone (HTTP 410: ${said}); ${advice}`, 'E_ENDPOINT_GONE');
  }
  if (status >= 300 && status < 400) {
    // A redirect may carry a login URL with the token, or a presigned URL.
    const location = answer.headers.location ? ctx.redact(String(answer.headers.location)) : undefined;
    return new BackendFatalError(
      `endpoint ${where} redirects (HTTP ${status}${location ? ` to ${location}` : ''}); pass the final URL with --endpoint`,
      'E_ENDPOINT',
    );
  }
  return new BackendFatalError(`endpoint ${where} answered HTTP ${status}: ${said}`, 'E_ENDPOINT');
}

export interface ErrorBody {
  message: string;
  estimatedTime?: number;
  /** TEI's `error_type` ("overloaded", "validation", …). */
  errorType?: string;
}

/**
 * `{"error": "…" | ["…", …], "estimated_time"?: s}`, or any other body as a one-line excerpt. The text is
 * redacted before it is cut to its excerpt: a secret straddling the cut would no longer be recognised.
 */
export function parseErrorBody(text: string, redact: (text: string) => string = (t) => t): ErrorBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { message: preview(redact(text)) };
  }
  if (body === null || typeof body !== 'object') return { message: preview(redact(text)) };
  const { error, estimated_time: estimated, error_type: errorType } = body as { error?: unknown; estimated_time?: unknown; error_type?: unknown };
  let message: string;
  if (typeof error === 'string') message = preview(redact(error), 300);
  else if (Array.isArray(error) && error.every((e) => typeof e === 'string')) message = preview(redact(error.join('; ')), 300);
  else message = preview(redact(text));
  return {
    message,
    ...(typeof estimated === 'number' && Number.isFinite(estimated) && estimated >= 0 ? { estimatedTime: estimated } : {}),
    ...(typeof errorType === 'string' ? { errorType } : {}),
  };
}

/**
 * If the message says the input is too long, the fraction of it to keep. Token limits are reported in
 * tokens, which we cannot count here, so the ratio the message implies is applied to characters with a
 * safety margin; with no numbers to go on, keep half.
 */
export function tooLongRatio(status: number, message: string): number | undefined {
  const pairs: Array<[RegExp, (m: RegExpExecArray) => [limit: number, given: number]]> = [
    // TGI/TEI: "`inputs` must have less than 512 tokens. Given: 1042"
    [/less than (\d+) tokens\D{0,40}?(\d+)/i, (m) => [Number(m[1]), Number(m[2])]],
    // transformers: "Token indices sequence length is longer than the specified maximum sequence length for this model (1042 > 512)"
    [/maximum sequence length[^(]*\((\d+) > (\d+)\)/i, (m) => [Number(m[2]), Number(m[1])]],
    // torch: "The size of tensor a (1042) must match the size of tensor b (512) at non-singleton dimension 1"
    [/size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\)/i, (m) => [Number(m[2]), Number(m[1])]],
  ];
  for (const [re, numbers] of pairs) {
    const m = re.exec(message);
    if (!m) continue;
    const [limit, given] = numbers(m);
    if (given > 0 && limit > 0 && limit < given) return Math.max(0.05, (limit / given) * 0.9);
    return 0.5;
  }
  if (/too long|too many tokens|exceeds? the maximum|maximum (sequence |context )?length|max_length/i.test(message)) return 0.5;
  return status === 413 ? 0.5 : undefined;
}

/** Cut a text to `ratio` of its characters, on a code-point boundary. */
export function truncateText(text: string, ratio: number): string {
  const chars = Array.from(text);
  return chars.slice(0, Math.max(1, Math.floor(chars.length * ratio))).join('');
}

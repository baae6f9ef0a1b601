/**
 * Where a request goes and what it carries. Pure functions: everything here is decided once from the
 * settings (and the environment, for the token and the default host), so it can be tested without a server.
 */
import type { JobSettings } from '../../job/settings.js';
import { BackendFatalError } from '../../errors.js';
import { readHfToken } from '../../hub/env.js';
import { redactUrl } from '../../core/redact-url.js';
import { isPair, textOf, type Input, type Text } from '../classifier.js';
import type { Shaping } from './response.js';
import { isZeroShot } from '../../tasks/index.js';
import { hfParameters as textClassificationParameters } from '../../tasks/text-classification.js';
import { hfParameters as zeroShotParameters, zeroShotSpec } from '../../tasks/zero-shot-classification.js';

export const DEFAULT_INFERENCE_ENDPOINT = 'https://router.huggingface.co/hf-inference';

export interface Target {
  /** scheme://host[:port], the key of the connection pool. */
  origin: string;
  /** Path and query, as sent on the request line. */
  path: string;
  /** The URL without query or credentials, for messages. */
  url: string;
  type: 'hf' | 'tei';
  /**
   * `Basic …` from the URL's `user:password@`, sent instead of the token: credentials written into the
   * endpoint URL are that server's own, and the Hugging Face token should not go to a server that asked
   * for other ones.
   */
  basicAuth?: string;
  /** The decoded user and password, for the redactor. */
  urlSecrets: string[];
}

export function resolveTarget(settings: JobSettings, env: NodeJS.ProcessEnv): Target {
  const type = settings.hf.endpointType;
  let raw: string;
  if (settings.hf.endpoint) {
    raw = settings.hf.endpoint;
  } else if (type === 'tei') {
    throw new BackendFatalError(
      '--endpoint-type tei needs --endpoint (the text-embeddings-inference server URL)',
      'E_ENDPOINT',
    );
  } else if (settings.model) {
    const base = (env.HF_INFERENCE_ENDPOINT || DEFAULT_INFERENCE_ENDPOINT).replace(/\/+$/, '');
    // Hub ids contain one '/', which must stay a path separator; anything else is escaped.
    raw = `${base}/models/${settings.model.split('/').map(encodeURIComponent).join('/')}`;
  } else {
    throw new BackendFatalError('no model to call: pass --model <hub id> or --endpoint <url>', 'E_ENDPOINT');
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BackendFatalError(`not a valid endpoint URL: ${redactUrl(raw)}`, 'E_ENDPOINT');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BackendFatalError(`endpoint must be an http(s) URL: ${redactUrl(raw)}`, 'E_ENDPOINT');
  }
  // TEI serves classification on /predict; accept either its base URL or the full route.
  if (type === 'tei' && !url.pathname.replace(/\/+$/, '').endsWith('/predict')) {
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/predict`;
  }
  const user = percentDecoded(url.username);
  const password = percentDecoded(url.password);
  const basicAuth = user || password ? `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` : undefined;
  // Messages show origin and path only: a query string or userinfo may carry credentials.
  return {
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    url: `${url.origin}${url.pathname}`,
    type,
    ...(basicAuth ? { basicAuth } : {}),
    urlSecrets: [user, password, basicAuth?.slice('Basic '.length) ?? ''].filter((x) => x.length >= 4),
  };
}

function percentDecoded(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The token and where it came from: the environment variable the job names; for the default HF_TOKEN,
 * also the file `huggingface-cli login` writes, as every Hugging Face client does. A variable named with
 * --token-env means that variable only.
 */
export function readToken(settings: JobSettings, env: NodeJS.ProcessEnv): { token: string; source: string } | undefined {
  const name = settings.hf.tokenEnv;
  if (name === 'HF_TOKEN') return readHfToken(env);
  const token = env[name]?.trim();
  return token ? { token, source: name } : undefined;
}

/** What every request of a run carries; a retry after a cold start also asks the server to wait for the model. */
export interface RequestHeaders {
  plain: Readonly<Record<string, string>>;
  waitForModel: Readonly<Record<string, string>>;
}

/**
 * Built once per run: the headers never change between requests, so neither does this object.
 * `basicAuth` (from the endpoint URL) replaces the bearer token.
 */
export function buildHeaders(settings: JobSettings, token: string | undefined, basicAuth?: string): RequestHeaders {
  const plain: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (basicAuth) plain.authorization = basicAuth;
  else if (token) plain.authorization = `Bearer ${token}`;
  if (!settings.hf.useCache) plain['x-use-cache'] = 'false';
  return { plain: Object.freeze(plain), waitForModel: Object.freeze({ ...plain, 'x-wait-for-model': 'true' }) };
}

/**
 * TEI has no function_to_apply or top_k: ask it for logits whenever the user chose a function, apply that
 * function locally (see response.ts), and cut to top_k locally. It truncates over-long inputs itself.
 */
function teiRawScores(settings: JobSettings): boolean {
  return settings.functionToApply !== undefined;
}

/** How to read the scores that come back for what buildBody asked. */
export function shapingFor(settings: JobSettings): Shaping {
  if (isZeroShot(settings)) return { probabilities: true, candidateLabels: zeroShotSpec(settings).candidateLabels };
  const fn = settings.functionToApply;
  const logits = settings.hf.endpointType === 'tei' && teiRawScores(settings);
  return {
    ...(logits && fn !== 'none' ? { applyLocally: fn } : {}),
    probabilities: fn !== 'none',
    ...(settings.topK !== undefined ? { topK: settings.topK } : {}),
  };
}

/**
 * Texts per request the task allows: the zero-shot API takes one text per request (its answer has no
 * room for several).
 */
export function maxTextsPerRequest(settings: JobSettings): number {
  return isZeroShot(settings) || settings.textPairColumn !== undefined ? 1 : Infinity;
}

/**
 * One text goes as a string; several as a list (a list of one-element lists for TEI). Everything but the
 * texts is the same for every request of a run, so it is serialised once. The body is built as bytes, each
 * text put once into its place: a text given as bytes that need no escaping but quotes is copied (~1.5 µs a
 * review at 64 texts a request), any other goes from its string (~3.5 µs: test, escape, encode).
 */
export function bodyBuilder(settings: JobSettings): (texts: readonly Input[]) => Buffer {
  const tei = settings.hf.endpointType === 'tei';
  const rest: Record<string, unknown> = {};
  if (tei) {
    rest.truncate = true;
    rest.raw_scores = teiRawScores(settings);
  } else {
    const parameters = isZeroShot(settings) ? zeroShotParameters(zeroShotSpec(settings)) : textClassificationParameters(settings);
    if (parameters) rest.parameters = parameters;
  }
  const restJson = JSON.stringify(rest);
  const tail = restJson === '{}' ? '}' : `,${restJson.slice(1)}`;
  const [open, close] = tei ? ['[', ']'] : ['', ''];
  return (inputs) => {
    // A pair goes alone (maxTextsPerRequest), as the task API's {"text", "text_pair"} object.
    if (inputs.length === 1 && isPair(inputs[0]!)) {
      const { text, pair } = inputs[0];
      return Buffer.from(`{"inputs":{"text":${jsonString(textOf(text))},"text_pair":${jsonString(pair)}}${tail}`);
    }
    const texts = inputs as readonly Text[];
    const many = texts.length !== 1;
    const bytes = texts.map((t) => (typeof t !== 'string' && needsNoEscapeButQuotes(t) ? t : undefined));
    const parts = texts.map((t, i) => (bytes[i] ? '' : jsonString(textOf(t))));
    // A UTF-16 code unit is at most 3 bytes of UTF-8, a byte at most 2 once escaped; the JSON around the texts is ASCII.
    let size = 16 + tail.length;
    for (let i = 0; i < texts.length; i++) size += (bytes[i] ? bytes[i]!.length * 2 : parts[i]!.length * 3) + 5;
    const body = Buffer.allocUnsafe(size);
    const put = (i: number) => {
      const b = bytes[i];
      if (b) at = putQuoted(b, body, at);
      else at += body.write(parts[i]!, at);
    };
    let at = body.write('{"inputs":', 0, 'latin1');
    if (!many) put(0);
    else {
      at += body.write('[', at, 'latin1');
      for (let i = 0; i < parts.length; i++) {
        at += body.write(`${i ? ',' : ''}${open}`, at, 'latin1');
        put(i);
        at += body.write(close, at, 'latin1');
      }
      at += body.write(']', at, 'latin1');
    }
    at += body.write(tail, at);
    return body.subarray(0, at);
  };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether the UTF-8 bytes of a text go into JSON as they are once double quotes are escaped: no backslash
 * and no control character. (Valid UTF-8 holds no unpaired surrogate, the other thing JSON.stringify escapes.)
 * Tested four bytes at a time: a byte below 0x20 is one whose subtraction of 0x20 borrows into its top bit.
 */
export function needsNoEscapeButQuotes(b: Buffer): boolean {
  if (b.indexOf(BACKSLASH) >= 0) return false;
  const n = b.length;
  let i = Math.min(n, (4 - (b.byteOffset & 3)) & 3);
  for (let k = 0; k < i; k++) if (b[k]! < 0x20) return false;
  const words = (n - i) >>> 2;
  if (words > 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset + i, words);
    for (let k = 0; k < words; k++) {
      const x = w[k]!;
      if (((x - 0x20202020) & ~x & 0x80808080) !== 0) return false;
    }
    i += words * 4;
  }
  for (; i < n; i++) if (b[i]! < 0x20) return false;
  return true;
}

/** `b` as a JSON string into `out` at `at`, its double quotes escaped; returns the end. */
function putQuoted(b: Buffer, out: Buffer, at: number): number {
  out[at++] = QUOTE;
  let from = 0;
  for (let q = b.indexOf(QUOTE); q >= 0; q = b.indexOf(QUOTE, q + 1)) {
    at += b.copy(out, at, from, q);
    out[at++] = BACKSLASH;
    from = q; // the quote goes with the next piece
  }
  at += b.copy(out, at, from);
  out[at++] = QUOTE;
  return at;
}

/** What JSON.stringify escapes besides '"': backslash, control characters, unpaired surrogates (any surrogate here). */
const RARELY_IN_TEXT = /[\u0000-\u001f\\\ud800-\udfff]/;

/**
 * Exactly JSON.stringify(text), about 4x faster on review-like text: Node 20's V8 escapes at ~3.5 ns a
 * character, ~5 µs for a typical review, while most texts need nothing escaped but double quotes.
 */
export function jsonString(text: string): string {
  return RARELY_IN_TEXT.test(text) ? JSON.stringify(text) : `"${text.replaceAll('"', '\\"')}"`;
}

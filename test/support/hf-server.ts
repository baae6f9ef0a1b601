/**
 * A loopback server that answers like Hugging Face's text-classification API (router: `[[{label, score}, ...]]`,
 * all labels sorted by score), deterministically from the text, so a test can check that every row got its own
 * answer. It is programmable to misbehave the way the real service does: a cold start (503 + estimated_time),
 * random faults per kind from a seeded generator (loading, 503, 502, 429, 500, 504, 424, dropped connections,
 * malformed 200s, slow answers), token checking, a max-tokens limit with the real messages, marker texts that
 * answer 400, endpoints that do not batch, TEI's /predict dialect, and scripted replies for exact sequences.
 * It can also play a server's capacity: a max-in-flight limit answering TEI's overloaded 429, a
 * fixed-window quota with the Hub's RateLimit headers, a fixed number of workers (latency grows with
 * load), and a body trickled byte by byte. Binds 127.0.0.1 only.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { allowListeners } from '../../src/core/abort.js';
import type { ClassifierContext, QueueControl, RetryKind } from '../../src/backends/classifier.js';
import type { JobSettings } from '../../src/job/settings.js';
import { resolveSettings } from '../../src/job/resolve.js';
import { seededRandom } from './random.js';

export interface Label {
  label: string;
  score: number;
}

export interface LoggedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  /** HTTP status answered; 0 when the connection was dropped. */
  status: number;
  /** What the server chose to do: 'ok', a fault kind, 'script', 'cold', 'too_long', 'marker', 'auth'... */
  action: string;
  /** The texts the request carried (inputs normalised to a list). */
  texts: string[];
  /** performance.now() when the request had arrived whole, and when its answer was sent (NaN until then). */
  at: number;
  answeredAt: number;
}

/** Fault kinds, each with its real status and body. */
export type FaultKind =
  | 'loading' // 503 {"error": "Model … is currently loading", "estimated_time": s}
  | 'unavailable' // 503 with a plain-text body (an Inference Endpoint scaling from zero)
  | 'badGateway' // 502 HTML from the gateway
  | 'rateLimited' // 429 with Retry-After / RateLimit as configured
  | 'serverError' // 500 {"error": …}
  | 'gatewayTimeout' // 504
  | 'failedDependency' // 424 (TEI/TGI backend error)
  | 'reset' // the socket is destroyed without an answer
  | 'malformed' // 200 with a body that is not a classification answer
  | 'slow'; // a correct answer after `slowMs`

export interface ScriptedReply {
  status: number;
  /** JSON body (default for any status). */
  json?: unknown;
  /** Raw body instead of JSON (sent as text/html when it starts with '<'). */
  text?: string;
  headers?: Record<string, string>;
  /** Destroy the socket instead of answering. */
  drop?: boolean;
  delayMs?: number;
  /** Send the body one byte every this many ms (headers at once). */
  trickleMs?: number;
}

export interface RequestInfo {
  /** 0-based arrival index. */
  index: number;
  texts: string[];
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

export interface HfServerOptions {
  /** Label set; default NEGATIVE/POSITIVE. */
  labels?: string[];
  /** Accept only this bearer token (401 otherwise); default: any token or none. */
  token?: string;
  /** With `token`: the token is valid but lacks the Inference permission (403). */
  tokenLacksInference?: boolean;
  /** Answer shape: 'router' wraps the list in one more list (the live service); 'flat' does not. */
  shape?: 'router' | 'flat';
  /** Delay every answer by this many ms. */
  delayMs?: number;
  /** Speak text-embeddings-inference's /predict dialect instead. */
  dialect?: 'hf' | 'tei';
  /** How list inputs are answered: one list per text (default), 400 "must be a string", or one top-1 dict per text. */
  lists?: 'lists' | 'reject' | 'flat';
  /** Batches larger than this answer 413 (TEI's max-client-batch-size). */
  maxBatch?: number;
  /** Texts longer than this many characters (1 char = 1 token here) are rejected with the real too-long message. */
  maxChars?: number;
  /** Which real message: TGI/TEI validation (422 by default) or the torch tensor-size one (400). */
  tooLongStyle?: 'validation' | 'torch';
  tooLongStatus?: 400 | 413 | 422;
  /** A request containing a text that includes this marker answers 400. */
  badMarker?: string;
  /** Cold start: the first `requests` requests, or the first `ms` after the first request, answer 503 loading. */
  coldStart?: { requests?: number; ms?: number; estimatedTime?: number };
  /** Probability per request of each fault, drawn from a generator seeded with `seed`. */
  faults?: Partial<Record<FaultKind, number>>;
  seed?: number;
  /** `estimated_time` (s) of random loading faults; default 0.01. */
  estimatedTime?: number;
  slowMs?: number;
  /** Retry-After header value sent with 429 and 503-unavailable faults. */
  retryAfter?: string;
  /** With `retryAfter`: the share of random 429s that carry it (drawn per 429); the others carry no hint. */
  retryAfterShare?: number;
  /** More requests than this in flight are refused at once with TEI's `429 {"error":"Model is overloaded","error_type":"overloaded"}`. */
  maxInFlight?: number;
  /**
   * A fixed-window quota like the Hub's: `limit` requests per `windowMs` from the first request. Every
   * answer carries `RateLimit: "inference";r=<left>;t=<s to reset, rounded up>` and a RateLimit-Policy;
   * past the limit, 429 with Retry-After.
   */
  quota?: { limit: number; windowMs: number };
  /** Only this many requests are worked on at once, each for `delayMs`; the others wait their turn (latency grows with load). */
  workers?: number;
  /** RateLimit header value sent with 429 faults, e.g. '"api";r=0;t=1'. */
  rateLimit?: string;
  /** Replies for the first requests, in order; then the normal behaviour. */
  script?: ScriptedReply[];
  /** Headers sent with every successful answer, e.g. the serverless API's `x-compute-time`. */
  answerHeaders?: Record<string, string>;
  /** zero-shot-classification answers: today's sorted list of {label, score} (default), or the older {sequence, labels, scores}. */
  zeroShotShape?: ZeroShotShape;
  /** Full control: a reply for this request, or undefined for the normal behaviour. Runs after `script`. */
  respond?: (req: RequestInfo) => ScriptedReply | undefined;
}

export interface HfServer {
  /** Base URL, e.g. http://127.0.0.1:PORT (POST to `${url}/models/<id>`, or `${url}/predict` for TEI). */
  url: string;
  requests: LoggedRequest[];
  /** How many requests the server took each action for. */
  actions(): Record<string, number>;
  /** Requests in flight: the most at once, and the time-weighted mean since the first request. */
  load(): { peak: number; mean: number };
  close(): Promise<void>;
}

/** The scores the server gives `text`: a stable function of its sha256, sorted best first. */
export function expectedScores(text: string, labels: string[] = ['NEGATIVE', 'POSITIVE']): Label[] {
  const digest = createHash('sha256').update(text).digest();
  const raw = labels.map((_, i) => 1 + digest.readUInt16BE(i * 2));
  const sum = raw.reduce((a, b) => a + b, 0);
  return labels
    .map((label, i) => ({ label, score: raw[i]! / sum }))
    .sort((a, b) => b.score - a.score);
}


const FAULT_ORDER: FaultKind[] = [
  'loading',
  'unavailable',
  'badGateway',
  'rateLimited',
  'serverError',
  'gatewayTimeout',
  'failedDependency',
  'reset',
  'malformed',
  'slow',
];

export async function startHfServer(options: HfServerOptions = {}): Promise<HfServer> {
  const labels = options.labels ?? ['NEGATIVE', 'POSITIVE'];
  const tei = options.dialect === 'tei';
  const random = seededRandom(options.seed ?? 1);
  const script = [...(options.script ?? [])];
  const requests: LoggedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let firstRequestAt: number | undefined;
  let arrivals = 0;
  let inFlight = 0;
  let peak = 0;
  let loadArea = 0;
  let loadSince = 0;
  const changeLoad = (delta: number) => {
    const now = performance.now();
    if (inFlight > 0 || loadSince > 0) loadArea += inFlight * (now - loadSince);
    loadSince = now;
    inFlight += delta;
    peak = Math.max(peak, inFlight);
  };
  let loadStarted = 0;
  let busyWorkers = 0;
  const waitingForWorker: Array<() => void> = [];
  let quotaUsed = 0;
  let quotaWindow = -1;

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = arrivals++;
      firstRequestAt ??= Date.now();
      if (loadStarted === 0) loadStarted = performance.now();
      const othersInFlight = inFlight;
      const arrivedAt = performance.now();
      let logged: LoggedRequest | undefined;
      changeLoad(1);
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        changeLoad(-1);
        if (logged) logged.answeredAt = performance.now();
      };
      res.on('close', finish);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const rawInputs = (body as { inputs?: unknown } | undefined)?.inputs;
      const texts = normaliseInputs(rawInputs, tei);
      const log = (status: number, action: string) => {
        logged = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, status, action, texts: texts ?? [], at: arrivedAt, answeredAt: Number.NaN };
        requests.push(logged);
      };

      const send = (reply: ScriptedReply, action: string, at = { immediate: false }) => {
        log(reply.drop ? 0 : reply.status, action);
        let worker = false;
        const go = () => {
          if (worker) releaseWorker();
          if (reply.drop) {
            finish();
            req.socket.destroy();
            return;
          }
          const isText = reply.text !== undefined;
          const payload = isText ? reply.text! : JSON.stringify(reply.json ?? null);
          const type = isText ? (payload.startsWith('<') ? 'text/html' : 'text/plain') : 'application/json';
          res.writeHead(reply.status, { 'content-type': type, ...quotaHeaders(), ...reply.headers });
          if (reply.trickleMs === undefined) return res.end(payload);
          const bytes = Buffer.from(payload);
          let i = 0;
          const drip = () => {
            if (res.destroyed) return;
            if (i >= bytes.length) return res.end();
            res.write(bytes.subarray(i, ++i));
            later(reply.trickleMs!, drip);
          };
          drip();
        };
        const delay = at.immediate ? 0 : (reply.delayMs ?? 0) + (options.delayMs ?? 0);
        const start = () => (delay > 0 ? later(delay, go) : go());
        if (options.workers !== undefined && !at.immediate) {
          worker = true;
          if (busyWorkers < options.workers) {
            busyWorkers++;
            start();
          } else waitingForWorker.push(start);
        } else start();
      };
      const releaseWorker = () => {
        const next = waitingForWorker.shift();
        if (next) next();
        else busyWorkers--;
      };
      const model = decodeURIComponent((req.url ?? '').replace(/^\/models\//, '').split('?')[0] ?? '');
      const error = (status: number, message: string | string[], extra: Record<string, unknown> = {}): ScriptedReply => ({
        status,
        json: tei ? { error: message, error_type: extra.error_type ?? 'Validation' } : { error: message, ...extra },
      });

      if (script.length > 0) return send(script.shift()!, 'script');
      if (options.maxInFlight !== undefined && othersInFlight >= options.maxInFlight) {
        return send({ status: 429, json: { error: 'Model is overloaded', error_type: 'overloaded' } }, 'overloaded', { immediate: true });
      }
      if (options.quota) {
        const q = options.quota;
        const windowIndex = Math.floor((Date.now() - firstRequestAt) / q.windowMs);
        if (windowIndex !== quotaWindow) {
          quotaWindow = windowIndex;
          quotaUsed = 0;
        }
        if (quotaUsed >= q.limit) {
          const wait = String(Math.ceil(quotaResetMs() / 1000));
          return send({ status: 429, json: { error: 'You have exceeded your rate limit' }, headers: { 'retry-after': wait } }, 'quota', { immediate: true });
        }
        quotaUsed++;
      }
      if (options.respond && texts) {
        const custom = options.respond({ index, texts, headers: req.headers, body });
        if (custom) return send(custom, 'respond');
      }

      if (options.token !== undefined) {
        const auth = req.headers.authorization;
        if (auth === undefined) return send(error(401, 'Invalid username or password.'), 'auth');
        if (auth !== `Bearer ${options.token}`) return send(error(401, 'Invalid credentials in Authorization header'), 'auth');
        if (options.tokenLacksInference) {
          return send(
            error(403, 'This authentication method does not have sufficient permissions to call Inference Providers on behalf of user tester'),
            'auth',
          );
        }
      }
      if (req.method !== 'POST') return send(error(405, 'Method Not Allowed'), 'method');
      if (tei ? !(req.url ?? '').startsWith('/predict') : !(req.url ?? '').startsWith('/models/')) {
        return send(error(404, `Model ${model} does not exist`), 'not_found');
      }
      if (!texts) {
        return send(error(tei ? 422 : 400, tei ? 'Failed to deserialize the JSON body' : 'Input should be a valid string'), 'bad_body');
      }
      const waitForModel = req.headers['x-wait-for-model'] === 'true';

      // Cold start: loading until N requests were seen or N ms passed; a wait-for-model request is held instead.
      const cold = options.coldStart;
      if (cold) {
        const msLeft = cold.ms !== undefined ? firstRequestAt + cold.ms - Date.now() : 0;
        const coldByCount = cold.requests !== undefined && index < cold.requests;
        if (msLeft > 0 && waitForModel) {
          return later(msLeft, () => answer('held'));
        }
        if (coldByCount || msLeft > 0) {
          const estimated = cold.estimatedTime ?? Math.max(0.01, msLeft / 1000);
          return send(loading(model, estimated), 'cold');
        }
      }

      const faults = options.faults;
      if (faults) {
        const u = random();
        let acc = 0;
        for (const kind of FAULT_ORDER) {
          acc += faults[kind] ?? 0;
          if (u >= acc) continue;
          if (kind === 'loading' && waitForModel) break; // the real service holds such a request instead
          if (kind === 'slow') return later(options.slowMs ?? 200, () => answer('slow'));
          const hinted = kind !== 'rateLimited' || options.retryAfterShare === undefined || random() < options.retryAfterShare;
          return send(faultReply(kind, model, hinted ? options : { ...options, retryAfter: undefined }), kind);
        }
      }
      return answer('ok');

      function answer(action: string) {
        if (!texts) return;
        if (options.badMarker !== undefined && texts.some((t) => t.includes(options.badMarker!))) {
          return send(error(400, ['Input contains a forbidden marker', 'check your inputs']), 'marker');
        }
        const list = Array.isArray(rawInputs);
        if (list && options.maxBatch !== undefined && texts.length > options.maxBatch) {
          return send(error(413, `batch size ${texts.length} > maximum allowed batch size ${options.maxBatch}`), 'batch_too_large');
        }
        const truncate = tei && (body as { truncate?: unknown }).truncate === true;
        const max = options.maxChars;
        const long = max !== undefined ? texts.find((t) => t.length > max) : undefined;
        if (long !== undefined && !truncate) {
          const torch = options.tooLongStyle === 'torch';
          const message = torch
            ? `The size of tensor a (${long.length}) must match the size of tensor b (${max}) at non-singleton dimension 1`
            : `Input validation error: \`inputs\` must have less than ${max} tokens. Given: ${long.length}`;
          return send(error(options.tooLongStatus ?? (torch ? 400 : 422), message), 'too_long');
        }
        const zeroShot = zeroShotReply(body, texts, options.zeroShotShape ?? 'list');
        if (zeroShot) return send(zeroShot, action);
        const scored = (t: string) => {
          const scores = expectedScores(max !== undefined ? t.slice(0, max) : t, labels);
          // TEI's raw_scores: logits whose softmax is the expected probabilities.
          return tei && (body as { raw_scores?: unknown }).raw_scores === true
            ? scores.map((s) => ({ label: s.label, score: Math.log(s.score) }))
            : scores;
        };
        if (!list) {
          const scores = scored(texts[0]!);
          return send({ status: 200, json: tei || options.shape === 'flat' ? scores : [scores], headers: options.answerHeaders }, action);
        }
        if (!tei && options.lists === 'reject') return send(error(400, 'Input should be a valid string'), 'list_rejected');
        if (!tei && options.lists === 'flat') return send({ status: 200, json: texts.map((t) => scored(t)[0]) }, action);
        return send({ status: 200, json: texts.map(scored), headers: options.answerHeaders }, action);
      }
    });
  });
  function quotaResetMs(): number {
    const q = options.quota!;
    return q.windowMs - ((Date.now() - firstRequestAt!) % q.windowMs);
  }
  function quotaHeaders(): Record<string, string> {
    const q = options.quota;
    if (!q) return {};
    const t = Math.ceil(quotaResetMs() / 1000);
    return {
      ratelimit: `"inference";r=${Math.max(0, q.limit - quotaUsed)};t=${t}`,
      'ratelimit-policy': `"fixed window";"inference";q=${q.limit};w=${Math.ceil(q.windowMs / 1000)}`,
    };
  }

  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    actions() {
      const out: Record<string, number> = {};
      for (const r of requests) out[r.action] = (out[r.action] ?? 0) + 1;
      return out;
    },
    load() {
      changeLoad(0);
      const span = performance.now() - loadStarted;
      return { peak, mean: loadStarted && span > 0 ? loadArea / span : 0 };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** inputs as a list of texts: "a", ["a", "b"], or TEI's [["a"], ["b"]]; undefined when not understood. */
function normaliseInputs(inputs: unknown, tei: boolean): string[] | undefined {
  if (typeof inputs === 'string') return [inputs];
  const pair = pairText(inputs);
  if (pair !== undefined) return [pair];
  if (!Array.isArray(inputs) || inputs.length === 0) return undefined;
  if (inputs.every((t) => typeof t === 'string')) return inputs as string[];
  if (tei && inputs.every((t) => Array.isArray(t) && t.length === 1 && typeof t[0] === 'string')) {
    return (inputs as string[][]).map((t) => t[0]!);
  }
  return undefined;
}

function loading(model: string, estimatedTime: number): ScriptedReply {
  return { status: 503, json: { error: `Model ${model} is currently loading`, estimated_time: estimatedTime } };
}

function faultReply(kind: Exclude<FaultKind, 'slow'>, model: string, options: HfServerOptions): ScriptedReply {
  const retryAfter: Record<string, string> = options.retryAfter !== undefined ? { 'retry-after': options.retryAfter } : {};
  switch (kind) {
    case 'loading':
      return loading(model, options.estimatedTime ?? 0.01);
    case 'unavailable':
      return { status: 503, text: 'Service Unavailable', headers: retryAfter };
    case 'badGateway':
      return { status: 502, text: '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>' };
    case 'rateLimited':
      return {
        status: 429,
        json: { error: 'Rate limit reached. You reached free usage limit (reset hourly). Please subscribe to a plan at https://huggingface.co/pricing to use the API at this rate' },
        headers: { ...retryAfter, ...(options.rateLimit !== undefined ? { ratelimit: options.rateLimit } : {}) },
      };
    case 'serverError':
      return { status: 500, json: { error: 'CUDA error: an illegal memory access was encountered' } };
    case 'gatewayTimeout':
      return { status: 504, text: '<html><body><h1>504 Gateway Time-out</h1></body></html>' };
    case 'failedDependency':
      return { status: 424, json: { error: 'Request failed during generation: Server error: backend failed', error_type: 'Backend' } };
    case 'reset':
      return { status: 0, drop: true };
    case 'malformed':
      return { status: 200, json: { label: 'POSITIVE' } };
  }
}

// ---- Helpers for driving the HF backend in tests ----

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };

/**
 * Settings for an HF run against `server`: the CLI's defaults, with waits small enough for tests. The
 * breaker is off unless a test turns it on: these tests drive one request through its retries, where the
 * one text failing is all the backend there is.
 */
export function hfTestSettings(server: { url: string } | undefined, overrides: DeepPartial<JobSettings> = {}): JobSettings {
  const { hf, onnx, columns, ...rest } = overrides;
  const base = resolveSettings({ input: '/dev/null', format: 'csv', model: 'org/model', concurrency: 4 });
  return {
    ...base,
    ...rest,
    hf: {
      ...base.hf,
      ...(server ? { endpoint: `${server.url}/models/org/model` } : {}),
      timeoutMs: 2_000,
      loadingBudgetMs: 5_000,
      backoffCapMs: 20,
      breakerFailures: 0,
      breakerWindowMs: 0,
      ...hf,
    },
    onnx: { ...base.onnx, ...onnx },
    columns: { ...base.columns, ...columns },
  } as JobSettings;
}

export interface RecordedContext extends ClassifierContext {
  controller: AbortController;
  retries: Array<{ kind: RetryKind; waitMs: number }>;
  statuses: Array<string | undefined>;
  notices: string[];
  pauses: number[];
  concurrencyChanges: number[];
  queue: QueueControl & { concurrency: number };
}

/** A context that records every event and queue call; the queue itself is not real (see the soak test for one that is). */
export function recordingContext(maxConcurrency = 4): RecordedContext {
  const controller = new AbortController();
  allowListeners(controller.signal, maxConcurrency); // as the runner does
  const retries: RecordedContext['retries'] = [];
  const statuses: RecordedContext['statuses'] = [];
  const notices: string[] = [];
  const pauses: number[] = [];
  const concurrencyChanges: number[] = [];
  const queue = {
    concurrency: maxConcurrency,
    maxConcurrency,
    setConcurrency(n: number) {
      queue.concurrency = Math.max(1, Math.min(maxConcurrency, n));
      concurrencyChanges.push(queue.concurrency);
    },
    pauseFor(ms: number) {
      pauses.push(ms);
    },
  };
  return {
    controller,
    signal: controller.signal,
    retries,
    statuses,
    notices,
    pauses,
    concurrencyChanges,
    queue,
    events: {
      retry: (kind, waitMs) => retries.push({ kind, waitMs }),
      status: (text) => statuses.push(text),
      notice: (message) => notices.push(message),
    },
  };
}

/** The two answer shapes of the zero-shot task. */
export type ZeroShotShape = 'list' | 'legacy';

/**
 * The zero-shot scores the server gives `text` for `labels` under `template`, best first: single-label
 * scores sum to 1 over the labels; multi-label ones are each label's own, from the text and that label.
 */
export function expectedZeroShot(text: string, labels: readonly string[], template = 'This example is {}.', multiLabel = false): Label[] {
  if (!multiLabel) return expectedScores(`${template}\u0000${text}`, [...labels]);
  return labels
    .map((label) => {
      const digest = createHash('sha256').update(`${template}\u0000${label}\u0000${text}`).digest();
      return { label, score: (1 + digest.readUInt16BE(0)) / 65538 };
    })
    .sort((a, b) => b.score - a.score);
}

/**
 * A zero-shot request (parameters.candidate_labels) answered as the HF API does: one text per request,
 * the candidate labels scored in the shape asked for. Undefined for any other request.
 */
function zeroShotReply(body: unknown, texts: string[], shape: ZeroShotShape): ScriptedReply | undefined {
  const parameters = (body as { parameters?: Record<string, unknown> } | undefined)?.parameters;
  if (!parameters || !('candidate_labels' in parameters)) return undefined;
  const labels = parameters.candidate_labels;
  if (!Array.isArray(labels) || labels.length === 0 || !labels.every((l) => typeof l === 'string')) {
    return { status: 400, json: { error: 'candidate_labels must be a non-empty list of strings' } };
  }
  if (typeof (body as { inputs?: unknown }).inputs !== 'string') return { status: 400, json: { error: 'Input should be a valid string' } };
  const template = typeof parameters.hypothesis_template === 'string' ? parameters.hypothesis_template : undefined;
  const scores = expectedZeroShot(texts[0]!, labels as string[], template, parameters.multi_label === true);
  if (shape === 'legacy') return { status: 200, json: { sequence: texts[0], labels: scores.map((s) => s.label), scores: scores.map((s) => s.score) } };
  return { status: 200, json: scores };
}

/**
 * A text pair as the task API takes it, {"text": a, "text_pair": b}, as the one string the server scores
 * (see expectedPairScores); undefined for anything else.
 */
function pairText(inputs: unknown): string | undefined {
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) return undefined;
  const { text, text_pair: pair } = inputs as { text?: unknown; text_pair?: unknown };
  return typeof text === 'string' && typeof pair === 'string' ? pairKey(text, pair) : undefined;
}

const pairKey = (text: string, pair: string) => `${text}\u0000[pair]\u0000${pair}`;

/** The scores the server gives the pair (text, pair), best first. */
export function expectedPairScores(text: string, pair: string, labels: string[] = ['NEGATIVE', 'POSITIVE']): Label[] {
  return expectedScores(pairKey(text, pair), labels);
}

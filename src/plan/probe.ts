/**
 * The timed probe behind a plan's estimate: a few dozen real requests to the job's endpoint, or a few
 * windows through the local model, with texts sampled from the input so their lengths are the job's.
 * Both load their backend lazily, like `run`.
 */
import PQueue from 'p-queue';
import { BackendFatalError } from '../errors.js';
import type { JobSettings } from '../job/settings.js';
import { queueControl } from '../pipeline/queue-control.js';

/** The most requests a plan ever sends. */
export const MAX_PROBE_REQUESTS = 50;

export interface ProbeResult {
  backend: 'hf' | 'onnx';
  /** Requests sent (hf) or windows of texts run through the model (onnx). */
  calls: number;
  /** Calls that came back with results. */
  okCalls: number;
  /** Texts in the calls that came back with results. */
  texts: number;
  /** Calls that did not, by what went wrong ("HTTP 503", "network", "model loading"…). */
  failures: Record<string, number>;
  concurrency: number;
  wallMs: number;
  /** Per successful call. */
  latencyMs: { mean: number; median: number; p90: number } | null;
  textsPerSecond: number;
  /** Half-width of the 95% interval of the throughput, relative (0.1 = ±10%), from the calls' spread. */
  relativeError: number;
  /** onnx: loading the model and starting the tokenizer threads, paid once per run. */
  loadMs?: number;
  /** hf: what the server said each call cost it (x-compute-time, seconds), where it said so. */
  computeTime?: { calls: number; meanSeconds: number; type: string | null } | null;
  notes: string[];
}

function spread(values: number[]): { mean: number; median: number; p90: number; relSe: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1) : 0;
  return {
    mean,
    median: sorted[Math.floor((sorted.length - 1) / 2)]!,
    p90: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.9))]!,
    relSe: mean > 0 ? Math.sqrt(variance / values.length) / mean : 0,
  };
}

/** Runs `jobs` with `concurrency` of them at a time. */
async function inParallel<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

function chunks(texts: readonly string[], size: number, max: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < texts.length && out.length < max; i += size) out.push(texts.slice(i, i + size));
  return out;
}

/**
 * Texts per second after the first round of `concurrency` calls, which carries what a run pays once, not
 * per call (opening connections, warming up code). Counting it made the HF estimate 1.5-1.7x the real
 * run on the loopback server (25,000 rows, batches of 4, 20 ms answers).
 */
function steadyRate(finished: { at: number; texts: number }[], concurrency: number): number | undefined {
  if (finished.length < 2 * concurrency) return undefined;
  const after = finished.slice(concurrency);
  const ms = after.at(-1)!.at - finished[concurrency - 1]!.at;
  return ms > 0 ? (after.reduce((a, f) => a + f.texts, 0) * 1000) / ms : undefined;
}

/**
 * Sends up to `maxRequests` requests of the job's batch size, at the job's concurrency, each once (a
 * probe measures, it does not retry). A fatal answer (bad token, unknown model) is thrown as the run
 * would throw it: better learned now than at the start of the night.
 */
export async function probeHf(settings: JobSettings, sample: readonly string[], maxRequests: number, env: NodeJS.ProcessEnv = process.env): Promise<ProbeResult> {
  const { resolveTarget, readToken, buildHeaders, bodyBuilder, shapingFor } = await import('../backends/hf/request.js');
  const { createPool } = await import('../backends/hf/pool.js');
  const { judgeStatus } = await import('../backends/hf/classify-error.js');
  const { parseAnswer } = await import('../backends/hf/response.js');
  const { createRedactor } = await import('../backends/hf/redact.js');
  const target = resolveTarget(settings, env);
  const found = readToken(settings, env);
  const headers = buildHeaders(settings, found?.token).plain;
  const build = bodyBuilder(settings);
  const shaping = shapingFor(settings);
  const errors = { target, tokenEnv: settings.hf.tokenEnv, tokenSource: found?.source, redact: createRedactor(found?.token) };
  const batches = chunks(sample, Math.max(1, settings.batchSize), Math.min(maxRequests, MAX_PROBE_REQUESTS));
  const concurrency = Math.max(1, Math.min(settings.concurrency, batches.length));
  const abort = new AbortController();
  const pool = createPool(target.origin, concurrency, settings.hf.timeoutMs, abort.signal);
  const result: ProbeResult = { backend: 'hf', calls: 0, okCalls: 0, texts: 0, failures: {}, concurrency, wallMs: 0, latencyMs: null, textsPerSecond: 0, relativeError: 0, computeTime: null, notes: [] };
  const latencies: number[] = [];
  const finished: { at: number; texts: number }[] = [];
  const compute: number[] = [];
  let computeType: string | null = null;
  let fatal: BackendFatalError | undefined;
  const fail = (why: string) => (result.failures[why] = (result.failures[why] ?? 0) + 1);
  const started = performance.now();
  try {
    await inParallel(batches, concurrency, async (texts) => {
      if (fatal) return;
      result.calls++;
      const t0 = performance.now();
      let answer;
      try {
        answer = await pool.post({ path: target.path, headers, body: build(texts) });
      } catch {
        fail('network');
        return;
      }
      const ms = performance.now() - t0;
      if (answer.status >= 200 && answer.status < 300) {
        const parsed = parseAnswer(answer.text, texts.length, shaping);
        if (!parsed.ok) return void fail('malformed answer');
        result.okCalls++;
        result.texts += texts.length;
        latencies.push(ms);
        finished.push({ at: performance.now(), texts: texts.length });
        const header = answer.headers['x-compute-time'];
        const seconds = Number(Array.isArray(header) ? header[0] : header);
        if (header !== undefined && Number.isFinite(seconds)) compute.push(seconds);
        const type = answer.headers['x-compute-type'];
        if (typeof type === 'string') computeType = type;
        return;
      }
      const verdict = judgeStatus(answer, errors);
      if (verdict.type === 'fatal') {
        fatal ??= verdict.error;
        return;
      }
      if (verdict.type === 'loading') {
        fail('model loading');
        if (!result.notes.some((n) => n.startsWith('the model was loading'))) result.notes.push(`the model was loading (a cold start, the server estimated ${Math.round(verdict.estimatedMs / 1000)} s): the run waits for it first`);
        return;
      }
      fail(`HTTP ${answer.status}`);
    });
  } finally {
    result.wallMs = performance.now() - started;
    abort.abort();
    await pool.close();
  }
  if (fatal) throw fatal;
  if (latencies.length) {
    const s = spread(latencies);
    result.latencyMs = { mean: s.mean, median: s.median, p90: s.p90 };
    result.relativeError = 1.96 * s.relSe;
    result.textsPerSecond = steadyRate(finished, concurrency) ?? (result.texts * 1000) / result.wallMs;
  }
  if (compute.length) result.computeTime = { calls: compute.length, meanSeconds: compute.reduce((a, b) => a + b, 0) / compute.length, type: computeType };
  return result;
}

/**
 * Windows run through the local model: at least a few (past the first one's warm-up), then more until
 * the probe has run ~3 s. On this shared 2-core machine six windows (~1 s) gave estimates from 0.5x to
 * 1.5x of the real run on IMDB; a longer probe averages over more of the machine's noise.
 */
const PROBE_MIN_WINDOWS = 4;
const PROBE_MAX_WINDOWS = 24;
const PROBE_BUDGET_MS = 3000;

/** Loads the job's model as `run` does and times a few windows of sampled texts through it. */
export async function probeOnnx(settings: JobSettings, sample: readonly string[]): Promise<ProbeResult> {
  const { createOnnxClassifier } = await import('../backends/onnx/index.js');
  const abort = new AbortController();
  const queue = new PQueue({ concurrency: settings.concurrency });
  const notes: string[] = [];
  const t0 = performance.now();
  const classifier = await createOnnxClassifier(settings, { queue: queueControl(queue, settings.concurrency, abort.signal), events: { notice: (m) => notes.push(m) }, signal: abort.signal });
  const loadMs = performance.now() - t0;
  const concurrency = Math.max(1, Math.min(settings.concurrency, classifier.maxConcurrency ?? Infinity));
  const windows = chunks(sample, classifier.batchSize, PROBE_MAX_WINDOWS);
  const result: ProbeResult = { backend: 'onnx', calls: 0, okCalls: 0, texts: 0, failures: {}, concurrency, wallMs: 0, latencyMs: null, textsPerSecond: 0, relativeError: 0, loadMs, notes };
  const rates: number[] = [];
  const latencies: number[] = [];
  const finished: { at: number; texts: number }[] = [];
  const started = performance.now();
  try {
    await inParallel(windows, concurrency, async (texts) => {
      if (result.calls >= PROBE_MIN_WINDOWS && performance.now() - started > PROBE_BUDGET_MS) return;
      result.calls++;
      const w0 = performance.now();
      const outcomes = await classifier.classify(texts);
      const ms = performance.now() - w0;
      result.okCalls++;
      result.texts += texts.length;
      for (const o of outcomes) if (!o.ok) result.failures[o.kind] = (result.failures[o.kind] ?? 0) + 1;
      latencies.push(ms);
      finished.push({ at: performance.now(), texts: texts.length });
      // With `concurrency` windows in flight, each one's share of the throughput.
      rates.push((texts.length * concurrency * 1000) / ms);
    });
  } finally {
    result.wallMs = performance.now() - started;
    abort.abort();
    await classifier.close();
  }
  if (latencies.length) {
    const s = spread(latencies);
    result.latencyMs = { mean: s.mean, median: s.median, p90: s.p90 };
    // The first windows also warm up the tokenizer threads' code, which a run does once.
    result.textsPerSecond = steadyRate(finished, concurrency) ?? (result.texts * 1000) / result.wallMs;
    result.relativeError = 1.96 * spread(rates.slice(concurrency).length > 1 ? rates.slice(concurrency) : rates).relSe;
  }
  return result;
}

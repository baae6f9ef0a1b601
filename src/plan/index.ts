/**
 * `plan()`: what a job will take before it runs. Reads the whole input once (at reading speed), counts
 * what the run would classify, and times a short probe of the backend for a wall-time estimate. It
 * never writes a checkpoint or an output, never sends more than 50 requests, never prints or exits.
 */
import type { LabelOptions } from '../job/options.js';
import { jobValues, resolveSettings } from '../job/resolve.js';
import type { JobSettings } from '../job/settings.js';
import type { LengthSummary } from './histogram.js';
import { MAX_PROBE_REQUESTS, probeHf, probeOnnx, type ProbeResult } from './probe.js';
import { scanInput, type BadRowExample } from './scan.js';
import { localTokenizer, tokenStats, type TokenStats } from './tokens.js';

export type { ProbeResult } from './probe.js';
export type { TokenStats } from './tokens.js';
export type { LengthSummary } from './histogram.js';

export interface PlanOptions {
  /** Time a short probe of the backend (requests to the endpoint, or windows through the local model). @default true */
  probe?: boolean;
  /** Requests the HF probe sends; never more than 50. @default 50 */
  probeRequests?: number;
  /** Texts sampled (uniformly) for token counts and the probe. @default 2000 */
  sampleSize?: number;
  /** Where the HF token and endpoint variables are read. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface PlanEstimate {
  /** Wall time of the whole run, seconds; null without a probe (or when no probe call succeeded). */
  seconds: number | null;
  /** 95% interval from the spread of the probe's calls: it does not cover retries, rate limits or cold starts. */
  low: number | null;
  high: number | null;
  /** What the figure rests on, in words. */
  basis: string;
  probe: ProbeResult | null;
}

export interface PlanResult {
  input: string;
  backend: JobSettings['backend'];
  model: string | null;
  endpoint: string | null;
  batchSize: number;
  concurrency: number;
  /** Rows the run would read (up to --limit). */
  rows: number;
  emptyRows: number;
  badRows: number;
  badExamples: BadRowExample[];
  /** Distinct texts: what the run classifies. */
  uniqueTexts: number;
  uniqueExact: boolean;
  /** Rows whose text another row already has: answered from it, never sent. */
  duplicateRows: number;
  chars: LengthSummary | null;
  /** null when the model's tokenizer is not on this machine (the HF API). */
  tokens: TokenStats | null;
  /** Requests to the endpoint (hf) or model runs (onnx) the run will make at this batch size. */
  requests: number;
  requestsAre: 'requests' | 'model runs';
  bytes: number;
  readMs: number;
  estimate: PlanEstimate;
  /** hf: serverless inference is billed by compute time; what the probe learned of it. */
  billing: { note: string; computeSecondsPerRequest: number | null; computeSecondsTotal: number | null } | null;
}

/**
 * Model runs for the local backend: texts go into batches of at most --batch-size rows and TOKEN_BUDGET
 * padded tokens, so a text of L tokens shares its run with about min(batch, budget / L) - 1 others.
 */
async function modelRuns(uniqueTexts: number, batchSize: number, tokenLengths: number[] | undefined): Promise<number> {
  if (!tokenLengths?.length) return Math.ceil(uniqueTexts / batchSize);
  const { TOKEN_BUDGET } = await import('../backends/onnx/index.js');
  const perText = tokenLengths.reduce((a, l) => a + 1 / Math.max(1, Math.min(batchSize, Math.floor(TOKEN_BUDGET / Math.max(1, l)))), 0) / tokenLengths.length;
  return Math.max(uniqueTexts ? 1 : 0, Math.round(uniqueTexts * perText));
}

function estimateFrom(probe: ProbeResult | null, settings: JobSettings, toClassify: number, requests: number, readMs: number): PlanEstimate {
  if (!probe) return { seconds: null, low: null, high: null, basis: 'no probe (--no-probe)', probe: null };
  if (!probe.okCalls || probe.textsPerSecond <= 0) {
    return { seconds: null, low: null, high: null, basis: `no probe call succeeded (${Object.entries(probe.failures).map(([k, n]) => `${k}: ${n}`).join(', ')})`, probe };
  }
  let work = toClassify / probe.textsPerSecond;
  const fixed = (readMs + (probe.loadMs ?? 0)) / 1000;
  let basis =
    probe.backend === 'hf'
      ? `${probe.okCalls} timed requests of up to ${settings.batchSize} texts at concurrency ${probe.concurrency}`
      : `${probe.okCalls} windows of ${Math.round(probe.texts / probe.okCalls)} texts through the model, plus loading it`;
  const rpm = settings.backend === 'hf' ? settings.hf.maxRequestsPerMinute : undefined;
  if (rpm && (requests * 60) / rpm > work) {
    work = (requests * 60) / rpm;
    basis += `; held to --max-requests-per-minute ${rpm}`;
  }
  const err = probe.relativeError;
  return { seconds: fixed + work, low: fixed + work * Math.max(0, 1 - err), high: fixed + work * (1 + err), basis, probe };
}

/**
 * The plan of a job, as label() would run it (the same options, a job file under them): rows, unique
 * texts, lengths, requests, and a time estimate from a short probe. Writes nothing.
 */
export async function plan(options: LabelOptions & { job?: string }, opts: PlanOptions = {}): Promise<PlanResult> {
  return planSettings(resolveSettings(jobValues(options)), opts);
}

export async function planSettings(settings: JobSettings, opts: PlanOptions = {}): Promise<PlanResult> {
  const sampleSize = opts.sampleSize ?? 2000;
  // The tokenizer first: a model that is missing fails the plan before the read, as it would fail the run.
  const tokenizer = await localTokenizer(settings);
  const scan = await scanInput(settings, { sampleSize });
  const withText = scan.rows - scan.emptyRows - scan.badRows;
  const counted = tokenizer && scan.sample.length ? tokenStats(tokenizer, scan.sample, withText) : null;
  const requests = settings.backend === 'hf' ? Math.ceil(scan.uniqueTexts / Math.max(1, settings.batchSize)) : await modelRuns(scan.uniqueTexts, settings.batchSize, counted?.lengths);
  let probe: ProbeResult | null = null;
  if (opts.probe !== false && scan.sample.length) {
    probe =
      settings.backend === 'hf'
        ? await probeHf(settings, scan.sample, Math.min(opts.probeRequests ?? MAX_PROBE_REQUESTS, MAX_PROBE_REQUESTS), opts.env)
        : await probeOnnx(settings, scan.sample);
  }
  const estimate = estimateFrom(probe, settings, scan.uniqueTexts, requests, scan.readMs);
  const compute = probe?.computeTime;
  return {
    input: settings.input,
    backend: settings.backend,
    model: settings.model ?? null,
    endpoint: settings.backend === 'hf' && settings.hf.endpoint ? safeUrl(settings.hf.endpoint) : null,
    batchSize: settings.batchSize,
    concurrency: settings.concurrency,
    rows: scan.rows,
    emptyRows: scan.emptyRows,
    badRows: scan.badRows,
    badExamples: scan.badExamples,
    uniqueTexts: scan.uniqueTexts,
    uniqueExact: scan.uniqueExact,
    duplicateRows: Math.max(0, withText - scan.uniqueTexts),
    chars: scan.chars,
    tokens: counted?.stats ?? null,
    requests,
    requestsAre: settings.backend === 'hf' ? 'requests' : 'model runs',
    bytes: scan.bytes,
    readMs: scan.readMs,
    estimate,
    billing:
      settings.backend === 'hf'
        ? {
            note: compute
              ? `the server reported x-compute-time on ${compute.calls} of ${probe!.okCalls} probe requests${compute.type ? ` (${compute.type})` : ''}; serverless inference is billed by compute time`
              : probe
                ? 'the server sent no x-compute-time header, so the probe measured wall time only; serverless inference is billed by compute time, not wall time'
                : 'serverless inference is billed by compute time; run the plan with its probe to measure it',
            computeSecondsPerRequest: compute ? compute.meanSeconds : null,
            computeSecondsTotal: compute ? compute.meanSeconds * requests : null,
          }
        : null,
  };
}

/** Origin and path: a query string or user info may carry credentials. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(not a valid URL)';
  }
}

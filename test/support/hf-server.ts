/**
 * A loopback server that answers like Hugging Face's text-classification API
 * (router: `[[{label, score}, ...]]`, all labels sorted by score), deterministically from the text,
 * so a test can check that every row got its own answer.
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { ClassifierContext, QueueControl, RetryKind } from '../../src/backends/classifier.js';
import type { JobSettings } from '../../src/job/settings.js';
import { DEFAULT_COLUMNS } from '../../src/job/settings.js';

export interface Label {
  label: string;
  score: number;
}

export interface LoggedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  status: number;
}

export interface HfServerOptions {
  /** Label set; default NEGATIVE/POSITIVE. */
  labels?: string[];
  /** Accept only this bearer token (401 otherwise); default: any token or none. */
  token?: string;
  /** Answer shape: 'router' wraps the list in one more list (the live service); 'flat' does not. */
  shape?: 'router' | 'flat';
  /** Delay every answer by this many ms. */
  delayMs?: number;
}

export interface HfServer {
  /** Base URL, e.g. http://127.0.0.1:PORT (POST to `${url}/models/<id>`). */
  url: string;
  requests: LoggedRequest[];
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

export async function startHfServer(options: HfServerOptions = {}): Promise<HfServer> {
  const labels = options.labels ?? ['NEGATIVE', 'POSITIVE'];
  const requests: LoggedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const reply = (status: number, payload: unknown) => {
        requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, status });
        const send = () => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(payload));
        };
        if (options.delayMs) setTimeout(send, options.delayMs);
        else send();
      };
      if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
        return reply(401, { error: 'Invalid credentials in Authorization header' });
      }
      const inputs = (body as { inputs?: unknown } | undefined)?.inputs;
      if (typeof inputs === 'string') {
        const scores = expectedScores(inputs, labels);
        return reply(200, options.shape === 'flat' ? scores : [scores]);
      }
      if (Array.isArray(inputs) && inputs.every((t) => typeof t === 'string')) {
        return reply(200, inputs.map((t: string) => expectedScores(t, labels)));
      }
      return reply(400, { error: 'Input should be a valid string' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- Helpers for driving the HF backend in tests ----


type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };

/** Settings for an HF run against `server`, with waits small enough for tests. */
export function hfTestSettings(server: { url: string } | undefined, overrides: DeepPartial<JobSettings> = {}): JobSettings {
  const { hf, onnx, columns, ...rest } = overrides;
  return {
    input: '/dev/null',
    format: 'csv',
    delimiter: ',',
    relaxQuotes: false,
    textColumn: 'text',
    backend: 'hf',
    model: 'org/model',
    allScores: false,
    concurrency: 4,
    batchSize: 1,
    maxRetries: 6,
    checkpoint: '/dev/null',
    ...rest,
    hf: {
      ...(server ? { endpoint: `${server.url}/models/org/model` } : {}),
      endpointType: 'hf',
      tokenEnv: 'HF_TOKEN',
      waitForModel: false,
      useCache: true,
      timeoutMs: 2_000,
      loadingBudgetMs: 5_000,
      backoffCapMs: 20,
      ...hf,
    },
    onnx: { device: 'cpu', revision: 'main', ...onnx },
    columns: { ...DEFAULT_COLUMNS, ...columns },
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

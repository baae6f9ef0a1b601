/**
 * The HTTP layer: one keep-alive undici Pool per run, sized to the concurrency, with explicit timeouts.
 * Every answer is read to the end (or its body destroyed) before post() returns, so a retry never
 * leaves a half-read response holding a connection. The run's abort signal destroys the pool, which
 * fails every request in flight: one listener per run rather than one per request.
 */
import { Pool } from 'undici';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface PostOptions {
  path: string;
  headers: Readonly<Record<string, string>>;
  body: string;
  /** Overrides the pool's headers timeout (a request that asks the server to wait for the model). */
  headersTimeoutMs?: number;
}

export interface HttpPool {
  post(options: PostOptions): Promise<HttpAnswer>;
  close(): Promise<void>;
}

/** Classification answers are tiny; anything this big is not one. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export function createPool(origin: string, connections: number, timeoutMs: number, signal: AbortSignal): HttpPool {
  const pool = new Pool(origin, {
    connections: Math.max(1, connections),
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 30_000,
    maxResponseSize: MAX_RESPONSE_BYTES,
  });
  // destroy, not close: close() would wait for in-flight requests, and a stopping run has none it wants.
  const destroy = () => pool.destroy();
  if (signal.aborted) void destroy();
  else signal.addEventListener('abort', destroy, { once: true });
  return {
    async post({ path, headers, body, headersTimeoutMs }) {
      const res = await pool.request({
        path,
        method: 'POST',
        headers,
        body,
        ...(headersTimeoutMs !== undefined ? { headersTimeout: headersTimeoutMs } : {}),
      });
      try {
        return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
      } catch (err) {
        res.body.destroy();
        throw err;
      }
    },
    async close() {
      signal.removeEventListener('abort', destroy);
      await destroy();
    },
  };
}

export type NetworkFailure = { kind: 'timeout' | 'network'; message: string };

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * A transport failure: worth retrying (`timeout`, `network`), or one no retry can fix (`fatal`: a TLS
 * certificate problem, a protocol error). Undefined for errors without a code, which are bugs and must
 * surface with their stack.
 */
export function networkFailure(err: unknown): (NetworkFailure | { kind: 'fatal'; message: string }) | undefined {
  const code = errorCode(err) ?? errorCode((err as { cause?: unknown } | undefined)?.cause);
  if (code === undefined) return undefined;
  const message = `${code}: ${(err as Error).message}`;
  if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', message: `timed out (${message})` };
  if (NETWORK_CODES.has(code)) return { kind: 'network', message: `connection failed (${message})` };
  return { kind: 'fatal', message };
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

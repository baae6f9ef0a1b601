/**
 * The HTTP layer: one keep-alive undici Pool per run, sized to the concurrency, with explicit timeouts.
 * Requests go through undici's low-level dispatch with a handler that collects the body chunks: the
 * answers are small and always read whole, so pool.request's stream, async resource and promise per
 * response bought nothing. Response size and content-length checks live in undici's parser, below both.
 * post() settles only once the whole answer is in (or the request failed), so a retry never leaves a
 * half-read response holding a connection. The run's abort signal destroys the pool, which fails every
 * request in flight: one listener per run rather than one per request.
 *
 * The timeout bounds the whole exchange, headers and body: undici's bodyTimeout is the longest silence
 * between two chunks, so a server trickling a byte a second never trips it. One sweep per pool checks the
 * deadlines of the requests in flight, instead of a timer per request.
 */
import { Pool, util, type Dispatcher } from 'undici';

export interface HttpAnswer {
  status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The RateLimit header, found without parsing the others (read on every answer, 200s included). */
  readonly rateLimit: string | undefined;
  /** The router's x-sha (the model revision that answered), found the same way. */
  readonly revision?: string;
  text: string;
}

export interface PostOptions {
  path: string;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
  /** performance.now() as the caller sends it, when it has read it; the timeout counts from there. */
  sentAt?: number;
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
  const inFlight = new InFlight();
  const sweep = setInterval(() => inFlight.expire(performance.now()), Math.max(10, Math.min(1000, timeoutMs / 4)));
  sweep.unref();
  const destroy = () => {
    clearInterval(sweep);
    return pool.destroy();
  };
  if (signal.aborted) void destroy();
  else signal.addEventListener('abort', destroy, { once: true });
  return {
    post({ path, headers, body, sentAt, headersTimeoutMs }) {
      return new Promise((resolve, reject) => {
        // A request the server may hold while the model loads gets that time on top of the ordinary timeout.
        const deadline = (sentAt ?? performance.now()) + timeoutMs + (headersTimeoutMs ?? 0);
        const exchange = new Exchange(resolve, reject, deadline, timeoutMs, inFlight);
        inFlight.add(exchange);
        pool.dispatch(
          { path, method: 'POST', headers, body, ...(headersTimeoutMs !== undefined ? { headersTimeout: headersTimeoutMs } : {}) },
          exchange,
        );
      });
    },
    async close() {
      signal.removeEventListener('abort', destroy);
      await destroy();
    },
  };
}

/**
 * The exchanges in flight, for the deadline sweep: an array with swap-remove, each exchange knowing its
 * slot. With a Set here, ~1.7 kB more of each request survived young-generation GCs (promoted to the old
 * generation: 2,000 bytes a request against 360), and scavenges took twice as long: ~5 µs a request at 1
 * text per request (--trace-gc-nvp on bench/lib/request-path.js against the loopback bench server).
 */
class InFlight {
  private readonly list: Exchange[] = [];

  add(exchange: Exchange): void {
    exchange.slot = this.list.length;
    this.list.push(exchange);
  }

  delete(exchange: Exchange): void {
    const at = exchange.slot;
    if (at < 0) return;
    exchange.slot = -1;
    const last = this.list.pop()!;
    if (last !== exchange) {
      this.list[at] = last;
      last.slot = at;
    }
  }

  /** Expires every exchange past its deadline; from the end, so one that leaves at once moves only a checked one. */
  expire(now: number): void {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const exchange = this.list[i];
      if (exchange !== undefined && now >= exchange.deadline) exchange.expire();
    }
  }
}

/** The answer did not arrive whole within the timeout. */
export class ResponseTimeoutError extends Error {
  readonly code = 'UND_ERR_RESPONSE_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`the answer was not complete after ${Math.round(timeoutMs / 1000)} s`);
  }
}

/**
 * One request's answer, in undici's handler protocol. These are the callbacks its types mark deprecated,
 * but they are what undici 7's own request() is built on; the newer onResponse* protocol wraps each
 * request in a controller and parses every answer's headers, ~5 µs more per request here.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private status = 0;
  private rawHeaders: Buffer[] = [];
  private chunks: Buffer[] = [];
  private abort: ((err: Error) => void) | undefined;
  private expired = false;

  constructor(
    private readonly resolve: (answer: HttpAnswer) => void,
    private readonly reject: (err: Error) => void,
    readonly deadline: number,
    private readonly timeoutMs: number,
    private readonly inFlight: InFlight,
  ) {}

  /** Where this exchange sits in InFlight's list; -1 once it is out. */
  slot = -1;

  /** Called again if undici resends the request on a fresh connection: start over. */
  onConnect(abort: (err: Error) => void): void {
    this.chunks = [];
    this.abort = abort;
  }

  /** Past the deadline: abort the request (undici then calls onError), or fail it if it never got a connection. */
  expire(): void {
    if (this.expired) return;
    this.expired = true;
    const err = new ResponseTimeoutError(this.timeoutMs);
    if (this.abort) this.abort(err);
    else this.onError(err);
  }

  /** Also called for informational answers (103 Early Hints); the final one comes last and wins. */
  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    this.status = status;
    this.rawHeaders = rawHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.inFlight.delete(this);
    this.resolve(new Answer(this.status, this.rawHeaders, decodeBody(this.chunks)));
  }

  onError(err: Error): void {
    this.inFlight.delete(this);
    this.reject(err);
  }
}

class Answer implements HttpAnswer {
  private parsed: Record<string, string | string[]> | undefined;

  constructor(
    readonly status: number,
    private readonly rawHeaders: Buffer[],
    readonly text: string,
  ) {}

  /** Parsed on first use: only answers that are not 2xx have their headers read. */
  get headers(): Record<string, string | string[] | undefined> {
    return (this.parsed ??= util.parseHeaders(this.rawHeaders));
  }

  get rateLimit(): string | undefined {
    return rawHeader(this.rawHeaders, 'ratelimit');
  }

  get revision(): string | undefined {
    return rawHeader(this.rawHeaders, 'x-sha');
  }
}

/**
 * One header's value from undici's raw name/value list, `name` in lower case; the first of repeated ones.
 * Parsing them all into an object (util.parseHeaders) on every 200 cost ~1.5 µs and ~10 short-lived
 * strings a request at 1 text/request (measured with --cpu-prof against the loopback bench server).
 */
function rawHeader(raw: Buffer[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toString('latin1').toLowerCase() === name) return raw[i + 1]!.toString('latin1');
  }
  return undefined;
}

const BOM = [0xef, 0xbb, 0xbf];

/** UTF-8, without a byte order mark (as undici's body.text() reads it). */
function decodeBody(chunks: Buffer[]): string {
  const buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  const start = buf[0] === BOM[0] && buf[1] === BOM[1] && buf[2] === BOM[2] ? 3 : 0;
  return buf.toString('utf8', start);
}

export { networkFailure, type NetworkFailure } from '../../core/network.js';

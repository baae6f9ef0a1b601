/**
 * The one table of transport failures, for every client batchlabel has (the inference backend, the Hub
 * downloads): which system and undici error codes are a timeout, a connection worth retrying, or a host
 * that cannot be reached at all.
 */

export type NetworkFailure = { kind: 'timeout' | 'network'; message: string; code: string };

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_RESPONSE_TIMEOUT', 'ETIMEDOUT']);
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
  const code = transportCode(err);
  if (code === undefined) return undefined;
  const message = `${code}: ${(err as Error).message}`;
  if (TIMEOUT_CODES.has(code)) return { kind: 'timeout', message: `timed out (${message})`, code };
  if (NETWORK_CODES.has(code)) return { kind: 'network', message: `connection failed (${message})`, code };
  return { kind: 'fatal', message };
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** No connection could be made at all (refused, no such host, no route, a bad certificate): retrying soon will not help. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CERT_HAS_EXPIRED']);

/** The code of a transport error (or of its cause), as undici and Node give it. */
export function transportCode(err: unknown): string | undefined {
  return errorCode(err) ?? errorCode((err as { cause?: unknown } | undefined)?.cause);
}

export function isUnreachable(err: unknown): boolean {
  const code = transportCode(err);
  return code !== undefined && UNREACHABLE_CODES.has(code);
}

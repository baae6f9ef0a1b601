/**
 * JSON calls to the Hub's /api routes (dataset trees, Parquet listings, repo creation, commits). The token
 * goes to the Hub's own origin only: a redirect to any other host is followed without it.
 */
import type { Dispatcher } from 'undici';
import type { HubEnv } from './env.js';

export interface ApiAnswer {
  status: number;
  errorCode: string | undefined;
  /** Parsed JSON body (undefined when the body is not JSON). */
  json: unknown;
  /** The `rel="next"` page of a paginated listing. */
  next: string | undefined;
}

const TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 5;

let undici: Promise<typeof import('undici')> | undefined;

export function apiHeaders(env: HubEnv, url: string, extra: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': 'batchlabel (huggingface_hub-compatible)', ...extra };
  if (env.token && new URL(url).origin === new URL(env.endpoint).origin) headers.authorization = `Bearer ${env.token}`;
  return headers;
}

/** One API request; redirects followed (the token dropped for another host), JSON parsed. */
export async function hubApi(env: HubEnv, url: string, init: { method?: 'GET' | 'POST'; body?: string; contentType?: string; signal?: AbortSignal } = {}): Promise<ApiAnswer> {
  const { request } = await (undici ??= import('undici'));
  let target = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res: Dispatcher.ResponseData = await request(target, {
      method: init.method ?? 'GET',
      headers: apiHeaders(env, target, init.contentType ? { 'content-type': init.contentType } : {}),
      body: init.body,
      signal: init.signal,
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    const location = first(res.headers.location);
    if (res.statusCode >= 300 && res.statusCode < 400 && location && (init.method ?? 'GET') === 'GET') {
      await res.body.dump();
      target = new URL(location, target).toString();
      continue;
    }
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, errorCode: first(res.headers['x-error-code']), json, next: nextLink(first(res.headers.link), target) };
  }
  return { status: 310, errorCode: undefined, json: undefined, next: undefined };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** `<url>; rel="next"` of a Link header, kept only on the same origin as the page it came with. */
function nextLink(link: string | undefined, from: string): string | undefined {
  const m = link?.match(/<([^>]+)>\s*;\s*rel="?next"?/);
  if (!m) return undefined;
  const next = new URL(m[1]!, from);
  return next.origin === new URL(from).origin ? next.toString() : undefined;
}

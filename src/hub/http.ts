/**
 * The two Hub requests a download needs, following huggingface_hub's protocol:
 * - HEAD <endpoint>/<repo>/resolve/<revision>/<file> (following same-host redirects only) gives the commit
 *   (X-Repo-Commit), the blob name (X-Linked-Etag for LFS files, else ETag), the size, and where the bytes
 *   are (a CDN redirect for LFS files);
 * - GET that location, streamed to a temporary file that is renamed into blobs/ only when complete.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Dispatcher } from 'undici';
import { BackendFatalError } from '../errors.js';
import { blobPath, isCommitHash, tempName, type RepoCache } from './cache.js';
import type { HubEnv } from './env.js';
import { EntryNotFoundError, HubErrorCode, HubNetworkError } from './errors.js';
import { sleep } from '../core/abort.js';
import { tryLock, type FileLock } from '../core/file-lock.js';
import { isUnreachable } from '../core/network.js';
import { fileProgress, type ProgressSink } from './progress.js';

export interface HubHttpOptions {
  env: HubEnv;
  signal?: AbortSignal;
  sink: ProgressSink;
  /** Waits between attempts on transient failures; tests shorten them. */
  retryDelaysMs?: readonly number[];
}

export interface FileMetadata {
  commit: string;
  /** Blob name; undefined when the server sent no ETag (the content hash is used instead). */
  etag: string | undefined;
  size: number | undefined;
  /** Where to GET the bytes (absolute URL). */
  location: string;
}

const DEFAULT_RETRY_DELAYS_MS = [1000, 3000];
const MAX_REDIRECTS = 5;
const HEAD_TIMEOUT_MS = 30_000;
/** Between body chunks, not for the whole file: a slow link still finishes a large model. */
const BODY_TIMEOUT_MS = 60_000;

/** undici, loaded at the first Hub request: a run from a model folder on disk never pays its ~50 ms of loading. */
let undici: Promise<typeof import('undici')> | undefined;
let proxyAgent: Dispatcher | undefined;

interface HubRequest {
  method: 'HEAD' | 'GET';
  headers: Record<string, string>;
  signal?: AbortSignal;
  headersTimeout: number;
  bodyTimeout: number;
}

/** A request through undici, HTTPS_PROXY honoured: undici ignores it unless asked; huggingface_hub (requests) honours it. */
async function hubRequest(url: string, opts: HubRequest): Promise<Dispatcher.ResponseData> {
  const { request, EnvHttpProxyAgent } = await (undici ??= import('undici'));
  const e = process.env;
  const proxied = Boolean(e.HTTPS_PROXY || e.https_proxy || e.HTTP_PROXY || e.http_proxy);
  if (proxied) proxyAgent ??= new EnvHttpProxyAgent();
  return request(url, { ...opts, dispatcher: proxied ? proxyAgent : undefined });
}

export function resolveUrl(env: HubEnv, repoId: string, revision: string, repoPath: string): string {
  const file = repoPath.split('/').map(encodeURIComponent).join('/');
  return `${env.endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${file}`;
}

function baseHeaders(env: HubEnv, url: string): Record<string, string> {
  const headers: Record<string, string> = { 'user-agent': 'batchlabel (huggingface_hub-compatible)', 'accept-encoding': 'identity' };
  // The token goes to the Hub only, never to the CDN or any other host a redirect points at.
  if (env.token && new URL(url).origin === new URL(env.endpoint).origin) headers.authorization = `Bearer ${env.token}`;
  return headers;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `W/"abc"` → `abc`; anything that could escape blobs/ is refused. */
export function normalizeEtag(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const etag = raw.replace(/^W\//, '').replace(/^"|"$/g, '');
  return /^[A-Za-z0-9._-]{1,200}$/.test(etag) && !/^\.+$/.test(etag) ? etag : undefined;
}

const SHA256 = /^[0-9a-f]{64}$/;

function contentLength(headers: Record<string, string | string[] | undefined>): number | undefined {
  const v = header(headers, 'content-length');
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** Failures worth another attempt; a refused connection or unknown host will not fix itself in seconds. */
class TransientError extends Error {}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(err);
}



async function withRetries<T>(what: string, opts: HubHttpOptions, attempt: () => Promise<T>): Promise<T> {
  const delays = opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      const transient = err instanceof TransientError || (!(err instanceof BackendFatalError) && !isUnreachable(err));
      if (!transient || i >= delays.length) {
        if (err instanceof BackendFatalError) throw err;
        const reason = err instanceof TransientError ? err.message : describeNetworkError(err);
        throw new HubNetworkError(
          `cannot reach ${opts.env.endpoint} to ${what} (${reason}); check the connection or HF_ENDPOINT, set HF_HUB_OFFLINE=1 to use only the local cache, or pass a local model folder`,
        );
      }
      await sleep(delays[i]!, opts.signal);
    }
  }
}

/** Turn a Hub error status into the one line the user needs (huggingface_hub's X-Error-Code values). */
function statusError(status: number, errorCode: string | undefined, repoId: string, revision: string, repoPath: string, env: HubEnv, commit: string | undefined): Error {
  if (status === 429 || status >= 500) return new TransientError(`HTTP ${status}`);
  if (errorCode === 'GatedRepo') {
    return new BackendFatalError(
      `${repoId} is a gated model: accept its terms on ${env.endpoint}/${repoId} and set HF_TOKEN to a token of that account`,
      HubErrorCode.auth,
    );
  }
  if (errorCode === 'RepoNotFound' || (status === 401 && !env.token)) {
    return new BackendFatalError(
      `model ${repoId} was not found on ${env.endpoint} (if it is private, set HF_TOKEN; if it is a local folder, check the path)`,
      HubErrorCode.notFound,
    );
  }
  if (status === 401 || status === 403) {
    return new BackendFatalError(`${env.endpoint} refused the token in HF_TOKEN for ${repoId} (HTTP ${status}): check that it is valid and can read this repository`, HubErrorCode.auth);
  }
  if (errorCode === 'RevisionNotFound') {
    return new BackendFatalError(`model ${repoId} has no revision "${revision}" on ${env.endpoint}`, HubErrorCode.notFound);
  }
  if (status === 404) {
    return new EntryNotFoundError(`model ${repoId} has no file ${repoPath} at revision "${revision}" on ${env.endpoint}`, commit);
  }
  return new BackendFatalError(`${env.endpoint} answered HTTP ${status} for ${repoId}/${repoPath}`, HubErrorCode.response);
}

/**
 * Where a file is and which blob it is. Throws EntryNotFoundError for a file the repository does not
 * have, so callers can try the next candidate.
 */
export async function fetchFileMetadata(repoId: string, revision: string, repoPath: string, opts: HubHttpOptions): Promise<FileMetadata> {
  return withRetries(`download ${repoId}`, opts, async () => {
    let url = resolveUrl(opts.env, repoId, revision, repoPath);
    let commit: string | undefined;
    let etag: string | undefined;
    let size: number | undefined;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const res = await hubRequest(url, {
        method: 'HEAD',
        headers: baseHeaders(opts.env, url),
        signal: opts.signal,
        headersTimeout: HEAD_TIMEOUT_MS,
        bodyTimeout: HEAD_TIMEOUT_MS,
      });
      await res.body.dump();
      const h = res.headers;
      // The first answer (the Hub's own) carries the commit and the LFS hash even when it redirects.
      commit ??= header(h, 'x-repo-commit');
      etag ??= normalizeEtag(header(h, 'x-linked-etag') ?? header(h, 'etag'));
      const sizeHeader = header(h, 'x-linked-size') ?? header(h, 'content-length');
      if (size === undefined && sizeHeader !== undefined && /^\d+$/.test(sizeHeader)) size = Number(sizeHeader);
      const location = header(h, 'location');
      if (res.statusCode >= 300 && res.statusCode < 400 && location) {
        const next = new URL(location, url);
        // Same host: a renamed repository or the Hub's resolve cache; follow it for the metadata. Another host
        // is the CDN holding the bytes: stop here, that is where the GET goes.
        if (next.origin !== new URL(url).origin) {
          return finish(next.toString());
        }
        url = next.toString();
        continue;
      }
      if (res.statusCode >= 200 && res.statusCode < 300) return finish(url);
      // A 404's commit names the .no_exist folder: only a real commit hash may.
      throw statusError(res.statusCode, header(h, 'x-error-code'), repoId, revision, repoPath, opts.env, commit !== undefined && isCommitHash(commit) ? commit : undefined);
    }
    throw new BackendFatalError(`too many redirects resolving ${repoId}/${repoPath} on ${opts.env.endpoint}`, HubErrorCode.response);

    function finish(location: string): FileMetadata {
      if (!commit) {
        throw new BackendFatalError(
          `${opts.env.endpoint} does not answer like the Hugging Face Hub (no X-Repo-Commit header for ${repoId}/${repoPath}); check HF_ENDPOINT`,
          HubErrorCode.response,
        );
      }
      // It becomes a folder name in the cache: anything but 40 hex digits could point anywhere.
      if (!isCommitHash(commit)) {
        throw new BackendFatalError(
          `${opts.env.endpoint} answered an X-Repo-Commit that is not a commit hash (${JSON.stringify(commit.slice(0, 60))}) for ${repoId}/${repoPath}; check HF_ENDPOINT`,
          HubErrorCode.response,
        );
      }
      return { commit, etag, size, location };
    }
  });
}

/**
 * Download a file into blobs/ and return its blob name. The bytes land in a temporary file first, renamed
 * only when complete, so an interrupted download never leaves a truncated blob behind. An LFS blob (the
 * large files: models, Parquet shards) is named by its sha256, checked at the end, so its temporary file
 * has a fixed name and a download cut off, in this run or an earlier one, goes on where it stopped (an
 * HTTP Range request), as huggingface_hub does. Other files are small and their git hash is not checked:
 * every attempt starts over in a file of its own.
 */
export async function downloadBlob(repo: RepoCache, meta: FileMetadata, label: string, opts: HubHttpOptions): Promise<string> {
  const blobsDir = path.dirname(blobPath(repo, 'x'));
  try {
    await fs.mkdir(blobsDir, { recursive: true });
  } catch (err) {
    throw cacheError(blobsDir, err);
  }
  const sha256 = meta.etag !== undefined && SHA256.test(meta.etag) ? meta.etag : undefined;
  const partial = sha256 ? claimPartial(blobsDir, sha256) : undefined;
  try {
    return await withRetries(`download ${label}`, opts, () => downloadOnce(repo, blobsDir, meta, label, opts, sha256, partial?.file));
  } finally {
    partial?.lock.release();
  }
}

/**
 * The resumable temporary file of an LFS blob, claimed for this process; undefined when another live
 * process is downloading the same blob (this one then downloads into a file of its own).
 */
function claimPartial(blobsDir: string, sha256: string): { file: string; lock: FileLock } | undefined {
  const file = path.join(blobsDir, `${sha256}${PARTIAL_SUFFIX}`);
  let taken;
  try {
    taken = tryLock(`${file}.lock`);
  } catch (err) {
    throw cacheError(blobsDir, err);
  }
  return 'lock' in taken ? { file, lock: taken.lock } : undefined;
}

/** batchlabel's own name, not huggingface_hub's `.incomplete` alone: Python's lock on its partial file is not one this process can see. */
const PARTIAL_SUFFIX = '.batchlabel.incomplete';

/** Bytes already downloaded into the partial file (0 when there is none). */
async function partialSize(file: string | undefined): Promise<number> {
  if (!file) return 0;
  try {
    return (await fs.stat(file)).size;
  } catch {
    return 0;
  }
}

/** `bytes 100-199/200` → its first byte and the full size (undefined when `*`). */
function contentRange(headers: Record<string, string | string[] | undefined>): { first: number; total: number | undefined } | undefined {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header(headers, 'content-range') ?? '');
  return m ? { first: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) } : undefined;
}

/** Bytes that failed their check: a partial file holding them must not be resumed. */
class CorruptDownload extends TransientError {}

async function downloadOnce(repo: RepoCache, blobsDir: string, meta: FileMetadata, label: string, opts: HubHttpOptions, sha256: string | undefined, partial: string | undefined): Promise<string> {
  const tmp = partial ?? tempName(path.join(blobsDir, meta.etag ?? 'download'));
  let have = await partialSize(partial);
  if (meta.size !== undefined && have > meta.size) {
    await fs.rm(tmp, { force: true });
    have = 0;
  }
  let progress: ReturnType<typeof fileProgress> | undefined;
  try {
    const hash = meta.etag === undefined || sha256 ? createHash('sha256') : undefined;
    let received = 0;
    let announced: number | undefined;
    let framed = false;
    // A partial file as long as the blob was complete but not yet checked and renamed: no request.
    const complete = have > 0 && have === meta.size;
    if (!complete) {
      const res = await getFollowingRedirects(meta.location, opts, have > 0 ? `bytes=${have}-` : undefined);
      if (res.statusCode === 206 && have > 0) {
        const range = contentRange(res.headers);
        if (range?.first !== have) {
          await res.body.dump();
          throw new CorruptDownload(`asked for the bytes from ${have} and got ${header(res.headers, 'content-range') ?? 'no Content-Range'}`);
        }
        const total = range.total ?? meta.size;
        announced = total === undefined ? undefined : total - have;
      } else if (res.statusCode === 200) {
        have = 0; // the server sends the whole file (it ignored the Range, or there was none)
        announced = meta.size ?? contentLength(res.headers);
      } else {
        await res.body.dump();
        throw res.statusCode === 429 || res.statusCode >= 500
          ? new TransientError(`HTTP ${res.statusCode}`)
          : new BackendFatalError(`${label}: download answered HTTP ${res.statusCode}`, HubErrorCode.response);
      }
      // Chunked framing ends with a last chunk (undici fails a body cut before it); without it or a
      // length, the end of the connection is all that marks the end of the body, and a cut looks the same.
      framed = /\bchunked\b/i.test(header(res.headers, 'transfer-encoding') ?? '');
      if (hash && have > 0) await hashFile(tmp, hash);
      const fh = await fs.open(tmp, have > 0 ? 'a' : 'w').catch((err: unknown) => {
        throw cacheError(blobsDir, err);
      });
      progress = fileProgress(opts.sink, label, meta.size);
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          await fh.write(chunk).catch((err: unknown) => {
            throw cacheError(blobsDir, err);
          });
          hash?.update(chunk);
          received += chunk.length;
          progress.update(have + received);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
    } else if (hash) {
      await hashFile(tmp, hash); // complete before, not yet checked and renamed
    }
    if (announced !== undefined && received !== announced) {
      throw new TransientError(`received ${have + received} of ${have + announced} bytes`);
    }
    const digest = hash?.digest('hex');
    if (sha256 !== undefined && digest !== sha256) {
      throw new CorruptDownload(`the ${have + received} bytes received do not have the sha256 ${sha256} the Hub announced`);
    }
    if (have === 0 && announced === undefined && !framed && sha256 === undefined) {
      throw new TransientError(`the connection ended after ${received} bytes, with no size announced to confirm the file is complete`);
    }
    const etag = meta.etag ?? digest!;
    await fs.rename(tmp, blobPath(repo, etag));
    (progress ?? fileProgress(opts.sink, label, meta.size)).done();
    return etag;
  } catch (err) {
    progress?.fail();
    // A cut-off partial file is kept to be resumed; bytes that failed their check, or nothing at all, are not.
    if (!partial || err instanceof CorruptDownload || (await partialSize(partial)) === 0) await fs.rm(tmp, { force: true });
    throw err;
  }
}

async function hashFile(file: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
}

async function getFollowingRedirects(start: string, opts: HubHttpOptions, range?: string): Promise<Dispatcher.ResponseData> {
  let url = start;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await hubRequest(url, {
      method: 'GET',
      headers: { ...baseHeaders(opts.env, url), ...(range ? { range } : {}) },
      signal: opts.signal,
      headersTimeout: HEAD_TIMEOUT_MS,
      bodyTimeout: BODY_TIMEOUT_MS,
    });
    const location = header(res.headers, 'location');
    if (res.statusCode >= 300 && res.statusCode < 400 && location) {
      await res.body.dump();
      url = new URL(location, url).toString();
      continue;
    }
    return res;
  }
  throw new BackendFatalError(`too many redirects downloading ${start}`, HubErrorCode.response);
}

export function cacheError(where: string, err: unknown): BackendFatalError {
  if (err instanceof BackendFatalError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return new BackendFatalError(
    `cannot write the Hugging Face cache at ${where} (${code}); set HF_HUB_CACHE to a writable folder`,
    HubErrorCode.cache,
  );
}

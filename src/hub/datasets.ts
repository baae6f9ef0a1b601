/**
 * Dataset files on the Hub as an input: `hf://datasets/<owner>/<name>[@<revision>]/<path or glob>` (the
 * syntax of huggingface_hub's HfFileSystem), or a split of the dataset's Parquet conversion (the
 * refs/convert/parquet branch every public dataset has). Files go through the standard HF cache
 * (`datasets--owner--name`, shared with Python's huggingface_hub and datasets), so a second run, or an
 * offline one (HF_HUB_OFFLINE), reads them from disk.
 *
 * Listing a glob or a split asks for the files by the revision's name, then pins the commit with the first
 * download; every later file is asked for by that commit, so all of them come from one snapshot.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { InputError, UsageError, BatchlabelError } from '../errors.js';
import { hubApi, type ApiAnswer } from './api.js';
import { cachedFile, hasBlob, isCommitHash, linkSnapshotFile, readRef, snapshotDir, writeRef, type RepoCache } from './cache.js';
import { readHubEnv, type HubEnv } from './env.js';
import { EntryNotFoundError, HubErrorCode, HubNetworkError } from './errors.js';
import { cacheError, downloadBlob, fetchFileMetadata, type HubHttpOptions } from './http.js';
import { silentSink, type ProgressSink } from './progress.js';
import { isHubRepoId } from './resolve.js';

export const PARQUET_REVISION = 'refs/convert/parquet';

export interface DatasetUri {
  repoId: string;
  /** As written after `@`, decoded; undefined for the default branch. */
  revision: string | undefined;
  /** A file, a glob, or '' (the whole dataset: then a split must be named). */
  path: string;
}

export interface DatasetSelection {
  /** A split of the Parquet conversion (with no path in the URI). */
  split?: string;
  /** The conversion's config; default: "default", or the only one. */
  config?: string;
}

export interface DatasetOptions extends DatasetSelection {
  env?: NodeJS.ProcessEnv;
  sink?: ProgressSink;
  notice?: (message: string) => void;
  signal?: AbortSignal;
  retryDelaysMs?: readonly number[];
}

export interface DatasetInput {
  repoId: string;
  revision: string;
  commit: string;
  /** Paths in the repository, in reading order. */
  repoPaths: string[];
  /** The same files in the local cache. */
  files: string[];
}

export function isHubUri(input: string): boolean {
  return input.startsWith('hf://');
}

/** Parses `hf://datasets/owner/name[@revision][/path]`; the revision percent-encoded where it holds a '/'. */
export function parseDatasetUri(uri: string): DatasetUri {
  const m = uri.match(/^hf:\/\/datasets\/([^/@]+\/[^/@]+)(?:@(refs\/convert\/parquet|refs\/pr\/\d+|[^/]+))?(?:\/(.*))?$/);
  if (!m || !isHubRepoId(m[1]!)) {
    throw new UsageError(`${uri} is not a Hub dataset address: write hf://datasets/<owner>/<name>[@<revision>]/<path or glob>, or hf://datasets/<owner>/<name> --split <split>.`);
  }
  let revision: string | undefined;
  try {
    revision = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
  } catch {
    throw new UsageError(`${uri}: the revision after @ is not valid percent-encoding.`);
  }
  const repoPath = (m[3] ?? '').replace(/\/+$/, '');
  if (repoPath.split('/').some((s) => s === '..' || s === '.')) throw new UsageError(`${uri}: the path must not contain "." or ".." segments.`);
  return { repoId: m[1]!, revision, path: repoPath };
}

/** `datasets--owner--name`, as huggingface_hub's repo_folder_name names a dataset's cache folder. */
export function datasetCache(cacheDir: string, repoId: string): RepoCache {
  return { dir: path.join(cacheDir, ['datasets', ...repoId.split('/')].join('--')) };
}

const resolved = new Map<string, Promise<DatasetInput>>();

/**
 * The dataset's files on disk, downloaded where the cache lacks them. Asked again in the same process
 * (the fingerprint, then the reader) it answers from the first call.
 */
export function resolveDatasetInput(uri: string, options: DatasetOptions = {}): Promise<DatasetInput> {
  const key = JSON.stringify([uri, options.split ?? null, options.config ?? null, options.env?.HF_HUB_CACHE ?? null, options.env?.HF_ENDPOINT ?? null]);
  let p = resolved.get(key);
  if (!p) {
    p = resolveOnce(uri, options);
    resolved.set(key, p);
    p.catch(() => resolved.delete(key));
  }
  return p;
}

async function resolveOnce(uri: string, options: DatasetOptions): Promise<DatasetInput> {
  const ref = parseDatasetUri(uri);
  if (ref.path === '' && options.split === undefined) {
    throw new UsageError(`${uri} names no file: add a path or glob (e.g. ${uri}/data/*.parquet), or pick a split of its Parquet conversion with --split (and --config).`);
  }
  if (ref.path !== '' && options.split !== undefined) throw new UsageError(`${uri}: give either a path in the address or --split, not both.`);
  if (options.split !== undefined && ref.revision !== undefined && ref.revision !== PARQUET_REVISION) {
    throw new UsageError(`${uri}: --split reads the Parquet conversion (${PARQUET_REVISION}), which exists for the default branch only; drop @${ref.revision} or name the files in the address.`);
  }
  const revision = options.split !== undefined ? PARQUET_REVISION : (ref.revision ?? 'main');
  if (!/^[A-Za-z0-9._\-/]+$/.test(revision) || revision.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) {
    throw new UsageError(`${uri}: "${revision}" is not a valid revision (a branch, tag or commit hash).`);
  }
  const env = readHubEnv(options.env);
  const repo = datasetCache(env.cacheDir, ref.repoId);
  const ctx: Ctx = { ref, revision, env, repo, options, uri };
  if (env.offline) {
    const cached = await fromCache(ctx);
    if ('input' in cached) return cached.input;
    throw new InputError(`${cached.missing}, and HF_HUB_OFFLINE=1 forbids downloading it: run once without HF_HUB_OFFLINE to download it.`);
  }
  try {
    return await fromHub(ctx);
  } catch (err) {
    if (!(err instanceof HubNetworkError)) throw err;
    const cached = await fromCache(ctx);
    if (!('input' in cached)) throw new InputError(err.message);
    options.notice?.(`${err.message.split(';')[0]}; using the cached snapshot ${cached.input.commit.slice(0, 12)} of ${ref.repoId}`);
    return cached.input;
  }
}

interface Ctx {
  ref: DatasetUri;
  revision: string;
  env: HubEnv;
  repo: RepoCache;
  options: DatasetOptions;
  uri: string;
}

async function fromHub(ctx: Ctx): Promise<DatasetInput> {
  const { ref, revision, env, repo, options } = ctx;
  const repoPaths = options.split !== undefined ? await splitFiles(ctx) : hasGlob(ref.path) ? await globFiles(ctx) : [ref.path];
  const http: HubHttpOptions = { env, signal: options.signal, sink: options.sink ?? silentSink, retryDelaysMs: options.retryDelaysMs };
  const hubId = `datasets/${ref.repoId}`;
  let commit = isCommitHash(revision) ? revision : undefined;
  const files: string[] = [];
  for (const p of repoPaths) {
    if (commit) {
      const state = await cachedFile(repo, commit, p);
      if (state.state === 'present') {
        files.push(state.file);
        continue;
      }
    }
    let meta;
    try {
      meta = await fetchFileMetadata(hubId, commit ?? revision, p, http);
    } catch (err) {
      throw datasetError(err, ctx, p);
    }
    if (!commit) {
      commit = meta.commit;
      await writeRef(repo, revision, commit).catch((err: unknown) => {
        throw cacheError(repo.dir, err);
      });
    }
    if ((await cachedFile(repo, commit, p)).state !== 'present') {
      let etag;
      try {
        etag = meta.etag && (await hasBlob(repo, meta.etag)) ? meta.etag : await downloadBlob(repo, meta, `${ref.repoId}/${p}`, http);
      } catch (err) {
        throw datasetError(err, ctx, p);
      }
      await linkSnapshotFile(repo, commit, p, etag).catch((err: unknown) => {
        throw cacheError(repo.dir, err);
      });
    }
    files.push((await cachedFile(repo, commit, p) as { file: string }).file);
  }
  return { repoId: ref.repoId, revision, commit: commit!, repoPaths, files };
}

/** The split's Parquet files: the conversion's listing picks the config, its branch's tree gives the paths. */
async function splitFiles(ctx: Ctx): Promise<string[]> {
  const { ref, env, options } = ctx;
  const id = ref.repoId;
  const split = options.split!;
  let config = options.config;
  const base = `${env.endpoint}/api/datasets/${id}/parquet`;
  if (config === undefined) {
    const all = await api(ctx, base, 'list its Parquet conversion');
    const configs = Object.keys((all.json ?? {}) as Record<string, unknown>);
    config = configs.includes('default') ? 'default' : configs.length === 1 ? configs[0]! : undefined;
    if (!config) throw new InputError(`dataset ${id} has several configs (${configs.join(', ')}): pick one with --config.`);
  }
  const listing = await api(ctx, `${base}/${encodeURIComponent(config)}/${encodeURIComponent(split)}`, `list split "${split}" of config "${config}"`, `dataset ${id} has no split "${split}" in config "${config}" of its Parquet conversion (check --split and --config)`);
  const urls = Array.isArray(listing.json) ? listing.json : [];
  const files = (await listTree(ctx, `${config}/${split}`)).filter((p) => p.endsWith('.parquet')).sort();
  if (files.length === 0 || (urls.length > 0 && urls.length !== files.length)) {
    throw new InputError(`dataset ${id}: the Parquet conversion lists ${urls.length} files for ${config}/${split}, but ${PARQUET_REVISION} holds ${files.length} there; try again later (the conversion may be running).`);
  }
  return files;
}

async function globFiles(ctx: Ctx): Promise<string[]> {
  const pattern = ctx.ref.path;
  const matches = (await listTree(ctx, globPrefix(pattern))).filter((p) => globRegExp(pattern).test(p)).sort();
  if (matches.length === 0) throw new InputError(`${ctx.uri}: no file of dataset ${ctx.ref.repoId} at "${ctx.revision}" matches ${pattern}.`);
  return matches;
}

/** Every file under `dir` at the revision (the tree API, recursive, page after page). */
async function listTree(ctx: Ctx, dir: string): Promise<string[]> {
  const { env, ref, revision } = ctx;
  const dirPath = dir.split('/').filter(Boolean).map(encodeURIComponent).join('/');
  let url: string | undefined = `${env.endpoint}/api/datasets/${ref.repoId}/tree/${encodeURIComponent(revision)}${dirPath ? `/${dirPath}` : ''}?recursive=true&expand=false`;
  const out: string[] = [];
  while (url) {
    const page = await api(ctx, url, 'list its files', `dataset ${ref.repoId} has no folder "${dir}" at "${revision}"`);
    for (const e of (Array.isArray(page.json) ? page.json : []) as { type?: string; path?: string }[]) {
      if (e.type === 'file' && typeof e.path === 'string') out.push(e.path);
    }
    url = page.next;
  }
  return out;
}

const API_RETRY_DELAYS_MS = [1000, 3000];

/** A Hub API call with the dataset's error messages; transient failures retried. */
async function api(ctx: Ctx, url: string, what: string, notFound?: string): Promise<ApiAnswer> {
  const delays = ctx.options.retryDelaysMs ?? API_RETRY_DELAYS_MS;
  for (let i = 0; ; i++) {
    let a: ApiAnswer;
    try {
      a = await hubApi(ctx.env, url, { signal: ctx.options.signal });
    } catch (err) {
      if (ctx.options.signal?.aborted) throw err;
      if (i < delays.length) {
        await new Promise((r) => setTimeout(r, delays[i]));
        continue;
      }
      const e = err as { code?: string; cause?: { code?: string }; message?: string };
      throw new HubNetworkError(`cannot reach ${ctx.env.endpoint} to ${what} of dataset ${ctx.ref.repoId} (${e.cause?.code ?? e.code ?? e.message}); check the connection or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use only the local cache`);
    }
    if ((a.status === 429 || a.status >= 500) && i < delays.length) {
      await new Promise((r) => setTimeout(r, delays[i]));
      continue;
    }
    if (a.status >= 200 && a.status < 300) return a;
    throw statusError(ctx, a.status, a.errorCode, notFound);
  }
}

function statusError(ctx: Ctx, status: number, errorCode: string | undefined, notFound?: string): BatchlabelError {
  const { env, ref } = ctx;
  const page = `${env.endpoint}/datasets/${ref.repoId}`;
  if (errorCode === 'GatedRepo' || ((status === 401 || status === 403) && !env.token)) {
    return new InputError(`dataset ${ref.repoId} is gated or private: accept its terms on ${page} and set HF_TOKEN to a token of an account with access.`);
  }
  if (status === 401 || status === 403) {
    return new InputError(`${env.endpoint} refused the token in HF_TOKEN for dataset ${ref.repoId} (HTTP ${status}): check that it is valid and can read this dataset.`);
  }
  if (errorCode === 'RepoNotFound') return new InputError(`dataset ${ref.repoId} was not found on ${env.endpoint} (if it is private, set HF_TOKEN).`);
  if (errorCode === 'RevisionNotFound') return new InputError(`dataset ${ref.repoId} has no revision "${ctx.revision}" on ${env.endpoint}.`);
  if (status === 404) return new InputError(notFound ?? `dataset ${ref.repoId}: not found on ${env.endpoint}.`);
  return new InputError(`${env.endpoint} answered HTTP ${status} for dataset ${ref.repoId}.`);
}

/** The shared download code speaks of models; say the same about a dataset. */
function datasetError(err: unknown, ctx: Ctx, repoPath: string): unknown {
  if (err instanceof HubNetworkError) return err;
  if (err instanceof EntryNotFoundError) return new InputError(`dataset ${ctx.ref.repoId} has no file ${repoPath} at "${ctx.revision}" on ${ctx.env.endpoint}.`);
  if (err instanceof BatchlabelError && err.code === HubErrorCode.auth) {
    return ctx.env.token && !/gated/.test(err.message)
      ? new InputError(`${ctx.env.endpoint} refused the token in HF_TOKEN for dataset ${ctx.ref.repoId}: check that it is valid and can read this dataset.`)
      : new InputError(`dataset ${ctx.ref.repoId} is gated or private: accept its terms on ${ctx.env.endpoint}/datasets/${ctx.ref.repoId} and set HF_TOKEN to a token of an account with access.`);
  }
  if (err instanceof BatchlabelError && err.code === HubErrorCode.notFound) {
    return statusError(ctx, ctx.env.token ? 404 : 401, undefined, `dataset ${ctx.ref.repoId} was not found on ${ctx.env.endpoint} (if it is private or gated, set HF_TOKEN).`);
  }
  if (err instanceof BatchlabelError) return new InputError(err.message.replace(/^model /, 'dataset '));
  return err;
}

/** The files from the cache alone: the revision's recorded commit, and the files of its snapshot. */
async function fromCache(ctx: Ctx): Promise<{ input: DatasetInput } | { missing: string }> {
  const { ref, revision, repo, options } = ctx;
  const commit = await readRef(repo, revision);
  if (!commit) return { missing: `dataset ${ref.repoId} (revision "${revision}") is not in the Hugging Face cache (looked in ${repo.dir})` };
  const root = snapshotDir(repo, commit);
  let repoPaths: string[];
  if (options.split !== undefined) {
    let config = options.config;
    if (config === undefined) {
      const dirs = await fs.readdir(root).catch(() => [] as string[]);
      config = dirs.includes('default') ? 'default' : dirs.length === 1 ? dirs[0] : undefined;
    }
    repoPaths = config === undefined ? [] : (await walk(root, `${config}/${options.split}`)).filter((p) => p.endsWith('.parquet')).sort();
  } else if (hasGlob(ref.path)) {
    repoPaths = (await walk(root, globPrefix(ref.path))).filter((p) => globRegExp(ref.path).test(p)).sort();
  } else {
    repoPaths = [ref.path];
  }
  const files: string[] = [];
  for (const p of repoPaths) {
    const state = await cachedFile(repo, commit, p);
    if (state.state !== 'present') return { missing: `dataset ${ref.repoId}: ${p} is not in the cached snapshot ${root}` };
    files.push(state.file);
  }
  if (files.length === 0) return { missing: `dataset ${ref.repoId}: no file for ${ctx.uri}${options.split ? ` --split ${options.split}` : ''} in the cached snapshot ${root}` };
  return { input: { repoId: ref.repoId, revision, commit, repoPaths, files } };
}

/** Files under `dir` of a snapshot folder, as repository paths. */
async function walk(root: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string) => {
    let entries;
    try {
      entries = await fs.readdir(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(p);
      else out.push(p);
    }
  };
  await visit(dir);
  return out;
}

function hasGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

/** The folders before the first segment with a wildcard: where to list. */
function globPrefix(pattern: string): string {
  const segs = pattern.split('/');
  const i = segs.findIndex(hasGlob);
  return segs.slice(0, i).join('/');
}

/** fsspec's glob: `**` crosses folders, `*` and `?` stay within one, `[...]` a character class. */
export function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

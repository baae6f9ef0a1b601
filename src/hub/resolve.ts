/**
 * Make a set of files from a Hub repository available on disk, as one consistent snapshot.
 *
 * Online, the first request resolves the revision to a commit (one HEAD, which is also how a moved branch
 * is noticed); every later file is asked for by that commit, so all files come from the same snapshot, and
 * files already in the cache for that commit cost no request at all. Offline (HF_HUB_OFFLINE), or when the
 * Hub cannot be reached and the cache already holds the snapshot, the cache alone answers.
 */
import { BackendFatalError } from '../errors.js';
import {
  cachedFile,
  hasBlob,
  isCommitHash,
  isRepoPath,
  linkSnapshotFile,
  markMissing,
  readRef,
  repoCache,
  snapshotDir,
  writeRef,
  type RepoCache,
} from './cache.js';
import { readHubEnv, type HubEnv } from './env.js';
import { EntryNotFoundError, HubErrorCode, HubNetworkError } from './errors.js';
import { cacheError, downloadBlob, fetchFileMetadata, type HubHttpOptions } from './http.js';
import { silentSink, type ProgressSink } from './progress.js';

/** One file the caller needs: the first candidate that exists in the repository is used. */
export interface FileRequest {
  anyOf: readonly string[];
  /** If none of the candidates exists, carry on (resolved as undefined) instead of failing. */
  optional?: boolean;
}

export interface HubSnapshot {
  repoId: string;
  revision: string;
  commit: string;
  /** `<cache>/models--org--name/snapshots/<commit>`: a folder laid out like the repository. */
  folder: string;
  /** Per request, the repository path chosen, or undefined for an optional file that does not exist. */
  files: (string | undefined)[];
}

export interface HubResolveOptions {
  /** Branch, tag or commit; default `main`. */
  revision?: string;
  /** Environment to read HF_* variables from; default process.env. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Where the download progress goes; default silent. */
  sink?: ProgressSink;
  /** One-line messages worth telling the user (falling back to the cache). */
  notice?: (message: string) => void;
  retryDelaysMs?: readonly number[];
}

/**
 * `org/name` or a legacy top-level `name` as the Hub spells them (no `--` or `..`, which the Hub forbids
 * and which would make cache folder names ambiguous).
 */
export function isHubRepoId(spec: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/.test(spec) && !spec.includes('--') && !spec.includes('..');
}

/** File names (--onnx-file among them) become paths in the cache: none may climb out of it. */
export function checkRepoPaths(paths: readonly string[]): void {
  for (const candidate of paths) {
    if (!isRepoPath(candidate)) {
      throw new BackendFatalError(`"${candidate}" is not a file path inside a model repository (such as onnx/model.onnx: relative, without "." or ".." parts)`, HubErrorCode.notFound);
    }
  }
}

export async function resolveHubFiles(repoId: string, requests: readonly FileRequest[], options: HubResolveOptions = {}): Promise<HubSnapshot> {
  if (!isHubRepoId(repoId)) {
    throw new BackendFatalError(`"${repoId}" is neither an existing local folder nor a Hugging Face model id (org/name)`, HubErrorCode.notFound);
  }
  const revision = options.revision?.trim() || 'main';
  // Branch and tag names end up as paths under refs/: nothing that could climb out of the cache.
  if (!/^[A-Za-z0-9._\-/]+$/.test(revision) || revision.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) {
    throw new BackendFatalError(`"${revision}" is not a valid revision (a branch, tag or commit hash)`, HubErrorCode.notFound);
  }
  checkRepoPaths(requests.flatMap((r) => r.anyOf));
  const env = readHubEnv(options.env);
  const repo = repoCache(env.cacheDir, repoId);
  if (env.offline) {
    const cached = await fromCache(repo, revision, requests);
    if ('snapshot' in cached) return done(cached.snapshot);
    throw new BackendFatalError(
      `${cached.missing} HF_HUB_OFFLINE=1 forbids downloading it: run once without HF_HUB_OFFLINE to download it, or pass a local model folder`,
      HubErrorCode.offline,
    );
  }
  const http: HubHttpOptions = { env, signal: options.signal, sink: options.sink ?? silentSink, retryDelaysMs: options.retryDelaysMs };
  try {
    return done(await fromHub(repo, env, revision, requests, http));
  } catch (err) {
    if (!(err instanceof HubNetworkError)) throw err;
    // huggingface_hub does the same: an unreachable Hub is no reason to refuse a model already on disk.
    const cached = await fromCache(repo, revision, requests);
    if (!('snapshot' in cached)) throw err;
    options.notice?.(`${err.message.split(';')[0]}; using the cached snapshot ${cached.snapshot.commit.slice(0, 12)} of ${repoId}`);
    return done(cached.snapshot);
  }

  function done(s: Found): HubSnapshot {
    return { repoId, revision, ...s };
  }

  type Found = Omit<HubSnapshot, 'repoId' | 'revision'>;

  async function fromCache(repo: RepoCache, revision: string, requests: readonly FileRequest[]): Promise<{ snapshot: Found } | { missing: string }> {
    const commit = await readRef(repo, revision);
    if (!commit) {
      return { missing: `model ${repoId} (revision "${revision}") is not in the Hugging Face cache (looked in ${repo.dir}) and` };
    }
    const files: (string | undefined)[] = [];
    for (const req of requests) {
      let chosen: string | undefined;
      const skipped: string[] = [];
      for (const candidate of req.anyOf) {
        const state = await cachedFile(repo, commit, candidate);
        if (state.state === 'present') {
          chosen = candidate;
          break;
        }
        if (state.state === 'unknown') skipped.push(candidate);
      }
      if (chosen && skipped.length > 0) {
        options.notice?.(`using ${chosen} from the cached ${repoId}: ${skipped.join(', ')} never downloaded`);
      }
      if (!chosen && !req.optional) {
        const what = req.anyOf.length === 1 ? req.anyOf[0] : `any of ${req.anyOf.join(', ')}`;
        return { missing: `model ${repoId}: ${what} is not in the cached snapshot ${snapshotDir(repo, commit)} and` };
      }
      files.push(chosen);
    }
    return { snapshot: { commit, folder: snapshotDir(repo, commit), files } };
  }

  async function fromHub(repo: RepoCache, env: HubEnv, revision: string, requests: readonly FileRequest[], http: HubHttpOptions): Promise<Found> {
    let commit = isCommitHash(revision) ? revision : undefined;
    const files: (string | undefined)[] = [];
    for (const req of requests) {
      let chosen: string | undefined;
      for (const candidate of req.anyOf) {
        if (commit) {
          const state = await cachedFile(repo, commit, candidate);
          if (state.state === 'present') {
            chosen = candidate;
            break;
          }
          if (state.state === 'missing') continue;
        }
        let meta;
        try {
          meta = await fetchFileMetadata(repoId, commit ?? revision, candidate, http);
        } catch (err) {
          if (!(err instanceof EntryNotFoundError)) throw err;
          const at = commit ?? err.commit;
          // Remembered like huggingface_hub does, so the next run (or an offline one) does not ask again.
          if (at) await markMissing(repo, at, candidate).catch(() => undefined);
          continue;
        }
        if (!commit) {
          commit = meta.commit;
          await writeRef(repo, revision, commit).catch((err: unknown) => {
            throw cacheError(repo.dir, err);
          });
        }
        if ((await cachedFile(repo, commit, candidate)).state !== 'present') {
          const etag = meta.etag && (await hasBlob(repo, meta.etag)) ? meta.etag : await downloadBlob(repo, meta, `${repoId}/${candidate}`, http);
          await linkSnapshotFile(repo, commit, candidate, etag).catch((err: unknown) => {
            throw cacheError(repo.dir, err);
          });
        }
        chosen = candidate;
        break;
      }
      if (!chosen && !req.optional) {
        const what = req.anyOf.length === 1 ? `file ${req.anyOf[0]}` : `file among ${req.anyOf.join(', ')}`;
        throw new BackendFatalError(`model ${repoId} (revision "${revision}") on ${env.endpoint} has no ${what}`, HubErrorCode.notFound);
      }
      files.push(chosen);
    }
    if (!commit) {
      // Only optional files were asked for and none exists: nothing told us the commit.
      throw new BackendFatalError(`model ${repoId} (revision "${revision}") on ${env.endpoint} has none of the requested files`, HubErrorCode.notFound);
    }
    return { commit, folder: snapshotDir(repo, commit), files };
  }
}

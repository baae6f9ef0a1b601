/**
 * The on-disk layout huggingface_hub uses, so a model fetched by Python is reused here and one fetched here
 * is usable from Python:
 *
 *   <cache>/models--org--name/
 *     blobs/<etag>                             file contents, named by the Hub's ETag (sha256 for LFS files)
 *     refs/<branch>                            the commit a branch pointed to when last resolved
 *     snapshots/<commit>/<path>                relative symlinks into blobs/
 *     .no_exist/<commit>/<path>                empty marker: this file does not exist at that commit
 *
 * Every write goes to a unique temporary name first and is renamed into place, so a crash or a concurrent
 * process never leaves a half-written file under a name that readers trust.
 *
 * Commit hashes, ETags and file paths come from the server and the user, and become file names here: each
 * is checked before it does (see isRepoPath, isCommitHash, normalizeEtag), and every path written is checked
 * to lie inside the repository's cache folder, so a hostile HF_ENDPOINT cannot write anywhere else.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BackendFatalError } from '../errors.js';
import { HubErrorCode } from './errors.js';
import { exists } from '../core/fs.js';

const COMMIT_HASH = /^[0-9a-f]{40}$/;

export function isCommitHash(revision: string): boolean {
  return COMMIT_HASH.test(revision);
}

/**
 * A file path inside a repository as the Hub spells them: '/'-separated segments, none empty, '.' or '..',
 * no backslash or NUL, not absolute.
 */
export function isRepoPath(repoPath: string): boolean {
  return (
    repoPath.length > 0 &&
    !/[\\\0]/.test(repoPath) &&
    !path.isAbsolute(repoPath) &&
    repoPath.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..')
  );
}

/** A path under the repository's cache folder, or a refusal: nothing is ever written outside it. */
function inside(repo: RepoCache, p: string): string {
  const rel = path.relative(repo.dir, p);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new BackendFatalError(`refusing to write ${p}: it is outside the Hugging Face cache folder ${repo.dir}`, HubErrorCode.response);
  }
  return p;
}

/**
 * As inside(), once the folder that will hold `p` exists, with symlinks resolved: a folder inside the
 * cache that links elsewhere does not let a write out either.
 */
async function reallyInside(repo: RepoCache, p: string): Promise<string> {
  const [root, dir] = await Promise.all([fs.realpath(repo.dir), fs.realpath(path.dirname(p))]);
  const rel = path.relative(root, path.join(dir, path.basename(p)));
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new BackendFatalError(`refusing to write ${p}: through a symlink it lies outside the Hugging Face cache folder ${repo.dir}`, HubErrorCode.response);
  }
  return p;
}

/** Makes the folder that will hold `file` (inside the repository's cache folder), then checks it really is there. */
async function prepareWrite(repo: RepoCache, file: string): Promise<string> {
  inside(repo, file);
  await fs.mkdir(path.dirname(file), { recursive: true });
  return reallyInside(repo, file);
}

/** `org/name` → `models--org--name`, exactly as huggingface_hub's `repo_folder_name`. */
export function repoFolderName(repoId: string): string {
  return ['models', ...repoId.split('/')].join('--');
}

export interface RepoCache {
  /** `<cache>/models--org--name` */
  dir: string;
}

export function repoCache(cacheDir: string, repoId: string): RepoCache {
  return { dir: path.join(cacheDir, repoFolderName(repoId)) };
}

function checkedCommit(commit: string): string {
  if (!isCommitHash(commit)) throw new BackendFatalError(`"${commit}" is not a commit hash; refusing to use it as a cache folder name`, HubErrorCode.response);
  return commit;
}

export function snapshotDir(repo: RepoCache, commit: string): string {
  return path.join(repo.dir, 'snapshots', checkedCommit(commit));
}

/** Repo file paths always use '/', whatever the platform. */
function localPath(root: string, repoPath: string): string {
  if (!isRepoPath(repoPath)) throw new BackendFatalError(`"${repoPath}" is not a file path inside a repository`, HubErrorCode.notFound);
  return path.join(root, ...repoPath.split('/'));
}

export function snapshotFile(repo: RepoCache, commit: string, repoPath: string): string {
  return localPath(snapshotDir(repo, commit), repoPath);
}

function noExistFile(repo: RepoCache, commit: string, repoPath: string): string {
  return localPath(path.join(repo.dir, '.no_exist', checkedCommit(commit)), repoPath);
}

/** `etag` as normalizeEtag leaves it: no separators, not '.' or '..'. */
export function blobPath(repo: RepoCache, etag: string): string {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(etag) || /^\.+$/.test(etag)) throw new BackendFatalError(`"${etag}" cannot name a blob in the cache`, HubErrorCode.response);
  return path.join(repo.dir, 'blobs', etag);
}

/** refs/<revision>: the revision was checked by resolveHubFiles to be a branch or tag name. */
function refFile(repo: RepoCache, revision: string): string {
  return inside(repo, path.join(repo.dir, 'refs', ...revision.split('/')));
}

/** The commit a revision names: itself if it is a commit hash, else what refs/<revision> recorded. */
export async function readRef(repo: RepoCache, revision: string): Promise<string | undefined> {
  if (isCommitHash(revision)) return revision;
  try {
    const commit = (await fs.readFile(refFile(repo, revision), 'utf8')).trim();
    return isCommitHash(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRef(repo: RepoCache, revision: string, commit: string): Promise<void> {
  if (isCommitHash(revision)) return;
  const file = refFile(repo, revision);
  checkedCommit(commit);
  const current = await readRef(repo, revision);
  if (current === commit) return;
  await prepareWrite(repo, file);
  const tmp = tempName(file);
  await fs.writeFile(tmp, commit);
  await fs.rename(tmp, file);
}

export type CachedState = { state: 'present'; file: string } | { state: 'missing' } | { state: 'unknown' };

/** What the cache knows about one file at one commit. */
export async function cachedFile(repo: RepoCache, commit: string, repoPath: string): Promise<CachedState> {
  const file = snapshotFile(repo, commit, repoPath);
  if (await exists(file)) return { state: 'present', file };
  if (await exists(noExistFile(repo, commit, repoPath))) return { state: 'missing' };
  return { state: 'unknown' };
}

export async function markMissing(repo: RepoCache, commit: string, repoPath: string): Promise<void> {
  const file = await prepareWrite(repo, noExistFile(repo, commit, repoPath));
  // 'wx': whatever is already there (a marker, a file, a symlink) is left as it is, never truncated or followed.
  try {
    await (await fs.open(file, 'wx')).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

export async function hasBlob(repo: RepoCache, etag: string): Promise<boolean> {
  return exists(blobPath(repo, etag));
}

/** A sibling name no other process or call will pick. */
export function tempName(target: string): string {
  return `${target}.${process.pid}.${randomBytes(4).toString('hex')}.incomplete`;
}

/**
 * Point snapshots/<commit>/<path> at blobs/<etag> with a relative symlink (what huggingface_hub does, so the
 * cache folder can be moved). Where symlinks are not allowed (Windows without developer mode) the blob is
 * copied instead, as huggingface_hub also does.
 */
export async function linkSnapshotFile(repo: RepoCache, commit: string, repoPath: string, etag: string): Promise<string> {
  const target = await prepareWrite(repo, snapshotFile(repo, commit, repoPath));
  const blob = inside(repo, blobPath(repo, etag));
  const tmp = tempName(target);
  try {
    await fs.symlink(path.relative(path.dirname(target), blob), tmp);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EACCES') throw err;
    await fs.copyFile(blob, tmp);
  }
  try {
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  return target;
}

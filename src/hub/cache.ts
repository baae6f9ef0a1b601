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
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

const COMMIT_HASH = /^[0-9a-f]{40}$/;

export function isCommitHash(revision: string): boolean {
  return COMMIT_HASH.test(revision);
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

export function snapshotDir(repo: RepoCache, commit: string): string {
  return path.join(repo.dir, 'snapshots', commit);
}

/** Repo file paths always use '/', whatever the platform. */
function localPath(root: string, repoPath: string): string {
  return path.join(root, ...repoPath.split('/'));
}

export function snapshotFile(repo: RepoCache, commit: string, repoPath: string): string {
  return localPath(snapshotDir(repo, commit), repoPath);
}

function noExistFile(repo: RepoCache, commit: string, repoPath: string): string {
  return localPath(path.join(repo.dir, '.no_exist', commit), repoPath);
}

export function blobPath(repo: RepoCache, etag: string): string {
  return path.join(repo.dir, 'blobs', etag);
}

async function exists(p: string): Promise<boolean> {
  try {
    // stat, not lstat: a snapshot symlink whose blob is gone is as good as missing.
    await fs.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** The commit a revision names: itself if it is a commit hash, else what refs/<revision> recorded. */
export async function readRef(repo: RepoCache, revision: string): Promise<string | undefined> {
  if (isCommitHash(revision)) return revision;
  try {
    const commit = (await fs.readFile(path.join(repo.dir, 'refs', ...revision.split('/')), 'utf8')).trim();
    return isCommitHash(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRef(repo: RepoCache, revision: string, commit: string): Promise<void> {
  if (isCommitHash(revision)) return;
  const file = path.join(repo.dir, 'refs', ...revision.split('/'));
  const current = await readRef(repo, revision);
  if (current === commit) return;
  await fs.mkdir(path.dirname(file), { recursive: true });
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
  const file = noExistFile(repo, commit, repoPath);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, '');
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
  const target = snapshotFile(repo, commit, repoPath);
  const blob = blobPath(repo, etag);
  await fs.mkdir(path.dirname(target), { recursive: true });
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

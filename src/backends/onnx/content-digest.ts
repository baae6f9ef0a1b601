/**
 * A model's identity by content: the sha256 of its ONNX file and its config.json, so a file replaced in
 * place (same name) is noticed on resume. Hashing a 260 MB DistilBERT costs ~0.5 s, so digests are cached
 * by path, size and mtime in one small JSON file in the user's cache folder (XDG_CACHE_HOME or
 * ~/.cache, batchlabel/model-digests.json): never in the model folder, which may be read-only or shared,
 * and not next to the checkpoint, which the classifier does not know. A cache that cannot be read or
 * written only costs the hash again.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

interface Entry {
  size: number;
  mtimeMs: number;
  sha256: string;
}

function cacheFile(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'batchlabel', 'model-digests.json');
}

async function readCache(file: string): Promise<Record<string, Entry>> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Entry>) : {};
  } catch {
    return {};
  }
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The sha256 of each file (in order), from the cache when size and mtime are unchanged. */
export async function contentDigests(files: readonly string[]): Promise<string[]> {
  const file = cacheFile();
  const cache = await readCache(file);
  let changed = false;
  const out: string[] = [];
  for (const f of files) {
    const real = path.resolve(f);
    const st = await stat(real);
    const hit = cache[real];
    if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) {
      out.push(hit.sha256);
      continue;
    }
    const sha256 = await sha256Of(real);
    cache[real] = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
    changed = true;
    out.push(sha256);
  }
  if (changed) {
    try {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(cache));
      await rename(tmp, file);
    } catch {
      // No cache folder: the next run hashes again.
    }
  }
  return out;
}

/** One digest for the model: its ONNX file and its config.json. */
export async function modelDigest(onnxPath: string, folder: string): Promise<string> {
  const [onnx, config] = await contentDigests([onnxPath, path.join(folder, 'config.json')]);
  return createHash('sha256').update(`${onnx}\n${config}`).digest('hex');
}

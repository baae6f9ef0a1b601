/**
 * `--push-to-hub <owner>/<name>`: the scored export as a commit to a dataset repository, with a short
 * dataset card. The Hub's upload protocol, as huggingface_hub and huggingface.js speak it:
 *   1. POST /api/repos/create (409 when it exists: fine);
 *   2. POST /api/datasets/<id>/preupload/<rev> says per file whether it goes inline or through LFS;
 *   3. LFS files: POST <id>.git/info/lfs/objects/batch, then PUT the bytes where it says (a storage host:
 *      no token goes there) and POST verify when asked;
 *   4. POST /api/datasets/<id>/commit/<rev>, NDJSON: a header line, then one line per file (inline files
 *      base64 in the line, LFS files by sha256 and size).
 * The token goes in the Authorization header to the Hub's origin only; it is never in the card, a
 * message or a log line.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { BatchlabelError, UsageError } from '../errors.js';
import type { ExportSummary } from '../export/output-file.js';
import type { JobSettings } from '../job/settings.js';
import type { Checkpoint } from '../store/checkpoint.js';
import { hubApi, apiHeaders, type ApiAnswer } from './api.js';
import { readHubEnv, type HubEnv } from './env.js';
import { isHubRepoId } from './resolve.js';

export interface PushFile {
  /** Path in the repository. */
  repoPath: string;
  /** Local file to upload, or the content itself. */
  local?: string;
  content?: Buffer;
}

export interface PushOptions {
  repoId: string;
  private: boolean;
  files: PushFile[];
  summary: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface PushResult {
  repoUrl: string;
  commitUrl: string;
  commit: string;
}

/** The upload failed; the export itself is complete on disk. */
export class PushError extends BatchlabelError {
  constructor(message: string) {
    super(message, 'E_PUSH');
  }
}

/** Checked before a run starts, so a night of labeling does not end in a push that could never work. */
export function checkPushTarget(repoId: string, processEnv: NodeJS.ProcessEnv = process.env): HubEnv {
  if (!isHubRepoId(repoId) || !repoId.includes('/')) throw new UsageError(`--push-to-hub takes <owner>/<name>, got ${JSON.stringify(repoId)}.`);
  const env = readHubEnv(processEnv);
  if (env.offline) throw new UsageError('--push-to-hub cannot upload with HF_HUB_OFFLINE=1 set.');
  if (!env.token) throw new UsageError('--push-to-hub needs a token with write access: set HF_TOKEN (or log in with `hf auth login`).');
  return env;
}

export async function pushToHub(opts: PushOptions): Promise<PushResult> {
  const env = checkPushTarget(opts.repoId, opts.env);
  const [organization, name] = opts.repoId.split('/') as [string, string];
  const id = opts.repoId;
  const call = (url: string, what: string, body?: unknown, contentType = 'application/json') =>
    checked(env, id, what, hubApi(env, url, { method: body === undefined ? 'GET' : 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), contentType, signal: opts.signal }));

  const create = await hubApi(env, `${env.endpoint}/api/repos/create`, {
    method: 'POST',
    body: JSON.stringify({ name, organization, type: 'dataset', private: opts.private }),
    contentType: 'application/json',
    signal: opts.signal,
  });
  if (create.status !== 409) await checked(env, id, 'create the dataset repository', Promise.resolve(create));

  const infos = await Promise.all(opts.files.map(fileInfo));
  const pre = await call(`${env.endpoint}/api/datasets/${id}/preupload/main`, 'prepare the upload', {
    files: infos.map((f) => ({ path: f.repoPath, size: f.size, sample: f.sample.toString('base64') })),
  });
  const modes = new Map(((pre.json as { files?: { path: string; uploadMode: string }[] })?.files ?? []).map((f) => [f.path, f.uploadMode]));
  const lfs = infos.filter((f) => modes.get(f.repoPath) === 'lfs');
  if (lfs.length) await uploadLfs(env, id, lfs, opts.signal);

  const lines: { key: string; value: Record<string, unknown> }[] = [{ key: 'header', value: { summary: opts.summary, description: '' } }];
  for (const f of infos) {
    if (modes.get(f.repoPath) === 'lfs') lines.push({ key: 'lfsFile', value: { path: f.repoPath, algo: 'sha256', oid: f.sha256, size: f.size } });
    else lines.push({ key: 'file', value: { path: f.repoPath, encoding: 'base64', content: (await f.bytes()).toString('base64') } });
  }
  const commit = await call(`${env.endpoint}/api/datasets/${id}/commit/main`, 'commit the files', lines.map((l) => JSON.stringify(l)).join('\n') + '\n', 'application/x-ndjson');
  const answer = (commit.json ?? {}) as { commitOid?: string; commitUrl?: string };
  return { repoUrl: `${env.endpoint}/datasets/${id}`, commitUrl: answer.commitUrl ?? `${env.endpoint}/datasets/${id}`, commit: answer.commitOid ?? '' };
}

interface FileInfo {
  repoPath: string;
  local?: string;
  size: number;
  sha256: string;
  /** The first 512 bytes, which the Hub uses to tell text from binary. */
  sample: Buffer;
  bytes(): Promise<Buffer>;
}

async function fileInfo(f: PushFile): Promise<FileInfo> {
  if (f.content) {
    const content = f.content;
    return { repoPath: f.repoPath, size: content.length, sha256: createHash('sha256').update(content).digest('hex'), sample: content.subarray(0, 512), bytes: async () => content };
  }
  const local = f.local!;
  const { size } = await stat(local);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(local, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  const fh = await open(local, 'r');
  const sample = Buffer.alloc(Math.min(512, size));
  try {
    await fh.read(sample, 0, sample.length, 0);
  } finally {
    await fh.close();
  }
  return { repoPath: f.repoPath, local, size, sha256: hash.digest('hex'), sample, bytes: () => readFile(local) };
}

interface LfsAction {
  href: string;
  header?: Record<string, string>;
}

async function uploadLfs(env: HubEnv, id: string, files: FileInfo[], signal?: AbortSignal): Promise<void> {
  const { request } = await import('undici');
  const batchUrl = `${env.endpoint}/datasets/${id}.git/info/lfs/objects/batch`;
  const res = await request(batchUrl, {
    method: 'POST',
    headers: apiHeaders(env, batchUrl, { accept: 'application/vnd.git-lfs+json', 'content-type': 'application/vnd.git-lfs+json' }),
    body: JSON.stringify({ operation: 'upload', transfers: ['basic', 'multipart'], hash_algo: 'sha256', ref: { name: 'main' }, objects: files.map((f) => ({ oid: f.sha256, size: f.size })) }),
    signal,
  });
  const text = await res.body.text();
  await checked(env, id, 'start the LFS upload', Promise.resolve({ status: res.statusCode, errorCode: undefined, json: undefined, next: undefined }));
  const answer = JSON.parse(text) as { objects: { oid: string; actions?: { upload?: LfsAction; verify?: LfsAction }; error?: { message: string } }[] };
  for (const obj of answer.objects) {
    const f = files.find((x) => x.sha256 === obj.oid)!;
    if (obj.error) throw new PushError(`${env.endpoint} refused the upload of ${f.repoPath}: ${obj.error.message}`);
    const upload = obj.actions?.upload;
    if (!upload) continue; // already stored
    if (upload.header?.chunk_size !== undefined) await uploadParts(env, f, upload, signal);
    else {
      // A presigned storage URL: the action's own headers, and the token only if it is the Hub's origin.
      await mustSucceed(
        upload.href,
        { method: 'PUT', headers: { ...apiHeaders(env, upload.href), ...upload.header, 'content-length': String(f.size) }, body: f.local ? createReadStream(f.local) : await f.bytes(), signal },
        (status) => `uploading ${f.repoPath} to the Hub's storage failed (HTTP ${status}); run the same command again to retry.`,
      );
    }
    const verify = obj.actions?.verify;
    if (verify) {
      await mustSucceed(
        verify.href,
        { method: 'POST', headers: { ...apiHeaders(env, verify.href, { 'content-type': 'application/vnd.git-lfs+json' }), ...verify.header }, body: JSON.stringify({ oid: f.sha256, size: f.size }), signal },
        (status) => `the Hub could not verify the upload of ${f.repoPath} (HTTP ${status}); run the same command again.`,
      );
    }
  }
}

/**
 * A large file in parts, as the Hub asks for files over its single-upload limit (5 GB on S3): the action's
 * header gives `chunk_size` and one presigned URL per part (keys "00001", "00002", …); each part's ETag
 * goes into the completion POST to the action's href (huggingface_hub's lfs.py _upload_multi_part).
 */
async function uploadParts(env: HubEnv, f: FileInfo, upload: LfsAction, signal?: AbortSignal): Promise<void> {
  const chunk = Number(upload.header!.chunk_size);
  const urls = Object.entries(upload.header!)
    .filter(([k]) => /^\d+$/.test(k))
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, url]) => url);
  if (!(Number.isSafeInteger(chunk) && chunk > 0) || urls.length !== Math.ceil(f.size / chunk)) {
    throw new PushError(`${env.endpoint} answered an upload in parts for ${f.repoPath} that does not add up (${urls.length} parts of ${upload.header!.chunk_size} bytes for ${f.size}); check HF_ENDPOINT.`);
  }
  const bytes = f.local ? undefined : await f.bytes();
  const parts: { partNumber: number; etag: string }[] = [];
  for (const [i, url] of urls.entries()) {
    const start = i * chunk;
    const end = Math.min(f.size, start + chunk);
    const { etag } = await mustSucceed(
      url,
      { method: 'PUT', headers: { ...apiHeaders(env, url), 'content-length': String(end - start) }, body: f.local ? createReadStream(f.local, { start, end: end - 1 }) : bytes!.subarray(start, end), signal },
      (status) => `uploading part ${i + 1} of ${urls.length} of ${f.repoPath} to the Hub's storage failed (HTTP ${status}); run the same command again to retry.`,
    );
    if (typeof etag !== 'string' || etag === '') throw new PushError(`the Hub's storage gave no ETag for part ${i + 1} of ${f.repoPath}; run the same command again to retry.`);
    parts.push({ partNumber: i + 1, etag });
  }
  await mustSucceed(
    upload.href,
    { method: 'POST', headers: apiHeaders(env, upload.href, { accept: 'application/vnd.git-lfs+json', 'content-type': 'application/vnd.git-lfs+json' }), body: JSON.stringify({ oid: f.sha256, parts }), signal },
    (status) => `the Hub could not put together the ${parts.length} parts of ${f.repoPath} (HTTP ${status}); run the same command again.`,
  );
}

type RequestOptions = NonNullable<Parameters<typeof import('undici').request>[1]>;

/** A request whose answer has no body worth reading: a status outside 2xx is a PushError saying `failure(status)`. */
async function mustSucceed(url: string, options: RequestOptions, failure: (status: number) => string): Promise<Record<string, string | string[] | undefined>> {
  const { request } = await import('undici');
  const res = await request(url, options);
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new PushError(failure(res.statusCode));
  return res.headers;
}

async function checked(env: HubEnv, id: string, what: string, p: Promise<ApiAnswer>): Promise<ApiAnswer> {
  let a: ApiAnswer;
  try {
    a = await p;
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string }; message?: string };
    throw new PushError(`cannot reach ${env.endpoint} to ${what} for ${id} (${e.cause?.code ?? e.code ?? e.message}); check the connection or HF_ENDPOINT.`);
  }
  if (a.status >= 200 && a.status < 300) return a;
  if (a.status === 401 || a.status === 403) {
    throw new PushError(`${env.endpoint} refused the token to ${what} for ${id} (HTTP ${a.status}): it must be a write token of ${id.split('/')[0]} or one of its organizations.`);
  }
  const message = (a.json as { error?: string } | undefined)?.error;
  throw new PushError(`${env.endpoint} could not ${what} for ${id} (HTTP ${a.status}${message ? `: ${message}` : ''}).`);
}

export interface CardFacts {
  repoId: string;
  dataFile: string;
  model: string;
  backend: string;
  labels: string[];
  rows: number;
  labeled: number;
  failed: number;
  source: string;
  command: string;
  date: Date;
}

/** Tokens that look like Hugging Face's, whatever their source: a card is public. */
export function redactTokens(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text.replace(/hf_[A-Za-z0-9]{8,}/g, 'hf_***');
  const token = readHubEnv(env).token;
  if (token) out = out.split(token).join('***');
  return out;
}

/** README.md with YAML front matter the Hub reads (its data files, task, tags) and what batchlabel did. */
export function datasetCard(f: CardFacts, env: NodeJS.ProcessEnv = process.env): string {
  const y = (s: string) => JSON.stringify(s);
  const card = [
    '---',
    'task_categories:',
    '- text-classification',
    'tags:',
    '- batchlabel',
    'configs:',
    '- config_name: default',
    '  data_files:',
    '  - split: train',
    `    path: ${y(f.dataFile)}`,
    '---',
    '',
    `# ${f.repoId.split('/')[1]}`,
    '',
    `Labeled with batchlabel on ${f.date.toISOString().slice(0, 10)}.`,
    '',
    `- Model: \`${f.model}\` (${f.backend === 'onnx' ? 'local ONNX' : 'Hugging Face Inference API'})`,
    '- Task: text-classification',
    `- Labels: ${f.labels.length ? f.labels.map((l) => `\`${l}\``).join(', ') : '(none)'}`,
    `- Rows: ${f.rows.toLocaleString('en-US')} (${f.labeled.toLocaleString('en-US')} labeled, ${f.failed.toLocaleString('en-US')} failed)`,
    `- Source: \`${f.source}\``,
    `- Date: ${f.date.toISOString()}`,
    '',
    'Command:',
    '',
    '```sh',
    f.command,
    '```',
    '',
  ].join('\n');
  return redactTokens(card, env);
}

/** The repository path of the export: `data/<its file name>`. */
export function dataPath(output: string): string {
  return `data/${path.basename(output)}`;
}

/**
 * Uploads a finished export of a job with its card: the library side of `--push-to-hub`. `command` is the
 * batchlabel command line the card shows (tokens are redacted from it anyway).
 */
export async function pushExport(
  store: Checkpoint,
  settings: JobSettings,
  exported: { output: string; summary: ExportSummary },
  target: { repoId: string; private: boolean; command: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<PushResult> {
  const env = target.env ?? process.env;
  const dataFile = dataPath(exported.output);
  const card = datasetCard(
    {
      repoId: target.repoId,
      dataFile,
      model: settings.model ?? (settings.hf.endpoint ? new URL(settings.hf.endpoint).host : 'unknown'),
      backend: settings.backend,
      labels: store.labels(),
      rows: exported.summary.rows,
      labeled: exported.summary.labeled,
      failed: exported.summary.failed,
      source: settings.input.startsWith('hf://') ? settings.input : path.basename(settings.input),
      command: target.command,
      date: new Date(),
    },
    env,
  );
  return pushToHub({
    repoId: target.repoId,
    private: target.private,
    summary: `batchlabel: ${exported.summary.labeled.toLocaleString('en-US')} rows labeled with ${settings.model ?? 'an endpoint'}`,
    files: [
      { repoPath: 'README.md', content: Buffer.from(card) },
      { repoPath: dataFile, local: exported.output },
    ],
    env,
    signal: target.signal,
  });
}

/**
 * Test helpers for the local backend: the shared models and dataset (read in place from ../shared, never
 * copied into the repository), a temporary Hugging Face cache holding them, a loopback server that answers
 * like the Hub, and the transformers.js reference used by the fidelity test and bench/fidelity.ts.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import type { ClassifierContext, Prediction } from '../../src/backends/classifier.js';
import type { JobSettings } from '../../src/job/settings.js';
import { resolveSettings } from '../../src/job/resolve.js';

/** The repository root, found from this file (dist/test/support/ after compilation, test/support/ before). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export const SHARED = path.resolve(repoRoot(), '..', 'shared');
export const BOW = 'selftrained-bow-bigram-sst2-imdb';
export const INT8 = 'distilbert-shape-random-int8';
export const sharedModel = (name: string) => path.join(SHARED, 'models', name);
export const IMDB_CSV = path.join(SHARED, 'datasets', 'imdb-train', 'imdb_train.csv');
/** The Hub id the tests give the shared models inside the temporary cache. */
export const hubId = (name: string) => `batchlabel-test/${name}`;
export const FAKE_COMMIT = 'c0ffee0000000000000000000000000000000001';

export interface ImdbRow {
  id: string;
  label: string;
  text: string;
}

/** The first `limit` reviews (all when undefined), in file order. */
export function readImdb(limit?: number): ImdbRow[] {
  const rows = parse(fs.readFileSync(IMDB_CSV), { columns: true, to: limit }) as Record<string, string>[];
  return rows.map((r) => ({ id: r.id!, label: r.label!, text: r.text! }));
}

/** Every file of a model folder, as repository paths ('/'-separated). */
export function modelFiles(folder: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(folder, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}

export async function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), `batchlabel-${prefix}-`));
}

/**
 * A Hugging Face cache at `cacheDir` holding the shared models under hubId(name), laid out like
 * huggingface_hub lays it out. The blobs are symlinks to the read-only shared files (cheap, and nothing
 * writes through them).
 */
export async function seedHubCache(cacheDir: string, names: readonly string[] = [BOW, INT8]): Promise<void> {
  for (const name of names) {
    const src = sharedModel(name);
    const repo = path.join(cacheDir, `models--${hubId(name).replace('/', '--')}`);
    await fsp.mkdir(path.join(repo, 'blobs'), { recursive: true });
    await fsp.mkdir(path.join(repo, 'refs'), { recursive: true });
    await fsp.writeFile(path.join(repo, 'refs', 'main'), FAKE_COMMIT);
    for (const file of modelFiles(src)) {
      const etag = createHash('sha256').update(`${name}/${file}`).digest('hex');
      const blob = path.join(repo, 'blobs', etag);
      if (!fs.existsSync(blob)) await fsp.symlink(path.join(src, file), blob);
      const link = path.join(repo, 'snapshots', FAKE_COMMIT, ...file.split('/'));
      await fsp.mkdir(path.dirname(link), { recursive: true });
      await fsp.symlink(path.relative(path.dirname(link), blob), link);
    }
  }
}

/** JobSettings for the onnx backend: the CLI's own defaults (resolveSettings), then the test's overrides. */
export function onnxSettings(overrides: Omit<Partial<JobSettings>, 'onnx'> & { onnx?: Partial<JobSettings['onnx']> } = {}): JobSettings {
  const { onnx, ...rest } = overrides;
  const base = resolveSettings({ input: '/dev/null', format: 'csv', backend: 'onnx', maxRetries: 0 });
  return { ...base, ...rest, onnx: { ...base.onnx, ...onnx } };
}

export interface TestContext extends ClassifierContext {
  notices: string[];
  abort: AbortController;
}

export function testContext(): TestContext {
  const abort = new AbortController();
  const notices: string[] = [];
  return {
    abort,
    notices,
    signal: abort.signal,
    events: { notice: (m) => void notices.push(m) },
    queue: { concurrency: 2, maxConcurrency: 2, setConcurrency: () => {}, pauseFor: () => {} },
  };
}

// ---------------------------------------------------------------------------------------------------------
// A loopback Hub

export interface HubRequest {
  method: string;
  url: string;
  server: 'hub' | 'cdn';
  authorization: string | undefined;
  range?: string;
}

export interface FakeHubOptions {
  /** repo id → model folder served as its `main` at FAKE_COMMIT. */
  repos: Record<string, string>;
  /** Require this bearer token (401 otherwise, as for a private repo). */
  token?: string;
  /** Answer the next N GETs of LFS bytes with 500. */
  failGets?: number;
  /** Drop the connection halfway through the next N LFS bodies. */
  truncateGets?: number;
  /** Answer a Range request with the whole file (200), as a server without range support does. */
  ignoreRange?: boolean;
}

export interface FakeHub {
  /** HF_ENDPOINT value. */
  url: string;
  requests: HubRequest[];
  options: FakeHubOptions;
  close(): Promise<void>;
}

const isLfs = (file: string) => file.endsWith('.onnx');

/** The first byte of a `Range: bytes=N-` inside the file; 0 for no range (or one this server does not serve). */
export function rangeStart(range: string | undefined, size: number): number {
  const m = /^bytes=(\d+)-$/.exec(range ?? '');
  return m && Number(m[1]) < size ? Number(m[1]) : 0;
}
const gitEtag = (bytes: Buffer) => createHash('sha1').update(bytes).digest('hex');
const lfsEtag = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Answers like huggingface.co: small files straight from /<repo>/resolve/<rev>/<file> with an ETag, LFS
 * files (.onnx here) as a 302 to a CDN on another origin with X-Linked-Etag/X-Linked-Size, 401
 * RepoNotFound for unknown repositories, 404 EntryNotFound / RevisionNotFound, X-Repo-Commit everywhere.
 */
export async function startFakeHub(options: FakeHubOptions): Promise<FakeHub> {
  const requests: HubRequest[] = [];
  const blobs = new Map<string, Buffer>();
  const cdn = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', server: 'cdn', authorization: req.headers.authorization, range: req.headers.range });
    const bytes = blobs.get((req.url ?? '').split('?')[0]!.replace(/^\/blob\//, ''));
    if (!bytes) return void res.writeHead(404).end();
    if (req.method === 'GET' && options.failGets) {
      options.failGets--;
      return void res.writeHead(500).end('boom');
    }
    // A CDN answers a Range from the first byte asked for (206), as S3 and CloudFront do.
    const from = req.method === 'GET' && !options.ignoreRange ? rangeStart(req.headers.range, bytes.length) : 0;
    const body = bytes.subarray(from);
    res.writeHead(from > 0 ? 206 : 200, { 'content-length': body.length, ...(from > 0 ? { 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` } : {}) });
    if (req.method === 'HEAD') return void res.end();
    if (options.truncateGets) {
      options.truncateGets--;
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
  const cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;

  const hub = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', server: 'hub', authorization: req.headers.authorization });
    const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(decodeURIComponent((req.url ?? '').split('?')[0]!));
    const folder = m ? options.repos[m[1]!] : undefined;
    if (!m || !folder) return void res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end('Repository not found');
    if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
      return void res.writeHead(401).end('Invalid credentials in Authorization header');
    }
    const [, , revision, file] = m as unknown as [string, string, string, string];
    if (revision !== 'main' && revision !== FAKE_COMMIT) return void res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end();
    const full = path.join(folder, ...file.split('/'));
    if (file.includes('..') || !fs.existsSync(full)) {
      return void res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': FAKE_COMMIT }).end();
    }
    const bytes = fs.readFileSync(full);
    if (isLfs(file)) {
      const sha = lfsEtag(bytes);
      blobs.set(sha, bytes);
      res.writeHead(302, {
        location: `${cdnUrl}/blob/${sha}?signature=x`,
        'x-repo-commit': FAKE_COMMIT,
        'x-linked-etag': `"${sha}"`,
        'x-linked-size': String(bytes.length),
        etag: '"not-the-blob-name"',
      });
      return void res.end();
    }
    res.writeHead(200, { 'x-repo-commit': FAKE_COMMIT, etag: `"${gitEtag(bytes)}"`, 'content-length': bytes.length });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  });
  await new Promise<void>((r) => hub.listen(0, '127.0.0.1', r));
  const close = (s: http.Server) =>
    new Promise<void>((r) => {
      s.closeAllConnections();
      s.close(() => r());
    });
  return {
    url: `http://127.0.0.1:${(hub.address() as AddressInfo).port}`,
    requests,
    options,
    close: async () => {
      await Promise.all([close(hub), close(cdn)]);
    },
  };
}

/** A sink that records what would have gone to stderr. */
export function captureSink(isTTY = false): { write(t: string): void; isTTY: boolean; text: () => string } {
  let buf = '';
  return { isTTY, write: (t) => void (buf += t), text: () => buf };
}

// ---------------------------------------------------------------------------------------------------------
// transformers.js reference

export interface ReferenceRow {
  /** Tokens transformers.js produces before truncation, special tokens included. */
  fullLength: number;
  /** All labels, best first. */
  predictions: Prediction[];
  /** How the reference was obtained. */
  via: 'pipeline' | 'python-ids';
  /** For over-long rows: transformers.js' own truncated ids did not end with [SEP]. */
  droppedSep?: boolean;
}

function softmax(row: ArrayLike<number>): number[] {
  const max = Math.max(...Array.from(row));
  const e = Array.from(row, (x) => Math.exp(x - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/**
 * The @huggingface/transformers text-classification pipeline on a local folder, offline. Rows that fit
 * are classified by the pipeline itself (in calls of `callSize` texts). Rows over the limit are checked
 * for transformers.js' truncation (cut at max length, final [SEP] lost) and then scored by the same
 * transformers.js model on ids built the Python way: [CLS] + first (max - 2) text tokens + [SEP].
 */
export async function transformersJsReference(folder: string, texts: readonly string[], callSize: number): Promise<ReferenceRow[]> {
  const tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  tjs.env.logLevel = tjs.LogLevel.ERROR;
  tjs.env.localModelPath = path.dirname(folder) + path.sep;
  const name = path.basename(folder);
  const raw = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
  const options: Record<string, unknown> = { dtype: fs.existsSync(path.join(folder, 'onnx', 'model_quantized.onnx')) ? 'q8' : 'fp32' };
  if (raw.model_type === 'custom_bow_bigram') {
    // transformers.js refuses model types it does not know; the BoW graph takes the same inputs as
    // DistilBERT, so load it under that class (the ONNX file and tokenizer are untouched).
    const config = await tjs.AutoConfig.from_pretrained(name);
    Object.assign(config, { model_type: 'distilbert', architectures: ['DistilBertForSequenceClassification'] });
    options.config = config;
  }
  const pipe = (await tjs.pipeline('text-classification', name, options)) as unknown as {
    (texts: string[], o: { top_k: null }): Promise<Prediction[][]>;
    tokenizer: {
      (t: string, o: Record<string, unknown>): { input_ids: { data: BigInt64Array; dims: number[] } };
      model_max_length: number;
    };
    model: (feeds: Record<string, unknown>) => Promise<{ logits: { data: Float32Array } }>;
    dispose(): Promise<void>;
  };
  const max = pipe.tokenizer.model_max_length;
  const config = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as { id2label: Record<string, string> };
  const out = new Array<ReferenceRow>(texts.length);
  const fits: number[] = [];
  for (let i = 0; i < texts.length; i++) {
    const whole = pipe.tokenizer(texts[i]!, { truncation: false }).input_ids;
    const full = whole.dims[1]!;
    if (full <= max) {
      fits.push(i);
      out[i] = { fullLength: full, predictions: [], via: 'pipeline' };
      continue;
    }
    // BERT's template: one [CLS] in front, one [SEP] at the end.
    const cls = Number(whole.data[0]);
    const sep = Number(whole.data[full - 1]);
    const cut = pipe.tokenizer(texts[i]!, { truncation: true }).input_ids;
    const droppedSep = cut.dims[1] === max && Number(cut.data[max - 1]) !== sep;
    const body = Array.from(pipe.tokenizer(texts[i]!, { add_special_tokens: false, truncation: false }).input_ids.data, Number).slice(0, max - 2);
    const ids = [cls, ...body, sep];
    const { logits } = await pipe.model({
      input_ids: new tjs.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
      attention_mask: new tjs.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
    });
    const scores = softmax(logits.data);
    const predictions = scores.map((score, j) => ({ label: config.id2label[String(j)] ?? `LABEL_${j}`, score })).sort((a, b) => b.score - a.score);
    out[i] = { fullLength: full, predictions, via: 'python-ids', droppedSep };
  }
  for (let k = 0; k < fits.length; k += callSize) {
    const idx = fits.slice(k, k + callSize);
    const res = await pipe(idx.map((i) => texts[i]!), { top_k: null });
    idx.forEach((i, j) => (out[i]!.predictions = res[j]!));
  }
  await pipe.dispose();
  return out;
}

export interface FidelityReport {
  rows: number;
  viaPipeline: number;
  viaPythonIds: number;
  /** Over-long rows where transformers.js' own truncation lost the final [SEP]. */
  droppedSep: number;
  maxScoreDiff: number;
  labelMismatches: number;
  truncatedFlagMismatches: number;
  /** Row indices whose scores differ by more than the tolerance, or whose labels differ. */
  failures: number[];
}

export function compareWithReference(
  ours: readonly { ok: boolean; predictions?: Prediction[]; truncated?: boolean }[],
  ref: readonly ReferenceRow[],
  maxLength: number,
  tolerance = 1e-5,
): FidelityReport {
  const report: FidelityReport = { rows: ref.length, viaPipeline: 0, viaPythonIds: 0, droppedSep: 0, maxScoreDiff: 0, labelMismatches: 0, truncatedFlagMismatches: 0, failures: [] };
  ref.forEach((r, i) => {
    const o = ours[i]!;
    if (r.via === 'pipeline') report.viaPipeline++;
    else report.viaPythonIds++;
    if (r.droppedSep) report.droppedSep++;
    if ((o.truncated === true) !== r.fullLength > maxLength) report.truncatedFlagMismatches++;
    const mine = o.ok ? (o.predictions ?? []) : [];
    let bad = mine.length !== r.predictions.length || mine[0]?.label !== r.predictions[0]?.label;
    if (mine[0]?.label !== r.predictions[0]?.label) report.labelMismatches++;
    for (const p of r.predictions) {
      const m = mine.find((x) => x.label === p.label);
      const d = m ? Math.abs(m.score - p.score) : Infinity;
      report.maxScoreDiff = Math.max(report.maxScoreDiff, d);
      if (!(d <= tolerance)) bad = true;
    }
    if (bad) report.failures.push(i);
  });
  return report;
}

/**
 * Hub resolution against a loopback server that answers like huggingface.co (HF_ENDPOINT), with the real
 * shared BoW model as the repository content: the cache layout Python expects, one HEAD per cached run,
 * HF_HUB_OFFLINE, tokens, CDN redirects, retries, atomic downloads and the error lines.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { hubCacheDir, readHubEnv } from '../src/hub/env.js';
import { fileProgress } from '../src/hub/progress.js';
import { resolveHubFiles, type FileRequest } from '../src/hub/resolve.js';
import { createOnnxClassifier } from '../src/backends/onnx/index.js';
import { onnxCandidates } from '../src/backends/onnx/model-folder.js';
import { BackendFatalError } from '../src/errors.js';
import { BOW, FAKE_COMMIT, captureSink, modelFiles, onnxSettings, sharedModel, startFakeHub, tempDir, testContext, type FakeHub } from './support/onnx-models.js';

const REPO = 'acme/sentiment';
const MODEL_FILES: FileRequest[] = [
  { anyOf: ['config.json'] },
  { anyOf: ['tokenizer.json'] },
  { anyOf: ['tokenizer_config.json'], optional: true },
  { anyOf: onnxCandidates('cpu') },
];

let hub: FakeHub;
const temps: string[] = [];

before(async () => {
  hub = await startFakeHub({ repos: { [REPO]: sharedModel(BOW) } });
});
after(async () => {
  await hub.close();
  await Promise.all(temps.map((t) => fsp.rm(t, { recursive: true, force: true })));
});
afterEach(() => {
  hub.requests.length = 0;
  hub.options.token = undefined;
});

async function freshCache(): Promise<string> {
  const dir = await tempDir('hubcache');
  temps.push(dir);
  return dir;
}

function env(cache: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.url, ...extra };
}

async function fatal(p: Promise<unknown>): Promise<BackendFatalError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BackendFatalError, String(err));
    assert.doesNotMatch(err.message, /\n/);
    return err;
  }
  assert.fail('expected a BackendFatalError');
}

test('cache location follows HF_HUB_CACHE, then HF_HOME/hub, then XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/a', HF_HOME: '/b' }), '/a');
  assert.equal(hubCacheDir({ HF_HOME: '/b' }), path.join('/b', 'hub'));
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/x' }), path.join('/x', 'huggingface', 'hub'));
  assert.match(hubCacheDir({}), /\.cache[/\\]huggingface[/\\]hub$/);
  const e = readHubEnv({ HF_ENDPOINT: 'http://h:1/', HF_HUB_OFFLINE: 'true', HF_TOKEN: 't' });
  assert.deepEqual([e.endpoint, e.offline, e.token], ['http://h:1', true, 't']);
  assert.equal(readHubEnv({ HF_HUB_OFFLINE: '0' }).offline, false);
});

test('without HF_TOKEN, the Hub gets the token that `hf auth login` saved', (t) => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'batchlabel-home-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  assert.equal(readHubEnv({ HOME: home }).token, undefined);
  fs.mkdirSync(path.join(home, '.cache', 'huggingface'), { recursive: true });
  fs.writeFileSync(path.join(home, '.cache', 'huggingface', 'token'), 'hf_saved123\n');
  assert.equal(readHubEnv({ HOME: home }).token, 'hf_saved123');
  assert.equal(readHubEnv({ HOME: home, HF_TOKEN: 'hf_env456' }).token, 'hf_env456');
  assert.equal(readHubEnv({}).token, undefined, 'no HOME in the environment: no token file');
});

test('on a terminal the progress line redraws in place, throttled', () => {
  const sink = captureSink(true);
  let now = 0;
  const p = fileProgress(sink, 'org/m/onnx/model.onnx', 4 * 1024 * 1024, () => now);
  now = 100;
  p.update(1024 * 1024); // within the redraw interval: not drawn
  now = 1000;
  p.update(2 * 1024 * 1024);
  now = 2000;
  p.update(4 * 1024 * 1024);
  p.done();
  const frames = sink.text().split('\r').filter(Boolean);
  assert.equal(frames.length, 4);
  assert.match(frames[1]!, /^downloading org\/m\/onnx\/model\.onnx: 2\.0 MB \/ 4\.0 MB 50% 2\.0 MB\/s\x1b\[K$/);
  assert.match(frames[3]!, /^downloaded org\/m\/onnx\/model\.onnx \(4\.0 MB in 2\.0 s\)\x1b\[K\n$/);
});

test('first run downloads into the huggingface_hub layout; the next run costs one HEAD; offline costs none', async () => {
  const cache = await freshCache();
  const sink = captureSink();
  const snap = await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache), sink });
  const repoDir = path.join(cache, 'models--acme--sentiment');
  assert.equal(snap.commit, FAKE_COMMIT);
  assert.equal(snap.folder, path.join(repoDir, 'snapshots', FAKE_COMMIT));
  assert.deepEqual(snap.files, ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']);
  assert.equal(fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8'), FAKE_COMMIT);

  // Relative symlinks into blobs/, the ONNX blob named by its sha256 (X-Linked-Etag), as Python does.
  const onnxLink = path.join(snap.folder, 'onnx', 'model.onnx');
  const target = fs.readlinkSync(onnxLink);
  assert.ok(!path.isAbsolute(target));
  assert.match(target, /^\.\.\/\.\.\/\.\.\/blobs\/[0-9a-f]{64}$/);
  assert.match(fs.readlinkSync(path.join(snap.folder, 'config.json')), /^\.\.\/\.\.\/blobs\/[0-9a-f]{40}$/);
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx']) {
    assert.ok(fs.readFileSync(path.join(snap.folder, f)).equals(fs.readFileSync(path.join(sharedModel(BOW), f))), f);
  }
  // The quantized file the CPU prefers does not exist in this repo: remembered, like huggingface_hub.
  assert.ok(fs.existsSync(path.join(repoDir, '.no_exist', FAKE_COMMIT, 'onnx', 'model_quantized.onnx')));
  assert.deepEqual(fs.readdirSync(path.join(repoDir, 'blobs')).filter((f) => f.includes('incomplete')), []);
  assert.match(sink.text(), /downloading acme\/sentiment\/onnx\/model.onnx \(23\.5 MB\)\ndownloaded acme\/sentiment\/onnx\/model.onnx \(23\.5 MB in/);
  // Only the Hub's own HEAD/GET went to the hub; the LFS bytes came from the CDN origin.
  assert.ok(hub.requests.some((r) => r.server === 'cdn' && r.method === 'GET'));

  hub.requests.length = 0;
  const again = await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache), sink });
  assert.deepEqual(again, snap);
  assert.deepEqual(hub.requests.map((r) => `${r.method} ${r.url}`), ['HEAD /acme/sentiment/resolve/main/config.json']);

  hub.requests.length = 0;
  const offline = await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache, { HF_HUB_OFFLINE: '1' }) });
  assert.deepEqual(offline, snap);
  assert.deepEqual(hub.requests, []);
});

test('HF_TOKEN goes to the Hub as a bearer token, never to the CDN, and never into messages', async () => {
  const cache = await freshCache();
  hub.options.token = 'hf_secret_123';
  const bad = await fatal(resolveHubFiles(REPO, MODEL_FILES, { env: env(cache, { HF_TOKEN: 'hf_wrong_456' }), sink: captureSink() }));
  assert.equal(bad.code, 'E_HUB_AUTH');
  assert.doesNotMatch(bad.message, /hf_wrong_456/);
  const anonymous = await fatal(resolveHubFiles(REPO, MODEL_FILES, { env: env(cache), sink: captureSink() }));
  assert.equal(anonymous.code, 'E_MODEL_NOT_FOUND');
  assert.match(anonymous.message, /set HF_TOKEN/);

  hub.requests.length = 0;
  const sink = captureSink();
  await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache, { HF_TOKEN: 'hf_secret_123' }), sink });
  const toHub = hub.requests.filter((r) => r.server === 'hub');
  const toCdn = hub.requests.filter((r) => r.server === 'cdn');
  assert.ok(toHub.length > 0 && toHub.every((r) => r.authorization === 'Bearer hf_secret_123'));
  assert.ok(toCdn.length > 0 && toCdn.every((r) => r.authorization === undefined));
  assert.doesNotMatch(sink.text(), /hf_secret/);
});

test('offline with nothing cached: one line saying where it looked and what to do', async () => {
  const cache = await freshCache();
  const err = await fatal(resolveHubFiles(REPO, MODEL_FILES, { env: env(cache, { HF_HUB_OFFLINE: '1' }) }));
  assert.equal(err.code, 'E_MODEL_OFFLINE');
  assert.ok(err.message.includes(path.join(cache, 'models--acme--sentiment')), err.message);
  assert.match(err.message, /HF_HUB_OFFLINE=1 forbids downloading/);
  assert.match(err.message, /run once without HF_HUB_OFFLINE|local model folder/);
  assert.deepEqual(hub.requests, []);
});

test('unknown repository, revision or file: specific one-line errors', async () => {
  const cache = await freshCache();
  const repo = await fatal(resolveHubFiles('acme/nope', MODEL_FILES, { env: env(cache), sink: captureSink() }));
  assert.equal(repo.code, 'E_MODEL_NOT_FOUND');
  assert.match(repo.message, /model acme\/nope was not found/);
  const rev = await fatal(resolveHubFiles(REPO, MODEL_FILES, { env: env(cache), revision: 'v9', sink: captureSink() }));
  assert.match(rev.message, /no revision "v9"/);
  const file = await fatal(resolveHubFiles(REPO, [{ anyOf: ['onnx/model_fp16.onnx'] }], { env: env(cache), sink: captureSink() }));
  assert.equal(file.code, 'E_MODEL_NOT_FOUND');
  assert.match(file.message, /acme\/sentiment \(revision "main"\) on http:\/\/127\.0\.0\.1:\d+ has no file onnx\/model_fp16\.onnx$/);
  const badRev = await fatal(resolveHubFiles(REPO, MODEL_FILES, { env: env(cache), revision: '../../etc' }));
  assert.match(badRev.message, /not a valid revision/);
  const id = await fatal(resolveHubFiles('a--b/../c', MODEL_FILES, { env: env(cache) }));
  assert.match(id.message, /neither an existing local folder nor a Hugging Face model id/);
});

test('a dropped or failed download is retried, and never leaves a partial blob behind', async () => {
  const cache = await freshCache();
  hub.options.truncateGets = 1;
  hub.options.failGets = 1;
  const snap = await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache), sink: captureSink(), retryDelaysMs: [10, 10, 10] });
  assert.ok(fs.readFileSync(path.join(snap.folder, 'onnx', 'model.onnx')).equals(fs.readFileSync(path.join(sharedModel(BOW), 'onnx', 'model.onnx'))));
  assert.equal(hub.requests.filter((r) => r.server === 'cdn' && r.method === 'GET').length, 3);

  const cache2 = await freshCache();
  hub.options.failGets = 5;
  const err = await fatal(resolveHubFiles(REPO, MODEL_FILES, { env: env(cache2), sink: captureSink(), retryDelaysMs: [5, 5] }));
  hub.options.failGets = 0;
  assert.equal(err.code, 'E_HUB_NETWORK');
  const blobs = path.join(cache2, 'models--acme--sentiment', 'blobs');
  assert.ok(fs.readdirSync(blobs).every((f) => !f.includes('incomplete')), fs.readdirSync(blobs).join());
  assert.ok(!fs.existsSync(path.join(cache2, 'models--acme--sentiment', 'snapshots', FAKE_COMMIT, 'onnx', 'model.onnx')));
});

test('a download cut off goes on where it stopped (Range), in the same run and the next; bytes that fail their sha256 are dropped', async () => {
  const want = fs.readFileSync(path.join(sharedModel(BOW), 'onnx', 'model.onnx'));
  const cdnGets = () => hub.requests.filter((r) => r.server === 'cdn' && r.method === 'GET');
  const blobsOf = (cache: string) => path.join(cache, 'models--acme--sentiment', 'blobs');
  const partialOf = (cache: string) => fs.readdirSync(blobsOf(cache)).filter((f) => f.includes('incomplete') || f.endsWith('.lock'));
  const onnxOf = (snap: { folder: string }) => fs.readFileSync(path.join(snap.folder, 'onnx', 'model.onnx'));

  // Cut off with no retry left: the bytes received stay for the next run, under the blob's sha256.
  const cache = await freshCache();
  hub.options.truncateGets = 1;
  assert.equal((await fatal(resolveHubFiles(REPO, MODEL_FILES, { env: env(cache), sink: captureSink(), retryDelaysMs: [] }))).code, 'E_HUB_NETWORK');
  const [partial, ...others] = partialOf(cache);
  assert.match(partial ?? '', /^[0-9a-f]{64}\.batchlabel\.incomplete$/);
  assert.deepEqual(others, [], 'no lock left behind');
  // The bytes that reached the client before the connection was cut (up to the half the server sent).
  const kept = fs.statSync(path.join(blobsOf(cache), partial!)).size;
  assert.ok(kept > 0 && kept <= want.length >> 1, String(kept));
  hub.requests.length = 0;
  const next = await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache), sink: captureSink() });
  assert.deepEqual(cdnGets().map((r) => r.range), [`bytes=${kept}-`]);
  assert.ok(onnxOf(next).equals(want));
  assert.deepEqual(partialOf(cache), []);

  // Within one run: the retry asks for the rest only.
  const cache2 = await freshCache();
  hub.requests.length = 0;
  hub.options.truncateGets = 1;
  assert.ok(onnxOf(await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache2), sink: captureSink(), retryDelaysMs: [5] })).equals(want));
  assert.deepEqual(cdnGets().map((r) => r.range?.replace(/\d+/, 'N')), [undefined, 'bytes=N-']);

  // A partial file whose bytes are not the blob's: the sha256 check fails, the file is dropped, the retry starts over.
  const cache3 = await freshCache();
  hub.options.truncateGets = 1;
  await fatal(resolveHubFiles(REPO, MODEL_FILES, { env: env(cache3), sink: captureSink(), retryDelaysMs: [] }));
  const bad = path.join(blobsOf(cache3), partialOf(cache3)[0]!);
  const badSize = fs.statSync(bad).size;
  fs.writeFileSync(bad, Buffer.alloc(badSize, 7));
  hub.requests.length = 0;
  assert.ok(onnxOf(await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache3), sink: captureSink(), retryDelaysMs: [5] })).equals(want));
  assert.deepEqual(cdnGets().map((r) => r.range), [`bytes=${badSize}-`, undefined]);
  assert.deepEqual(partialOf(cache3), []);

  // A server that ignores the Range sends the whole file: written from the start, not appended.
  const cache4 = await freshCache();
  hub.options.truncateGets = 1;
  await fatal(resolveHubFiles(REPO, MODEL_FILES, { env: env(cache4), sink: captureSink(), retryDelaysMs: [] }));
  hub.options.ignoreRange = true;
  try {
    assert.ok(onnxOf(await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache4), sink: captureSink() })).equals(want));
  } finally {
    hub.options.ignoreRange = false;
  }

  // Another live process holds the partial file: this one downloads into a file of its own and leaves it be.
  const cache5 = await freshCache();
  hub.options.truncateGets = 1;
  await fatal(resolveHubFiles(REPO, MODEL_FILES, { env: env(cache5), sink: captureSink(), retryDelaysMs: [] }));
  const held = path.join(blobsOf(cache5), partialOf(cache5)[0]!);
  fs.writeFileSync(`${held}.lock`, JSON.stringify({ pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString(), nonce: 'other' }));
  hub.requests.length = 0;
  const heldSize = fs.statSync(held).size;
  assert.ok(onnxOf(await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache5), sink: captureSink() })).equals(want));
  assert.deepEqual(cdnGets().map((r) => r.range), [undefined]);
  assert.equal(fs.statSync(held).size, heldSize, "the other process's partial file is untouched");
  assert.ok(fs.existsSync(`${held}.lock`));
});

test('an unreachable Hub falls back to the cached snapshot, with a notice; without one it is a one-line error', async () => {
  const cache = await freshCache();
  await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache), sink: captureSink() });
  const dead = await startFakeHub({ repos: {} });
  await dead.close();
  const notices: string[] = [];
  const snap = await resolveHubFiles(REPO, MODEL_FILES, { env: { HF_HUB_CACHE: cache, HF_ENDPOINT: dead.url }, notice: (m) => void notices.push(m) });
  assert.equal(snap.commit, FAKE_COMMIT);
  assert.match(notices.join('\n'), /cannot reach http:\/\/127\.0\.0\.1:\d+ .*using the cached snapshot c0ffee000000/);
  const err = await fatal(resolveHubFiles(REPO, MODEL_FILES, { env: { HF_HUB_CACHE: await freshCache(), HF_ENDPOINT: dead.url } }));
  assert.equal(err.code, 'E_HUB_NETWORK');
  assert.match(err.message, /ECONNREFUSED/);
});

test('a model downloaded by Python (only some files, pinned commit) is used as is', async () => {
  // What `huggingface_hub.snapshot_download(allow_patterns=[...])` leaves: no .no_exist markers, fp32 only.
  const cache = await freshCache();
  const repo = path.join(cache, 'models--acme--sentiment');
  for (const f of modelFiles(sharedModel(BOW))) {
    const blob = path.join(repo, 'blobs', `blob-${f.replace(/\W/g, '_')}`);
    await fsp.mkdir(path.dirname(blob), { recursive: true });
    await fsp.copyFile(path.join(sharedModel(BOW), f), blob);
    const link = path.join(repo, 'snapshots', FAKE_COMMIT, ...f.split('/'));
    await fsp.mkdir(path.dirname(link), { recursive: true });
    await fsp.symlink(path.relative(path.dirname(link), blob), link);
  }
  await fsp.mkdir(path.join(repo, 'refs'));
  await fsp.writeFile(path.join(repo, 'refs', 'main'), FAKE_COMMIT);
  const notices: string[] = [];
  const snap = await resolveHubFiles(REPO, MODEL_FILES, { env: env(cache, { HF_HUB_OFFLINE: '1' }), notice: (m) => void notices.push(m) });
  assert.equal(snap.files[3], 'onnx/model.onnx');
  assert.match(notices.join(), /using onnx\/model\.onnx from the cached acme\/sentiment: onnx\/model_quantized\.onnx/);
  // Asked by commit, online: everything is already there, so no request at all.
  const pinned = await resolveHubFiles(REPO, [{ anyOf: ['config.json'] }, { anyOf: ['onnx/model.onnx'] }], { env: env(cache), revision: FAKE_COMMIT });
  assert.equal(pinned.folder, snap.folder);
  assert.deepEqual(hub.requests, []);
});

test('createOnnxClassifier downloads a Hub model through HF_ENDPOINT and classifies with it', async () => {
  const cache = await freshCache();
  Object.assign(process.env, { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.url });
  delete process.env.HF_HUB_OFFLINE;
  const stderrWrite = process.stderr.write;
  let err = '';
  process.stderr.write = ((chunk: string | Uint8Array) => ((err += String(chunk)), true)) as typeof process.stderr.write;
  const sink = captureSink();
  try {
    const ctx = testContext();
    const c = await createOnnxClassifier(onnxSettings({ model: REPO }), { ...ctx, events: { ...ctx.events, download: sink } });
    try {
      const [o] = await c.classify(['I love this movie']);
      assert.ok(o?.ok && o.predictions[0]!.label === 'POSITIVE', JSON.stringify(o));
      assert.equal(c.model.files.hub?.commit, FAKE_COMMIT);
    } finally {
      await c.close();
    }
  } finally {
    process.stderr.write = stderrWrite;
  }
  // Progress goes to the sink the caller gives; the library itself never prints.
  assert.match(sink.text(), /downloaded acme\/sentiment\/onnx\/model\.onnx/);
  assert.equal(err, '');
});

/**
 * A hostile or broken HF_ENDPOINT on loopback: commit hashes and paths that climb out of the cache, a body
 * cut off with no size announced, bytes that do not match the sha256 they are stored under. Nothing may be
 * created, truncated or replaced outside the cache, and nothing untrustworthy may land in it.
 * The server is a raw socket server, so it can answer what Node's http module would never send.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { resolveHubFiles } from '../src/hub/resolve.js';
import { BackendFatalError } from '../src/errors.js';
import { captureSink } from './support/onnx-models.js';
import { runCli, tempDir } from './support/cli.js';

const REPO = 'acme/m';
const COMMIT = 'c0ffee0000000000000000000000000000000001';
const CONTENT = Buffer.from(JSON.stringify({ model_type: 'bert', id2label: { 0: 'NEGATIVE', 1: 'POSITIVE' } }));

interface Reply {
  status: number;
  headers: Record<string, string>;
  /** Body bytes sent on GET; the connection is closed after them. */
  body?: Buffer;
}

/** Answers every request with `answer(method, path)`, raw: header lines as given, then the body, then close. */
async function rawHub(t: { after(fn: () => Promise<void>): void }, answer: (method: string, url: string) => Reply): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [method, url] = head.slice(0, head.indexOf('\r\n')).split(' ') as [string, string];
      requests.push(`${method} ${url}`);
      const r = answer(method, url);
      const lines = [`HTTP/1.1 ${r.status} X`, 'connection: close', ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`)];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
      if (method === 'GET' && r.body) socket.write(r.body);
      socket.end();
      head = '';
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

/** A scratch folder with the cache in it and, next to it, a folder of files that must survive. */
function sandbox(t: { after(fn: () => void): void }): { cache: string; outside: string; precious: string; before: () => string[] } {
  const root = tempDir(t);
  const cache = path.join(root, 'cache');
  const outside = path.join(root, 'outside');
  fs.mkdirSync(outside);
  const precious = path.join(outside, 'config.json');
  fs.writeFileSync(precious, '{"precious": true}');
  return { cache, outside, precious, before: () => listAll(root).filter((p) => !p.startsWith(`cache${path.sep}`) && p !== 'cache') };
}

function listAll(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const p = path.join(rel, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...listAll(root, p));
  }
  return out.sort();
}

async function fatal(p: Promise<unknown>): Promise<BackendFatalError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BackendFatalError, String((err as Error)?.stack ?? err));
    assert.doesNotMatch(err.message, /\n/);
    return err;
  }
  assert.fail('expected a BackendFatalError');
}

function assertUntouched(box: ReturnType<typeof sandbox>, outsideBefore: string[]): void {
  assert.ok(!fs.lstatSync(box.precious).isSymbolicLink(), 'the file outside the cache was replaced by a link');
  assert.equal(fs.readFileSync(box.precious, 'utf8'), '{"precious": true}');
  assert.deepEqual(box.before(), outsideBefore, 'nothing created outside the cache');
}

test('an X-Repo-Commit that climbs out of the cache is refused: nothing created or replaced outside it', async (t) => {
  const box = sandbox(t);
  // From <cache>/models--acme--m/snapshots/<commit>, three `..` reach the folder that holds the cache.
  const hub = await rawHub(t, () => ({
    status: 200,
    headers: { 'x-repo-commit': '../../../outside', etag: '"abc123"', 'content-length': String(CONTENT.length) },
    body: CONTENT,
  }));
  const before = box.before();
  const err = await fatal(resolveHubFiles(REPO, [{ anyOf: ['config.json'] }], { env: { HF_HUB_CACHE: box.cache, HF_ENDPOINT: hub.url }, sink: captureSink() }));
  assert.equal(err.code, 'E_HUB_RESPONSE');
  assert.match(err.message, /X-Repo-Commit that is not a commit hash/);
  assertUntouched(box, before);
  assert.ok(!fs.existsSync(path.join(box.cache, 'models--acme--m', 'refs', 'main')), 'no ref recorded for a bogus commit');
});

test('an ETag that climbs out of blobs/ never names a file: the blob is named by its content hash instead', async (t) => {
  const box = sandbox(t);
  const hub = await rawHub(t, () => ({
    status: 200,
    headers: { 'x-repo-commit': COMMIT, 'x-linked-etag': '"../../../outside/config.json"', 'content-length': String(CONTENT.length) },
    body: CONTENT,
  }));
  const before = box.before();
  const snap = await resolveHubFiles(REPO, [{ anyOf: ['config.json'] }], { env: { HF_HUB_CACHE: box.cache, HF_ENDPOINT: hub.url }, sink: captureSink() });
  assertUntouched(box, before);
  const sha = createHash('sha256').update(CONTENT).digest('hex');
  assert.deepEqual(fs.readdirSync(path.join(box.cache, 'models--acme--m', 'blobs')), [sha]);
  assert.ok(fs.readFileSync(path.join(snap.folder, 'config.json')).equals(CONTENT));
});

test('a 404 carrying a hostile X-Repo-Commit truncates nothing outside the cache', async (t) => {
  const box = sandbox(t);
  const hub = await rawHub(t, () => ({ status: 404, headers: { 'x-error-code': 'EntryNotFound', 'x-repo-commit': '../../../outside', 'content-length': '0' } }));
  const before = box.before();
  const err = await fatal(resolveHubFiles(REPO, [{ anyOf: ['config.json'] }], { env: { HF_HUB_CACHE: box.cache, HF_ENDPOINT: hub.url }, sink: captureSink() }));
  assert.equal(err.code, 'E_MODEL_NOT_FOUND');
  assertUntouched(box, before);
});

test('repository paths with "..", absolute or empty parts (an --onnx-file among them) are refused before any request', async (t) => {
  const box = sandbox(t);
  const hub = await rawHub(t, () => ({ status: 200, headers: { 'x-repo-commit': COMMIT, etag: '"abc123"', 'content-length': String(CONTENT.length) }, body: CONTENT }));
  const before = box.before();
  for (const bad of ['../../../../outside/config.json', 'onnx/../../../../../outside/x.onnx', '/etc/passwd', 'onnx//model.onnx', 'onnx\\..\\x.onnx', './config.json']) {
    const err = await fatal(resolveHubFiles(REPO, [{ anyOf: ['config.json'] }, { anyOf: [bad] }], { env: { HF_HUB_CACHE: box.cache, HF_ENDPOINT: hub.url }, sink: captureSink() }));
    assert.match(err.message, /is not a file path inside a model repository/, bad);
  }
  assert.deepEqual(hub.requests, []);
  assertUntouched(box, before);
  // Through the CLI, as a user would give it.
  const input = path.join(tempDir(t), 'in.csv');
  fs.writeFileSync(input, 'text\nhello\n');
  const r = await runCli(['run', '--backend', 'onnx', '--model', REPO, '--onnx-file', '../../../../outside/x.onnx', '--input', input], { HF_HUB_CACHE: box.cache, HF_ENDPOINT: hub.url });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^batchlabel: "\.\.\/\.\.\/\.\.\/\.\.\/outside\/x\.onnx" is not a file path inside a model repository/);
  assert.deepEqual(hub.requests, []);
  assertUntouched(box, before);
  // A cached pinned commit is read the same way: no path escapes there either.
  await fatal(resolveHubFiles(REPO, [{ anyOf: ['../../../outside/config.json'] }], { env: { HF_HUB_CACHE: box.cache, HF_HUB_OFFLINE: '1' }, revision: COMMIT }));
});

test('an LFS file cut off mid-body with no size announced is refused and never cached under the sha256 it claims', async (t) => {
  const box = sandbox(t);
  const sha = createHash('sha256').update(CONTENT).digest('hex');
  // No size in the HEAD, no content-length on the GET, the connection closed after half the bytes.
  const hub = await rawHub(t, (method) => ({
    status: 200,
    headers: { 'x-repo-commit': COMMIT, 'x-linked-etag': `"${sha}"` },
    body: method === 'GET' ? CONTENT.subarray(0, CONTENT.length >> 1) : undefined,
  }));
  const err = await fatal(
    resolveHubFiles(REPO, [{ anyOf: ['config.json'] }], { env: { HF_HUB_CACHE: box.cache, HF_ENDPOINT: hub.url }, sink: captureSink(), retryDelaysMs: [5] }),
  );
  assert.match(err.message, /do not have the sha256/);
  const repo = path.join(box.cache, 'models--acme--m');
  assert.ok(!fs.existsSync(path.join(repo, 'blobs', sha)), 'no blob under the claimed sha256');
  assert.deepEqual(fs.readdirSync(path.join(repo, 'blobs')), [], 'no partial file left');
  assert.ok(!fs.existsSync(path.join(repo, 'snapshots', COMMIT, 'config.json')));
  assert.equal(hub.requests.filter((r) => r.startsWith('GET')).length, 2, 'retried once, then refused');
});

test('a body whose length nothing confirms (no size, no content-length, no chunked framing, no sha256) is refused', async (t) => {
  const box = sandbox(t);
  const hub = await rawHub(t, (method) => ({
    status: 200,
    headers: { 'x-repo-commit': COMMIT, etag: '"0123456789abcdef0123456789abcdef01234567"' },
    body: method === 'GET' ? CONTENT.subarray(0, 10) : undefined,
  }));
  const err = await fatal(resolveHubFiles(REPO, [{ anyOf: ['config.json'] }], { env: { HF_HUB_CACHE: box.cache, HF_ENDPOINT: hub.url }, sink: captureSink(), retryDelaysMs: [5] }));
  assert.match(err.message, /no size announced to confirm the file is complete/);
  assert.deepEqual(fs.readdirSync(path.join(box.cache, 'models--acme--m', 'blobs')), []);
});

test('an LFS blob whose bytes do not match its sha256 is refused even when its length is right; the right bytes are accepted', async (t) => {
  const box = sandbox(t);
  const sha = createHash('sha256').update(CONTENT).digest('hex');
  let good = false;
  const hub = await rawHub(t, (method) => {
    const body = good ? CONTENT : Buffer.from(CONTENT.toString().toUpperCase());
    return { status: 200, headers: { 'x-repo-commit': COMMIT, 'x-linked-etag': `"${sha}"`, 'content-length': String(body.length) }, body: method === 'GET' ? body : undefined };
  });
  const env = { HF_HUB_CACHE: box.cache, HF_ENDPOINT: hub.url };
  const err = await fatal(resolveHubFiles(REPO, [{ anyOf: ['config.json'] }], { env, sink: captureSink(), retryDelaysMs: [5] }));
  assert.match(err.message, /do not have the sha256/);
  assert.deepEqual(fs.readdirSync(path.join(box.cache, 'models--acme--m', 'blobs')), []);
  good = true;
  const snap = await resolveHubFiles(REPO, [{ anyOf: ['config.json'] }], { env, sink: captureSink() });
  assert.ok(fs.readFileSync(path.join(snap.folder, 'config.json')).equals(CONTENT));
});

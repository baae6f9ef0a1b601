/**
 * Credentials never reach what batchlabel prints or stores for display: userinfo and secret query values
 * in an endpoint URL, a token in a redirect's Location, a token cut in half by an error excerpt. Every
 * check runs the real CLI against a loopback server and reads the real checkpoint and export files.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { redactUrl, redactUrlsIn } from '../src/core/redact-url.js';
import { startHfServer, type HfServer } from './support/hf-server.js';
import { collect, runCli, spawnCli, tempDir } from './support/cli.js';

const PASSWORD = 'Pw0rdZx81q';
const API_KEY = 'K3yQv71mZa';
const TOKEN = 'hf_QzXq9Wv7Lm3Pk8RtYs2N';

function input(dir: string, rows = 5): string {
  const file = path.join(dir, 'in.csv');
  fs.writeFileSync(file, `text\n${Array.from({ length: rows }, (_, i) => `review number ${i}`).join('\n')}\n`);
  return file;
}

/** Every byte a job left on disk: checkpoint (with its WAL) and export. */
function bytesOnDisk(dir: string): string {
  return fs
    .readdirSync(dir)
    .map((n) => fs.readFileSync(path.join(dir, n)).toString('latin1'))
    .join('\n');
}

function assertNoSecret(text: string, what: string, secrets: string[] = [PASSWORD, API_KEY, TOKEN]): void {
  for (const s of secrets) {
    // Any 6 characters of a secret in a row count as a leak (a cut-off secret is still a secret).
    for (let i = 0; i + 6 <= s.length; i++) assert.ok(!text.includes(s.slice(i, i + 6)), `${what} leaks ${s.slice(i, i + 6)}… of a secret: ${text.slice(0, 2000)}`);
  }
}

async function server(t: { after(fn: () => Promise<void>): void }, opts: Parameters<typeof startHfServer>[0] = {}): Promise<HfServer> {
  const s = await startHfServer(opts);
  t.after(() => s.close());
  return s;
}

test('redactUrl hides userinfo and secret-looking query values and leaves everything else as written', () => {
  assert.equal(redactUrl('http://user:pass@h:1/p?api_key=abc&x=1#f'), 'http://[redacted]@h:1/p?api_key=[redacted]&x=1#f');
  assert.equal(redactUrl('https://h/p?X-Amz-Signature=s&X-Amz-Credential=c&access_token=t&sig=g&Password=p&auth=a&q=keep'), 'https://h/p?X-Amz-Signature=[redacted]&X-Amz-Credential=[redacted]&access_token=[redacted]&sig=[redacted]&Password=[redacted]&auth=[redacted]&q=keep');
  assert.equal(redactUrl('http://127.0.0.1:8080/models/org/m'), 'http://127.0.0.1:8080/models/org/m');
  assert.equal(redactUrl('http://h'), 'http://h', 'not normalised: stored forms stay comparable');
  assert.equal(redactUrlsIn('see --endpoint=http://a:b@h/x?token=t and http://ok/'), 'see --endpoint=http://[redacted]@h/x?token=[redacted] and http://ok/');
});

test('an endpoint URL with user:password@ sends them as basic auth (not the HF token) and the query as given; nothing printed or stored shows them', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const file = input(dir);
  const endpoint = (pw: string) => `${s.url.replace('http://', `http://alice:${pw}@`)}/models/org/m?api_key=${API_KEY}`;
  const ckpt = path.join(dir, 'job.sqlite');
  const r = await runCli(['run', '--input', file, '--endpoint', endpoint(PASSWORD), '--checkpoint', ckpt, '--output', path.join(dir, 'out.csv'), '--json'], { HF_TOKEN: TOKEN });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(s.requests.length, 5);
  for (const req of s.requests) {
    assert.equal(req.headers.authorization, `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`);
    assert.equal(req.url, `/models/org/m?api_key=${API_KEY}`);
  }
  assertNoSecret(r.stdout + r.stderr, 'the run output');
  assertNoSecret(bytesOnDisk(dir), 'the checkpoint or export');

  const status = await runCli(['status', ckpt, '--json']);
  assert.equal(status.code, 0, status.stderr);
  assertNoSecret(status.stdout, 'status --json');
  const shown = (JSON.parse(status.stdout) as { settings: { hf: { endpoint: string } } }).settings.hf.endpoint;
  assert.equal(shown, `${s.url.replace('http://', 'http://[redacted]@')}/models/org/m?api_key=[redacted]`);

  // Only the password changed: the run must notice (another endpoint), and say so without the secrets.
  const other = await runCli(['run', '--input', file, '--endpoint', endpoint('An0therPw9'), '--checkpoint', ckpt], { HF_TOKEN: TOKEN });
  assert.equal(other.code, 1, other.stderr);
  assert.match(other.stderr, /belongs to another job: endpointDigest changed/);
  assertNoSecret(other.stderr, 'the "endpoint changed" refusal', [PASSWORD, API_KEY, TOKEN, 'An0therPw9']);
  // The same URL resumes.
  const same = await runCli(['run', '--input', file, '--endpoint', endpoint(PASSWORD), '--checkpoint', ckpt], { HF_TOKEN: TOKEN });
  assert.equal(same.code, 0, same.stderr);
});

test('the resume hint after Ctrl-C shows the command without the credentials in its URL', async (t) => {
  const s = await server(t, { delayMs: 300 });
  const dir = tempDir(t);
  const file = input(dir, 200);
  const endpoint = `${s.url.replace('http://', `http://alice:${PASSWORD}@`)}/models/org/m?token=${API_KEY}`;
  const child = spawnCli(['run', '--input', file, `--endpoint=${endpoint}`, '--concurrency', '1', '--output', path.join(dir, 'out.csv')]);
  const done = collect(child);
  while (s.requests.length === 0) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /Resume with:\n {2}node dist\/src\/cli\/main\.js run .*--endpoint=http:\/\/\[redacted\]@127\.0\.0\.1:\d+\/models\/org\/m\?token=\[redacted\].*put back the credentials/);
  assertNoSecret(r.stderr, 'the resume hint');
});

test('a redirect whose Location carries the token is reported without it', async (t) => {
  const s = await server(t, {
    script: [{ status: 302, headers: { location: `http://login.example/sso?next=/x&access_token=${TOKEN}` }, json: { error: 'moved' } }],
  });
  const dir = tempDir(t);
  const r = await runCli(['run', '--input', input(dir, 1), '--endpoint', `${s.url}/models/org/m`], { HF_TOKEN: TOKEN });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /redirects \(HTTP 302 to http:\/\/login\.example\/sso\?next=\/x&access_token=\[redacted\]\)/);
  assertNoSecret(r.stderr, 'the redirect error');
});

test('a token straddling the cut of an error excerpt is redacted before the cut: not in the checkpoint, not in the error column', async (t) => {
  // Not shaped like an hf_ token: only the job's own token (from --token-env) identifies it.
  const secret = 'sk-live-Tq83Wz0Lp2Mx7Vc4';
  const s = await server(t, {
    // The excerpt is cut at 300 characters: here in the middle of the secret.
    respond: () => ({ status: 400, json: { error: `${'x'.repeat(290)}${secret} for this input` } }),
  });
  const dir = tempDir(t);
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['run', '--input', input(dir, 2), '--endpoint', `${s.url}/models/org/m`, '--token-env', 'MY_KEY', '--output', out], { MY_KEY: secret });
  assert.equal(r.code, 4, r.stderr);
  assert.equal(s.requests[0]!.headers.authorization, `Bearer ${secret}`);
  const rows = parse(fs.readFileSync(out)) as string[][];
  assert.match(rows[1]![4]!, /^HTTP 400: x{290}\[redacted\]…$/);
  assertNoSecret(bytesOnDisk(dir), 'the checkpoint or export', [secret.slice(3)]);
  const status = await runCli(['status', path.join(dir, 'out.batchlabel.sqlite')]);
  assertNoSecret(status.stdout, 'status', [secret.slice(3)]);
});

test('a checkpoint written before redaction (endpoint credentials in plain text) is shown redacted by status and the refusal', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const file = input(dir, 2);
  const ckpt = path.join(dir, 'old.sqlite');
  const plain = `${s.url}/models/org/m`;
  const r = await runCli(['run', '--input', file, '--endpoint', plain, '--checkpoint', ckpt]);
  assert.equal(r.code, 0, r.stderr);
  // What older versions stored: the endpoint as typed.
  const secretUrl = `${s.url.replace('http://', `http://alice:${PASSWORD}@`)}/models/org/m?api_key=${API_KEY}`;
  const db = new Database(ckpt);
  const meta = (key: string) => JSON.parse(db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as string) as Record<string, any>;
  const settings = meta('settings');
  settings.hf.endpoint = secretUrl;
  const result = meta('result_settings');
  result.endpoint = secretUrl;
  delete result.endpointDigest;
  db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(JSON.stringify(settings), 'settings');
  db.prepare('UPDATE meta SET value = ? WHERE key = ?').run(JSON.stringify(result), 'result_settings');
  db.close();

  const status = await runCli(['status', ckpt, '--json']);
  assert.equal(status.code, 0, status.stderr);
  assertNoSecret(status.stdout, 'status --json of an old checkpoint');
  const refused = await runCli(['run', '--input', file, '--endpoint', plain, '--checkpoint', ckpt]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /endpoint changed \("http:\/\/\[redacted\]@127\.0\.0\.1:\d+\/models\/org\/m\?api_key=\[redacted\]" → /);
  assertNoSecret(refused.stderr, 'the refusal on an old checkpoint');
});

/**
 * The edges of a run as users meet them: a closed terminal (SIGHUP), Ctrl-C during the export after a
 * resumed run, CRLF inputs, a smaller --limit on the same output. The CLI as a child process, real files,
 * a loopback server.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { collect, runCli, spawnCli, tempDir } from './support/cli.js';
import { startHfServer } from './support/hf-server.js';

async function waitFor(ok: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function runStates(checkpoint: string): string[] {
  const db = new Database(checkpoint, { readonly: true });
  try {
    return db.prepare('SELECT state FROM runs ORDER BY id').pluck().all() as string[];
  } finally {
    db.close();
  }
}

test('SIGHUP stops a run like Ctrl-C: exit 130, the run recorded as interrupted, not left running', async (t) => {
  const dir = tempDir(t);
  const server = await startHfServer({ slowMs: 200, faults: { slow: 1 } });
  t.after(() => server.close());
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, `id,text\n${Array.from({ length: 2000 }, (_, i) => `${i},review ${i}`).join('\n')}\n`);
  const checkpoint = path.join(dir, 'job.sqlite');
  const child = spawnCli(['run', '--input', input, '--endpoint', `${server.url}/models/m`, '--checkpoint', checkpoint, '--concurrency', '1']);
  const done = collect(child);
  await waitFor(() => server.requests.length > 2, 20_000, 'requests');
  child.kill('SIGHUP');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /SIGHUP: stopping/);
  assert.deepEqual(runStates(checkpoint), ['interrupted']);
});

test('Ctrl-C during the export after a resumed run stops it: exit 130, no temp file, no output; a rerun writes it', async (t) => {
  const dir = tempDir(t);
  const server = await startHfServer();
  t.after(() => server.close());
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, `id,text\n${Array.from({ length: 150_000 }, (_, i) => `${i},review ${i} ${'lorem ipsum '.repeat(20)}`).join('\n')}\n`);
  const checkpoint = path.join(dir, 'job.sqlite');
  const out = path.join(dir, 'out', 'labeled.csv');
  const args = ['run', '--input', input, '--endpoint', `${server.url}/models/m`, '--checkpoint', checkpoint, '--batch-size', '64'];
  const part = await runCli([...args, '--limit', '149990']);
  assert.equal(part.code, 0, part.stderr);
  const child = spawnCli([...args, '--output', out]);
  const done = collect(child);
  const temp = () => existsSync(path.dirname(out)) && readdirSync(path.dirname(out)).some((f) => f.includes('.tmp'));
  await waitFor(temp, 60_000, 'the export to start');
  const at = Date.now();
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.ok(Date.now() - at < 5000, `stopped in ${Date.now() - at} ms`);
  assert.match(r.stderr, /interrupted: .*labeled\.csv was not written/);
  assert.deepEqual(readdirSync(path.dirname(out)), [], 'no temp file, no output');
  const again = await runCli([...args, '--output', out]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(out, 'utf8').split('\n').length, 150_002);
});

test('a CRLF input is exported with CRLF line ends (CSV, JSONL), by the streaming export and the export after a run', async (t) => {
  const dir = tempDir(t);
  const server = await startHfServer();
  t.after(() => server.close());
  const csv = path.join(dir, 'in.csv');
  writeFileSync(csv, `id,text\r\n${Array.from({ length: 50 }, (_, i) => `${i},review ${i}`).join('\r\n')}\r\n`);
  const jsonl = path.join(dir, 'in.jsonl');
  writeFileSync(jsonl, `${Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: i, text: `review ${i}` })).join('\r\n')}\r\n`);
  for (const input of [csv, jsonl]) {
    const ext = path.extname(input);
    const out = path.join(dir, `out${ext}`);
    const checkpoint = path.join(dir, `job${ext}.sqlite`);
    const r = await runCli(['run', '--input', input, '--endpoint', `${server.url}/models/m`, '--checkpoint', checkpoint, '--output', out]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(out, 'latin1');
    assert.equal(text.split('\r\n').length, ext === '.csv' ? 52 : 51, `${ext}: every line ends in CRLF`);
    assert.doesNotMatch(text.replaceAll('\r\n', ''), /[\r\n]/, `${ext}: no bare LF`);
    const out2 = path.join(dir, `again${ext}`);
    const e = await runCli(['export', checkpoint, '--output', out2]);
    assert.equal(e.code, 0, e.stderr);
    assert.deepEqual(readFileSync(out2), readFileSync(out));
  }
});

test('--limit 50 after --limit 100 on the same output writes 50 rows', async (t) => {
  const dir = tempDir(t);
  const server = await startHfServer();
  t.after(() => server.close());
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, `id,text\n${Array.from({ length: 150 }, (_, i) => `${i},review ${i}`).join('\n')}\n`);
  const out = path.join(dir, 'out.csv');
  const args = ['run', '--input', input, '--endpoint', `${server.url}/models/m`, '--checkpoint', path.join(dir, 'job.sqlite'), '--output', out];
  const a = await runCli([...args, '--limit', '100']);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 101);
  const b = await runCli([...args, '--limit', '50']);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 51);
});

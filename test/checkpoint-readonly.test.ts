/**
 * `status` and `export` only read: a read-only checkpoint (file 0444, folder 0555) is read, and an SQLite
 * file that is not a checkpoint is refused without a byte of it changing. Real checkpoints from real runs
 * against a loopback server; when the tests run as root (who may write anything), the reading commands run
 * as `nobody`, so the permissions really apply.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { startHfServer } from './support/hf-server.js';
import { CLI, REPO, collect, runCli, tempDir, type CliResult } from './support/cli.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/** The CLI as a user who cannot write the checkpoint (nobody, when the tests run as root). */
function runAsReader(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HF_TOKEN_PATH: '/nonexistent/token', HOME: '/nonexistent' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  return collect(child);
}

/** A finished job: 20 rows labeled by a loopback server, its checkpoint in `dir`. */
async function finishedJob(t: { after(fn: () => Promise<void> | void): void }): Promise<{ dir: string; ckpt: string }> {
  const s = await startHfServer();
  t.after(() => s.close());
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o755);
  const input = path.join(dir, 'in.csv');
  fs.writeFileSync(input, `text\n${Array.from({ length: 20 }, (_, i) => `text ${i}`).join('\n')}\n`);
  const ckpt = path.join(dir, 'job.sqlite');
  const r = await runCli(['run', '--input', input, '--endpoint', `${s.url}/models/org/m`, '--checkpoint', ckpt]);
  assert.equal(r.code, 0, r.stderr);
  fs.chmodSync(input, 0o644);
  return { dir, ckpt };
}

/** A folder the reader may write its export to. */
function writableDir(t: { after(fn: () => void): void }): string {
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o777);
  return dir;
}

for (const folder of [0o555, 0o777] as const) {
  test(`a read-only checkpoint (file 0444, folder ${folder.toString(8)}) can be read by status and export`, async (t) => {
    const { dir, ckpt } = await finishedJob(t);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['in.csv', 'job.sqlite'], 'closed cleanly: no -wal or -shm left');
    fs.chmodSync(ckpt, 0o444);
    fs.chmodSync(dir, folder);
    try {
      await readBoth(t, ckpt);
    } finally {
      fs.chmodSync(dir, 0o755);
    }
  });
}

/** status --json and export, as the reader, and the file unchanged after both. */
async function readBoth(t: { after(fn: () => void): void }, ckpt: string): Promise<void> {
  const before = fs.readFileSync(ckpt);

  const status = await runAsReader(['status', ckpt, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as { rows: { total: number; done: number }; finished: boolean };
  assert.deepEqual([report.rows.total, report.rows.done, report.finished], [20, 20, true]);

  const out = path.join(writableDir(t), 'out.csv');
  const exp = await runAsReader(['export', ckpt, '--output', out]);
  assert.equal(exp.code, 0, exp.stderr);
  const rows = parse(fs.readFileSync(out)) as string[][];
  assert.equal(rows.length, 21);
  assert.ok(rows.slice(1).every((r) => r[1] === 'NEGATIVE' || r[1] === 'POSITIVE'), JSON.stringify(rows.slice(0, 3)));
  assert.ok(fs.readFileSync(ckpt).equals(before), 'the checkpoint is unchanged');
}

test('status and export on an SQLite file that is not a checkpoint refuse it and change nothing in it', async (t) => {
  const dir = tempDir(t);
  const foreign = path.join(dir, 'people.sqlite');
  const db = new Database(foreign);
  db.exec("CREATE TABLE people (name TEXT, age INTEGER); INSERT INTO people VALUES ('ada', 36), ('alan', 41);");
  db.close();
  const hash = () => createHash('sha256').update(fs.readFileSync(foreign)).digest('hex');
  const before = hash();

  const status = await runCli(['status', foreign, '--json']);
  const exp = await runCli(['export', foreign, '--output', path.join(dir, 'out.csv')]);
  assert.equal(hash(), before, 'not a byte changed');
  assert.deepEqual(fs.readdirSync(dir), ['people.sqlite'], 'no -wal, -shm or export created');
  const after = new Database(foreign, { readonly: true });
  assert.deepEqual(after.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all(), ['people']);
  assert.equal(after.pragma('journal_mode', { simple: true }), 'delete');
  after.close();
  for (const r of [status, exp]) {
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^batchlabel: .*people\.sqlite is an SQLite file but not a batchlabel checkpoint \(left as it is\)/);
    assert.doesNotMatch(r.stderr, /delete/i);
  }
});

test('no message advises deleting a checkpoint: an unsupported format says how to go on without losing it', async (t) => {
  const { ckpt } = await finishedJob(t);
  const db = new Database(ckpt);
  db.prepare("UPDATE meta SET value = '\"99\"' WHERE key = 'schema_version'").run();
  db.close();
  for (const args of [['status', ckpt], ['export', ckpt, '--output', path.join(path.dirname(ckpt), 'o.csv')]]) {
    const r = await runCli(args);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /checkpoint format "99" is not supported/);
    assert.doesNotMatch(r.stderr, /delete/i);
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { stringify } from 'csv-stringify/sync';
import { expectedScores, startHfServer, type HfServerOptions } from './support/hf-server.js';
import { collect, runCli, spawnCli, tempDir } from './support/cli.js';
import { sampleRows } from './support/sample-data.js';

const ROWS = 3000;

/** Unique texts (so every row costs a request), with the awkward CSV cases mixed in. */
function writeInput(file: string): void {
  const rows = sampleRows(ROWS).map((r, i) => ({ ...r, text: `${r.text} (#${i})` }));
  writeFileSync(file, '\ufeff' + stringify(rows, { header: true, columns: ['id', 'product', 'rating', 'text'], record_delimiter: 'windows' }));
}

function committedRows(checkpoint: string): number {
  if (!existsSync(checkpoint)) return 0;
  try {
    const db = new Database(checkpoint, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM rows').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet
  }
}

async function waitForRows(checkpoint: string, n: number, timeoutMs = 30_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const have = committedRows(checkpoint);
    if (have >= n) return have;
    if (Date.now() > end) throw new Error(`only ${have} of ${n} rows committed in time`);
    await sleep(15);
  }
}

async function fixture(t: Parameters<typeof tempDir>[0] & { after(fn: () => Promise<void>): void }, delayMs: number, respond?: HfServerOptions['respond']) {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  writeInput(input);
  const s = await startHfServer({ delayMs, respond });
  t.after(() => s.close());
  const ref = await startHfServer({});
  t.after(() => ref.close());
  const refOut = path.join(dir, 'ref.csv');
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', refOut, '--checkpoint', path.join(dir, 'ref.sqlite')], { HF_INFERENCE_ENDPOINT: ref.url });
  assert.equal(r.code, 0, r.stderr);
  const out = path.join(dir, 'out.csv');
  const checkpoint = path.join(dir, 'out.batchlabel.sqlite');
  const args = ['run', '--input', input, '--model', 'm', '--output', out, '--concurrency', '4'];
  return { dir, input, s, refOut, out, checkpoint, args, env: { HF_INFERENCE_ENDPOINT: s.url } };
}

test('kill -9 at several points, then resume: export byte-identical to an uninterrupted run, nothing duplicated', async (t) => {
  const f = await fixture(t, 4);
  const kills = [0, 0.1, 0.5, 0.85];
  for (const point of kills) {
    const child = spawnCli(f.args, f.env);
    const done = collect(child);
    if (point === 0) await sleep(150); // before or around the first commit
    else await waitForRows(f.checkpoint, Math.floor(ROWS * point));
    child.kill('SIGKILL');
    const r = await done;
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(existsSync(f.out), false, 'no half-written output');
  }
  const before = committedRows(f.checkpoint);
  assert.ok(before >= ROWS * 0.85 && before < ROWS, `${before} rows committed before the last resume`);
  const last = await runCli(f.args, f.env);
  assert.equal(last.code, 0, last.stderr);
  assert.match(last.stderr, new RegExp(`resuming: ${before.toLocaleString('en-US')} rows already finished`));
  assert.equal(committedRows(f.checkpoint), ROWS);
  assert.ok(readFileSync(f.out).equals(readFileSync(f.refOut)), 'export differs from the uninterrupted run');

  // Rows committed before a kill are never sent again; only rows in flight at a kill may be.
  const sent = new Map<string, number>();
  for (const q of f.s.requests) for (const x of q.texts) sent.set(x, (sent.get(x) ?? 0) + 1);
  assert.equal(sent.size, ROWS);
  const resent = [...sent.values()].reduce((a, n) => a + n - 1, 0);
  assert.ok(resent <= kills.length * 400, `${resent} texts sent more than once`);
});

test('Ctrl-C stops cleanly (exit 130), prints the command that resumes, and that command finishes the job', async (t) => {
  const f = await fixture(t, 4);
  const child = spawnCli(f.args, f.env);
  const done = collect(child);
  await waitForRows(f.checkpoint, 500);
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /SIGINT: stopping/);
  const m = r.stderr.match(/Resume with:\n\s+(node dist\/src\/cli\/main\.js .*)\n/);
  assert.ok(m, r.stderr);
  const args = m[1]!.split(" ").slice(2);
  assert.deepEqual(args, f.args);
  const atStop = committedRows(f.checkpoint);
  const sentAtStop = f.s.requests.length;
  assert.equal(atStop, sentAtStop, 'every request that was sent finished and was committed before exit');
  const resumed = await runCli(args, f.env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(readFileSync(f.out).equals(readFileSync(f.refOut)));
  assert.equal(f.s.requests.length, ROWS, 'no text sent twice');
});

test('a second Ctrl-C quits at once without waiting for slow requests, and the checkpoint stays consistent', async (t) => {
  let slow = false;
  // Once `slow` is set every answer takes 5 s, so the first Ctrl-C alone would wait for them.
  const f = await fixture(t, 4, (req) => (slow ? { status: 200, json: [expectedScores(req.texts[0]!)], delayMs: 5000 } : undefined));
  const child = spawnCli([...f.args, '--drain-timeout', '60'], f.env);
  const done = collect(child);
  await waitForRows(f.checkpoint, 300);
  slow = true;
  await sleep(300);
  child.kill('SIGINT');
  await sleep(200);
  const t0 = Date.now();
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.ok(Date.now() - t0 < 2000, 'second Ctrl-C exits at once');
  assert.match(r.stderr, /quit\. Resume with:/);
  slow = false;
  const resumed = await runCli(f.args, f.env);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(readFileSync(f.out).equals(readFileSync(f.refOut)));
});

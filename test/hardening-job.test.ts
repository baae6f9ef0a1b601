import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startHfServer } from './support/hf-server.js';
import { collect, runCli, spawnCli, tempDir } from './support/cli.js';
import { setTimeout as sleep } from 'node:timers/promises';

type T = Parameters<typeof tempDir>[0] & { after(fn: () => Promise<void>): void };

function writeCsv(file: string, texts: string[]): void {
  writeFileSync(file, `id,text\n${texts.map((t, i) => `${i},"${t.replace(/"/g, '""')}"`).join('\n')}\n`);
}

function rowCounts(checkpoint: string): { done: number; failed: number } {
  const db = new Database(checkpoint, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT COALESCE(SUM(status = 1), 0) AS done, COALESCE(SUM(status = 2), 0) AS failed FROM rows').get() as { done: number; failed: number };
  } finally {
    db.close();
  }
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function server(t: T) {
  const s = await startHfServer({});
  t.after(() => s.close());
  return s;
}

const TEXTS = ['great kettle', 'broke after a day', 'fine, nothing special', 'would buy again'];

test('a typo in --text-column, then the corrected command: the job starts afresh with one notice line', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const input = path.join(dir, 'in.csv');
  writeCsv(input, TEXTS);
  const out = path.join(dir, 'out.csv');
  const env = { HF_INFERENCE_ENDPOINT: s.url };
  const first = await runCli(['run', '--input', input, '--model', 'm', '--output', out, '--text-column', 'txet'], env);
  assert.notEqual(first.code, 0);
  const second = await runCli(['run', '--input', input, '--model', 'm', '--output', out], env);
  assert.equal(second.code, 0, second.stderr);
  const notices = second.stderr.split('\n').filter((l) => l.includes('starting the job afresh'));
  assert.equal(notices.length, 1, second.stderr);
  assert.match(notices[0]!, /textColumn changed \("txet" → "text"\)/);
  assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, TEXTS.length + 1);
});

test('a wrong --endpoint that stops the run at once, then the right one: afresh (it was refused with "discard its 0 finished rows")', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const input = path.join(dir, 'in.csv');
  writeCsv(input, TEXTS);
  const out = path.join(dir, 'out.csv');
  const dead = `http://127.0.0.1:${await closedPort()}/models/m`;
  const first = await runCli(['run', '--input', input, '--endpoint', dead, '--output', out, '--breaker-failures', '1']);
  assert.equal(first.code, 1, first.stderr);
  const second = await runCli(['run', '--input', input, '--endpoint', `${s.url}/models/m`, '--output', out]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /no row was labeled under the earlier settings \(endpoint changed .*\); starting the job afresh\./);
});

test('an endpoint that refused every row (all failed), then the right one: afresh, the failures discarded, not counted as finished', async (t) => {
  const dir = tempDir(t);
  const bad = await startHfServer({ respond: () => ({ status: 400, json: { error: 'this endpoint serves another task' } }) });
  t.after(() => bad.close());
  const s = await server(t);
  const input = path.join(dir, 'in.csv');
  writeCsv(input, TEXTS);
  const out = path.join(dir, 'out.csv');
  const checkpoint = path.join(dir, 'out.batchlabel.sqlite');
  const first = await runCli(['run', '--input', input, '--endpoint', `${bad.url}/models/m`, '--output', out]);
  assert.equal(first.code, 4, first.stderr); // every row failed
  assert.equal(rowCounts(checkpoint).failed, TEXTS.length);
  const second = await runCli(['run', '--input', input, '--endpoint', `${s.url}/models/m`, '--output', out]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /starting the job afresh \(its 4 failed rows discarded\)/);
  assert.deepEqual(rowCounts(checkpoint), { done: TEXTS.length, failed: 0 });
});

test('after one successful row, a changed setting is still refused: successful results are protected', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const input = path.join(dir, 'in.csv');
  writeCsv(input, TEXTS);
  const out = path.join(dir, 'out.csv');
  const env = { HF_INFERENCE_ENDPOINT: s.url };
  assert.equal((await runCli(['run', '--input', input, '--model', 'm', '--output', out], env)).code, 0);
  const again = await runCli(['run', '--input', input, '--model', 'other', '--output', out], env);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /belongs to another job: model changed/);
  assert.ok(existsSync(out));
});

async function waitForRows(checkpoint: string, n: number): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    try {
      const c = rowCounts(checkpoint);
      if (c.done + c.failed >= n) return;
    } catch {
      // not created yet
    }
    if (Date.now() > end) throw new Error(`fewer than ${n} rows committed in time`);
    await sleep(20);
  }
}

async function lastRunState(checkpoint: string): Promise<string> {
  const r = await runCli(['status', checkpoint, '--json']);
  assert.equal(r.code, 3, r.stderr); // unfinished
  return (JSON.parse(r.stdout) as { lastRun: { state: string } }).lastRun.state;
}

test('status: a run killed with -9 is "interrupted", not "last run running"; a live one is running', async (t) => {
  const dir = tempDir(t);
  const s = await startHfServer({ delayMs: 30 });
  t.after(() => s.close());
  const input = path.join(dir, 'in.csv');
  writeCsv(input, Array.from({ length: 2000 }, (_, i) => `review number ${i}`));
  const checkpoint = path.join(dir, 'in.csv.batchlabel.sqlite');
  const child = spawnCli(['run', '--input', input, '--model', 'm', '--concurrency', '1'], { HF_INFERENCE_ENDPOINT: s.url });
  const done = collect(child);
  await waitForRows(checkpoint, 5);
  await sleep(1200); // the runs row is written once a second
  assert.equal(await lastRunState(checkpoint), 'running');
  child.kill('SIGKILL');
  await done;
  assert.ok(existsSync(`${checkpoint}.lock`), 'kill -9 leaves the lock behind');
  assert.equal(await lastRunState(checkpoint), 'interrupted');
  const text = await runCli(['status', checkpoint]);
  assert.match(text.stdout, /^last run {4}interrupted, /m);
});

test('out.csv and out.jsonl get a checkpoint each: the short name stays the first output\'s (old checkpoints resume), the second gets its format in the name', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const env = { HF_INFERENCE_ENDPOINT: s.url };
  const a = path.join(dir, 'a.csv');
  const b = path.join(dir, 'b.csv');
  writeCsv(a, TEXTS);
  writeCsv(b, ['another input', 'with other rows']);
  const csv = path.join(dir, 'out.csv');
  const jsonl = path.join(dir, 'out.jsonl');
  const first = await runCli(['run', '--input', a, '--model', 'm', '--output', csv], env);
  assert.equal(first.code, 0, first.stderr);
  const second = await runCli(['run', '--input', b, '--model', 'm', '--output', jsonl], env);
  assert.equal(second.code, 0, second.stderr); // was: "out.batchlabel.sqlite belongs to another job"
  assert.equal(readFileSync(jsonl, 'utf8').trim().split('\n').length, 2);
  assert.deepEqual(rowCounts(path.join(dir, 'out.batchlabel.sqlite')), { done: TEXTS.length, failed: 0 });
  assert.deepEqual(rowCounts(path.join(dir, 'out.jsonl.batchlabel.sqlite')), { done: 2, failed: 0 });
  // Each resumes its own checkpoint: nothing is sent again.
  const before = s.requests.length;
  for (const [input, output] of [[a, csv], [b, jsonl]] as const) {
    const again = await runCli(['run', '--input', input, '--model', 'm', '--output', output], env);
    assert.equal(again.code, 0, again.stderr);
  }
  assert.equal(s.requests.length, before);
});

test('empty texts are skipped: counted apart in the summary and status, blank in the export, exit 0; --empty fail keeps them failures (exit 4)', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const env = { HF_INFERENCE_ENDPOINT: s.url };
  const input = path.join(dir, 'in.csv');
  writeCsv(input, ['great kettle', '', '   ', 'broke after a day']);
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', out, '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /done: 2 rows labeled, 0 failed, 2 skipped \(empty text\)/);
  const summary = JSON.parse(r.stdout) as { rows: { labeled: number; failed: number; skipped: number } };
  assert.deepEqual([summary.rows.labeled, summary.rows.failed, summary.rows.skipped], [2, 0, 2]);
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  assert.equal(lines[0], 'id,text,predicted_label,predicted_score,truncated,error');
  assert.equal(lines[2], '1,"",,,,');
  assert.equal(lines[3], '2,"   ",,,,');
  assert.match(lines[1]!, /^0,"great kettle",(POSITIVE|NEGATIVE),0\.\d+,,$/);
  const checkpoint = path.join(dir, 'out.batchlabel.sqlite');
  const st = await runCli(['status', checkpoint, '--json'], env);
  assert.equal(st.code, 0, st.stderr); // finished, no failure
  const report = JSON.parse(st.stdout) as { rows: { skipped: number; pending: number }; finished: boolean; failures: unknown[] };
  assert.deepEqual([report.rows.skipped, report.rows.pending, report.finished, report.failures.length], [2, 0, true, 0]);
  assert.match((await runCli(['status', checkpoint])).stdout, /2 labeled, 0 failed, 2 skipped \(empty text\), 0 pending/);
  // Finished rows for resume and for a later export.
  const before = s.requests.length;
  const again = await runCli(['run', '--input', input, '--model', 'm', '--output', out], env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(s.requests.length, before);
  const exported = path.join(dir, 'again.jsonl');
  assert.equal((await runCli(['export', checkpoint, '--output', exported])).code, 0);
  const rows = readFileSync(exported, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(rows[1]!.predicted_label, null);
  assert.equal(rows[1]!.error, null);

  const failing = await runCli(['run', '--input', input, '--model', 'm', '--output', path.join(dir, 'fail.csv'), '--empty', 'fail'], env);
  assert.equal(failing.code, 4, failing.stderr);
  assert.match(failing.stderr, /done: 2 rows labeled, 2 failed\./);
});

test('empty texts in JSONL are skipped too, and a job file takes "empty"', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const input = path.join(dir, 'in.jsonl');
  writeFileSync(input, '{"text":"fine"}\n{"text":""}\n{"text":"bad"}\n');
  const job = path.join(dir, 'job.json');
  writeFileSync(job, JSON.stringify({ input: 'in.jsonl', model: 'm', output: 'out.jsonl', empty: 'fail' }));
  const r = await runCli(['run', job], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(r.code, 4, r.stderr);
  const skip = await runCli(['run', '--input', input, '--model', 'm', '--output', path.join(dir, 'skip.jsonl')], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(skip.code, 0, skip.stderr);
  assert.match(skip.stderr, /1 skipped \(empty text\)/);
});

test('--max-chars: texts are cut before they are sent (never half a character), marked truncated; the cut is part of the job', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const env = { HF_INFERENCE_ENDPOINT: s.url };
  const input = path.join(dir, 'in.csv');
  writeCsv(input, ['short', 'très long texte 😀 ici', 'abcdef😀x']);
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', out, '--max-chars', '7'], env);
  assert.equal(r.code, 0, r.stderr);
  const sent = s.requests.map((q) => (q.body as { inputs: string }).inputs).sort();
  assert.deepEqual(sent, ['abcdef', 'short', 'très lo'].sort()); // 7 units would end inside the emoji's surrogate pair
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  assert.match(lines[2]!, /,true,$/);
  assert.match(lines[1]!, /,,$/);
  const again = await runCli(['run', '--input', input, '--model', 'm', '--output', out, '--max-chars', '3'], env);
  assert.match(again.stderr, /belongs to another job: maxChars changed \(7 → 3\)/);
});

test('a ~50 MB text field is labeled from its first 100,000 characters (the default), marked truncated', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const input = path.join(dir, 'big.csv');
  const huge = 'word '.repeat(10 * 1024 * 1024); // 50 MiB
  writeFileSync(input, `id,text\n0,a normal review\n1,${huge}\n2,another review\n`);
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['run', '--input', input, '--model', 'm', '--output', out, '--json'], { HF_INFERENCE_ENDPOINT: s.url });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { rows: { truncated: number } }).rows.truncated, 1);
  const longest = Math.max(...s.requests.map((q) => (q.body as { inputs: string }).inputs.length));
  assert.equal(longest, 100_000);
  const db = new Database(path.join(dir, 'out.batchlabel.sqlite'), { readonly: true });
  try {
    assert.deepEqual(db.prepare('SELECT ordinal, truncated FROM rows ORDER BY ordinal').all(), [{ ordinal: 0, truncated: null }, { ordinal: 1, truncated: 1 }, { ordinal: 2, truncated: null }]);
  } finally {
    db.close();
  }
});

test('invalid UTF-8 (a Latin-1 file) is told once with its line and byte offset, and counted at the end', async (t) => {
  const dir = tempDir(t);
  const s = await server(t);
  const env = { HF_INFERENCE_ENDPOINT: s.url };
  const csv = path.join(dir, 'latin1.csv');
  const head = Buffer.from('id,text\n0,plain\n');
  writeFileSync(csv, Buffer.concat([head, Buffer.from('1,caf\xe9 cr\xe8me\n2,fine\n3,tr\xe8s bien\n', 'latin1')]));
  const r = await runCli(['run', '--input', csv, '--model', 'm', '--output', path.join(dir, 'out.csv')], env);
  assert.equal(r.code, 0, r.stderr);
  const told = r.stderr.split('\n').filter((l) => l.includes('not valid UTF-8'));
  assert.equal(told.length, 2, r.stderr);
  assert.match(told[0]!, new RegExp(`the text at line 3, byte ${head.length} is not valid UTF-8; it is labeled with U\\+FFFD`));
  assert.match(told[1]!, /2 rows read in this run had text that is not valid UTF-8 \(the first at line 3, byte 16\)/);

  const jsonl = path.join(dir, 'latin1.jsonl');
  writeFileSync(jsonl, Buffer.concat([Buffer.from('{"text":"ok \uFFFD as written"}\n', 'utf8'), Buffer.from('{"text":"caf\xe9"}\n', 'latin1')]));
  const j = await runCli(['run', '--input', jsonl, '--model', 'm', '--output', path.join(dir, 'out.jsonl')], env);
  assert.equal(j.code, 0, j.stderr);
  assert.match(j.stderr, /the text at line 2, byte 29 is not valid UTF-8/); // a U+FFFD written in valid UTF-8 is not reported
  assert.match(j.stderr, /1 row read in this run had text that is not valid UTF-8/);
});

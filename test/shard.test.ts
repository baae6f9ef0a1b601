import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startHfServer, type HfServer } from './support/hf-server.js';
import { collect, runCli, spawnCli, tempDir } from './support/cli.js';
import { waitFor } from './support/slurm.js';
import { sampleCsv, sampleJsonl, sampleRows } from './support/sample-data.js';
import { INDEX_VARIABLES, SHARD_BLOCK, ownsRow, parseShard, shardCheckpoint, shardOf, shardRows, shardSettings } from '../src/shard/shard.js';
import { resolveSettings } from '../src/job/resolve.js';
import { openJobCheckpoint } from '../src/pipeline/prepare.js';
import { runJob } from '../src/pipeline/run.js';
import { UsageError } from '../src/errors.js';

const TOKEN = 'hf_TestSecretToken1234567890';
const ROWS = 3000;

function finishedRows(file: string): number {
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT COUNT(*) FROM rows').pluck().get() as number;
  } catch {
    return 0; // created, tables not yet
  } finally {
    db.close();
  }
}

test('parseShard: I/N, or auto/N with the index from each scheduler variable; N always from the command', () => {
  assert.deepEqual(parseShard('2/4', {}), { index: 2, count: 4 });
  assert.deepEqual(parseShard(' 0 / 1 ', {}), { index: 0, count: 1 });
  for (const name of INDEX_VARIABLES) assert.deepEqual(parseShard('auto/4', { [name]: '3' }), { index: 3, count: 4, from: name });
  // A resubmitted Slurm task says count 1: ignored.
  assert.deepEqual(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '1' }), { index: 2, count: 4, from: 'SLURM_ARRAY_TASK_ID' });
  assert.throws(() => parseShard('auto/4', {}), (e: Error) => e instanceof UsageError && /none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX, CLOUD_RUN_TASK_INDEX is set/.test(e.message));
  assert.throws(() => parseShard('auto/4', { JOB_COMPLETION_INDEX: '4' }), /JOB_COMPLETION_INDEX=4 is not a task index from 0 to 3/);
  assert.throws(() => parseShard('4/4', {}), /from 0 to 3/);
  for (const bad of ['2', '2/0', 'a/4', '1/4/2', '-1/4', '1/x', '']) assert.throws(() => parseShard(bad, {}), UsageError, bad);
});

test('shards: every row belongs to exactly one shard, in interleaved blocks; shardRows counts each share', () => {
  for (const count of [1, 2, 3, 4, 7]) {
    const owns = Array.from({ length: count }, (_, index) => ownsRow({ index, count }));
    for (const total of [0, 1, 255, 256, 257, SHARD_BLOCK * count - 1, SHARD_BLOCK * count, 5000, 12_345]) {
      const seen = new Array(count).fill(0) as number[];
      for (let o = 0; o < total; o++) {
        const owners = owns.map((f, i) => (f(o) ? i : -1)).filter((i) => i >= 0);
        assert.deepEqual(owners, [shardOf(o, count)], `row ${o} of ${count} shards`);
        seen[owners[0]!]!++;
      }
      assert.deepEqual(seen, seen.map((_, index) => shardRows(total, { index, count })), `${total} rows in ${count} shards`);
      if (total >= SHARD_BLOCK * count) assert.ok(Math.max(...seen) - Math.min(...seen) <= SHARD_BLOCK);
    }
  }
  assert.equal(shardOf(0, 4), 0);
  assert.equal(shardOf(255, 4), 0);
  assert.equal(shardOf(256, 4), 1);
  assert.equal(shardOf(1024, 4), 0);
  assert.ok(ownsRow(undefined)(12_345));
});

test("shard checkpoints sit next to the job's: <output>.shard-I-of-N.batchlabel.sqlite, or inside a --checkpoint name", () => {
  assert.equal(shardCheckpoint('/o/labeled.batchlabel.sqlite', { index: 2, count: 4 }), '/o/labeled.shard-2-of-4.batchlabel.sqlite');
  assert.equal(shardCheckpoint('/c/job.sqlite', { index: 0, count: 16 }), '/c/job.shard-0-of-16.sqlite');
  const s = resolveSettings({ input: '/d/in.csv', model: 'm', output: '/o/labeled.csv', shard: '1/3' });
  assert.equal(s.checkpoint, '/o/labeled.shard-1-of-3.batchlabel.sqlite');
  assert.deepEqual(s.shard, { index: 1, count: 3 });
  assert.equal(resolveSettings({ input: '/d/in.csv', model: 'm', checkpoint: '/c/x.sqlite', shard: '1/3' }).checkpoint, '/c/x.shard-1-of-3.sqlite');
  assert.equal(shardSettings(resolveSettings({ input: '/d/in.csv', model: 'm' }), { index: 0, count: 2 }).checkpoint, '/d/in.csv.shard-0-of-2.batchlabel.sqlite');
  assert.throws(() => shardSettings(resolveSettings({ input: '/d/in.csv', model: 'm' }), { index: 2, count: 2 }), UsageError);
});

async function server(t: { after(fn: () => Promise<void>): void }, opts: Parameters<typeof startHfServer>[0] = {}): Promise<HfServer> {
  const s = await startHfServer({ token: TOKEN, delayMs: 1, ...opts });
  t.after(() => s.close());
  return s;
}

const env = (s: HfServer) => ({ HF_INFERENCE_ENDPOINT: s.url, HF_TOKEN: TOKEN });

/** A job of ROWS sample reviews (duplicates, quoted newlines) with its single-process export. */
async function job(t: Parameters<typeof tempDir>[0], s: HfServer, format: 'csv' | 'jsonl', extra: Record<string, unknown> = {}) {
  const dir = tempDir(t);
  const rows = sampleRows(ROWS);
  const input = path.join(dir, `reviews.${format}`);
  writeFileSync(input, format === 'csv' ? sampleCsv(rows) : sampleJsonl(rows));
  const file = path.join(dir, 'job.json');
  writeFileSync(file, JSON.stringify({ input: path.basename(input), model: 'org/sentiment', output: `out/labeled.${format}`, concurrency: 4, ...(format === 'jsonl' ? { textColumn: 'review.text' } : {}), ...extra }));
  const single = path.join(dir, 'single', `labeled.${format}`);
  const r = await runCli(['run', file, '--output', single, '--quiet'], env(s));
  assert.equal(r.code, 0, r.stderr);
  return { dir, file, single, checkpoint: (i: number, n = 4) => path.join(dir, 'out', `labeled.shard-${i}-of-${n}.batchlabel.sqlite`), merged: path.join(dir, 'out', `labeled.${format}`) };
}

async function runShards(s: HfServer, file: string, count: number, only?: number[]): Promise<void> {
  const which = only ?? Array.from({ length: count }, (_, i) => i);
  const results = await Promise.all(which.map((i) => runCli(['run', file, '--shard', `${i}/${count}`], env(s))));
  results.forEach((r, k) => assert.equal(r.code, 0, `shard ${which[k]}: ${r.stderr}`));
}

test('CSV: 4 shards run side by side merge into the single-process export, byte for byte; status shows each and the total', async (t) => {
  const s = await server(t);
  const j = await job(t, s, 'csv');
  await runShards(s, j.file, 4);
  assert.ok(!existsSync(j.merged), 'a shard never writes the job export');
  for (let i = 0; i < 4; i++) {
    const db = new Database(j.checkpoint(i), { readonly: true });
    const ordinals = db.prepare('SELECT ordinal FROM rows').pluck().all() as number[];
    const meta = (k: string) => JSON.parse(db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(k) as string) as unknown;
    assert.ok(ordinals.every((o) => shardOf(o, 4) === i), `shard ${i} labeled another shard's row`);
    assert.equal(ordinals.length, shardRows(ROWS, { index: i, count: 4 }));
    assert.deepEqual(meta('shard'), { index: i, count: 4, block: SHARD_BLOCK });
    // The frontier moved over the rows of the other shards: a rerun has nothing left to read.
    assert.equal((meta('frontier') as { ordinal: number }).ordinal, ROWS);
    db.close();
  }
  const again = await runCli(['run', j.file, '--shard', '1/4'], env(s));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /this run: 0 rows/);

  const status = await runCli(['status', j.file, '--shards', '4', '--json']);
  assert.equal(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as { finished: boolean; shards: { state: string; rows: { done: number; pending: number } }[]; total: { done: number; pending: number; missing: number[]; rowsPerSecond: number; etaMs: number } };
  assert.equal(report.finished, true);
  assert.deepEqual(report.shards.map((x) => [x.state, x.rows.done, x.rows.pending]), [0, 1, 2, 3].map((i) => ['finished', shardRows(ROWS, { index: i, count: 4 }), 0]));
  assert.deepEqual([report.total.done, report.total.pending, report.total.missing, report.total.etaMs], [ROWS, 0, [], 0]);
  // Any shard's checkpoint names the job too (no job file needed).
  const byCheckpoint = await runCli(['status', j.checkpoint(2), '--shards', '4', '--json']);
  assert.equal(byCheckpoint.code, 0, byCheckpoint.stderr);
  assert.deepEqual(JSON.parse(byCheckpoint.stdout).total, report.total);
  // A job file naming one task's shard (auto: no scheduler variable here) still names the whole job.
  const perTask = path.join(j.dir, 'per-task.json');
  writeFileSync(perTask, JSON.stringify({ ...JSON.parse(readFileSync(j.file, 'utf8')), shard: 'auto/4' }));
  const byTaskFile = await runCli(['status', perTask, '--shards', '4', '--json']);
  assert.equal(byTaskFile.code, 0, byTaskFile.stderr);
  const text = await runCli(['status', j.file, '--shards', '4']);
  assert.match(text.stdout, /^shard 3\/4 {2}finished, 696 labeled, 0 failed, 0 pending of 696/m);
  assert.match(text.stdout, /^total {7}3,000 labeled, 0 failed, 0 pending/m);

  const exp = await runCli(['export', j.file, '--shards', '4']);
  assert.equal(exp.code, 0, exp.stderr);
  assert.match(exp.stderr, /wrote .*labeled\.csv: 3,000 rows from 4 shards, 3,000 labeled, 0 failed\./);
  assert.ok(readFileSync(j.merged).equals(readFileSync(j.single)), 'merged export differs from the single-process one');

  // A shard's checkpoint alone is not the job.
  const one = await runCli(['export', j.checkpoint(0), '--output', path.join(j.dir, 'x.csv')]);
  assert.equal(one.code, 1);
  assert.match(one.stderr, /holds shard 0 of 4 of a job, not the whole job: merge the shards with `node dist\/src\/cli\/main\.js export JOB --shards 4/);
});

test('JSONL with a column per label (--top-k 2): the merge takes the labels of every shard and equals one process', async (t) => {
  const s = await server(t, { labels: ['NEGATIVE', 'NEUTRAL', 'POSITIVE'] });
  const j = await job(t, s, 'jsonl', { topK: 2 });
  await runShards(s, j.file, 3);
  const merged = path.join(j.dir, 'merged.jsonl');
  const exp = await runCli(['export', j.file, '--shards', '3', '--output', merged]);
  assert.equal(exp.code, 0, exp.stderr);
  assert.ok(readFileSync(merged).equals(readFileSync(j.single)));
});

test('the merge refuses, naming them, while shards are missing, unfinished or from another job; --partial leaves their rows blank', async (t) => {
  const s = await server(t);
  const j = await job(t, s, 'csv');
  await runShards(s, j.file, 4, [0]);
  // Shard 1 is interrupted, shard 2 labeled with another model, shard 3 never ran.
  const slow = await server(t, { delayMs: 30 });
  const child = spawnCli(['run', j.file, '--shard', '1/4', '--concurrency', '1'], env(slow));
  const stopped = collect(child);
  await waitFor(() => finishedRows(j.checkpoint(1)) >= 20, 30_000, () => 'shard 1 never committed');
  child.kill('SIGINT');
  assert.equal((await stopped).code, 130);
  const other = await runCli(['run', j.file, '--shard', '2/4', '--model', 'org/other-model'], env(s));
  assert.equal(other.code, 0, other.stderr);
  const exp = await runCli(['export', j.file, '--shards', '4', '--output', path.join(j.dir, 'm.csv')]);
  assert.equal(exp.code, 1);
  assert.equal(exp.stderr.trim().split('\n').length, 1, exp.stderr);
  assert.match(exp.stderr, /cannot merge 4 shards: shard 1 unfinished \(\d+ rows done\); shard 2 of 4 is from another job \(model "org\/other-model", not "org\/sentiment"\); shard 3 missing \(no .*labeled\.shard-3-of-4\.batchlabel\.sqlite\)\. Run or resume them/);
  assert.ok(!existsSync(path.join(j.dir, 'm.csv')));

  const status = await runCli(['status', j.file, '--shards', '4', '--json']);
  assert.equal(status.code, 3);
  const report = JSON.parse(status.stdout) as { finished: boolean; total: { missing: number[]; unfinished: number[]; otherJob: number[]; pending: number | null; etaMs: number | null } };
  assert.deepEqual([report.finished, report.total.missing, report.total.unfinished, report.total.otherJob, report.total.pending, report.total.etaMs], [false, [3], [1], [2], null, null]);

  const partial = await runCli(['export', j.file, '--shards', '4', '--output', path.join(j.dir, 'p.csv'), '--partial']);
  assert.equal(partial.code, 0, partial.stderr);
  const labeled = shardRows(ROWS, { index: 0, count: 4 }) + finishedRows(j.checkpoint(1));
  const n = (x: number) => x.toLocaleString('en-US');
  assert.match(partial.stderr, new RegExp(`3,000 rows from 4 shards, ${n(labeled)} labeled, 0 failed, ${n(ROWS - labeled)} not labeled yet \\(rows of shard 1, 2, 3 left blank`));

  // A checkpoint is never resumed as another shard.
  copyFileSync(j.checkpoint(0), j.checkpoint(3));
  const wrong = await runCli(['run', j.file, '--shard', '3/4'], env(s));
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /labeled\.shard-3-of-4\.batchlabel\.sqlite holds shard 0 of 4 \(blocks of 256\), not shard 3 of 4 \(blocks of 256\)/);
});

test('library: shardSettings + runJob label only the shard\'s rows and count its share as the total', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  writeFileSync(input, sampleCsv(sampleRows(1000)));
  const job = resolveSettings({ input, endpoint: `${s.url}/models/m`, concurrency: 2 });
  process.env.HF_TOKEN_FOR_SHARD_TEST = TOKEN;
  t.after(() => delete process.env.HF_TOKEN_FOR_SHARD_TEST);
  const settings = shardSettings({ ...job, hf: { ...job.hf, tokenEnv: 'HF_TOKEN_FOR_SHARD_TEST' } }, { index: 1, count: 2 });
  const { store } = await openJobCheckpoint(settings, { restart: false, notice: () => {} });
  try {
    const r = await runJob(settings, store, { stop: new AbortController().signal, drainMs: 1000, retryFailed: false, exportTo: { output: path.join(dir, 'never.csv'), format: 'csv' } });
    assert.equal(r.state, 'completed');
    assert.equal(r.exported, undefined, 'a shard never writes the export');
    assert.ok(!existsSync(path.join(dir, 'never.csv')));
    assert.equal(r.stats.rowsTotal, shardRows(1000, { index: 1, count: 2 }));
    assert.equal(store.counts().done, 488); // blocks 1 and 3: rows 256-511 and 768-999
  } finally {
    store.close();
  }
  assert.equal(settings.checkpoint, `${input}.shard-1-of-2.batchlabel.sqlite`);
});

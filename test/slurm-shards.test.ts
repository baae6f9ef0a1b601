/**
 * One job as a 4-task Slurm array on a real single-node cluster (munged, slurmctld, slurmd started here):
 * one task is killed mid-run and resubmitted on its own, then the shards are merged, and the merge must be
 * the single-process export byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { startHfServer } from './support/hf-server.js';
import { CLI, REPO, runCli, tempDir } from './support/cli.js';
import { sampleCsv, sampleRows } from './support/sample-data.js';
import { slurmInstalled, startSlurm, waitFor } from './support/slurm.js';
import { shardOf, shardRows } from '../src/shard/shard.js';

const TOKEN = 'hf_TestSecretToken1234567890';
const COUNT = 4;
const KILLED = 2;

/** Rows finished in a checkpoint, read the way `status` does (the run may be writing it). */
function finishedRows(file: string): number {
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COUNT(*) FROM rows').pluck().get() as number) ?? 0;
  } catch {
    return 0; // created, tables not yet
  } finally {
    db.close();
  }
}

test('Slurm array of `run --shard auto/4`: a task killed with SIGKILL and resubmitted resumes; the merge equals the single-process export byte for byte', async (t) => {
  assert.ok(slurmInstalled(), 'Slurm is not installed: `.ci/run` installs slurmctld slurmd slurm-client munge with apt');
  const dir = tempDir(t);
  const rows = sampleRows(4000);
  writeFileSync(path.join(dir, 'reviews.csv'), sampleCsv(rows));

  // Shard 2 stalls in its second round of blocks, on texts no other shard has, until the test has killed it.
  const late = (i: number) => shardOf(i, COUNT) === KILLED && i >= 256 * COUNT;
  const elsewhere = new Set(rows.filter((_, i) => !late(i)).map((r) => r.text));
  const held = new Set(rows.filter((r, i) => late(i) && !elsewhere.has(r.text)).map((r) => r.text));
  assert.ok(held.size > 50, `texts only shard ${KILLED} has: ${held.size}`);
  let gateOpen = false;
  let heldRequests = 0;
  const server = await startHfServer({
    token: TOKEN,
    delayMs: 2,
    respond: ({ texts }) => {
      if (gateOpen || !texts.some((x) => held.has(x))) return undefined;
      heldRequests++;
      return { status: 503, json: { error: 'held by the test' }, delayMs: 600_000 };
    },
  });
  t.after(() => server.close());

  const job = path.join(dir, 'job.json');
  writeFileSync(job, JSON.stringify({ input: 'reviews.csv', model: 'org/sentiment', output: 'out/labeled.csv', concurrency: 4 }));
  const script = path.join(dir, 'label.sh');
  writeFileSync(script, `#!/bin/sh\nexec ${process.execPath} ${CLI} run ${job} --shard auto/${COUNT}\n`);
  chmodSync(script, 0o755);
  mkdirSync(path.join(dir, 'logs'));

  const cluster = await startSlurm();
  t.after(() => cluster.stop());
  const env = {
    HF_INFERENCE_ENDPOINT: server.url,
    HF_TOKEN: TOKEN,
    HF_TOKEN_PATH: path.join(tmpdir(), 'batchlabel-tests-no-token-file'),
    BATCHLABEL_PROGRESS_INTERVAL_MS: '60000',
  };
  const submit = (array: string) => cluster.sbatch([`--array=${array}`, '--job-name=batchlabel', `--chdir=${dir}`, `--output=${dir}/logs/task-%a-%A.log`, script], env);
  const checkpoint = (i: number) => path.join(dir, 'out', `labeled.shard-${i}-of-${COUNT}.batchlabel.sqlite`);

  const first = await submit(`0-${COUNT - 1}`);
  await waitFor(
    async () => heldRequests > 0 && finishedRows(checkpoint(KILLED)) >= 256 && (await cluster.taskStates(first)).get(KILLED) === 'RUNNING',
    120_000,
    () => `shard ${KILLED} never reached its held rows:\n${cluster.logs()}`,
  );
  // --batch: SIGKILL straight to the task's process. Without it Slurm cancels the job (SIGTERM, then
  // SIGKILL after KillWait), which batchlabel handles as a graceful stop.
  await cluster.client('scancel', ['--signal=KILL', '--batch', `${first}_${KILLED}`]);
  await waitFor(async () => !/RUNNING|PENDING|COMPLETING/.test((await cluster.taskStates(first)).get(KILLED) ?? ''), 30_000, () => `task ${KILLED} still runs after SIGKILL`);
  const share = shardRows(rows.length, { index: KILLED, count: COUNT });
  const beforeKill = finishedRows(checkpoint(KILLED));
  assert.ok(beforeKill >= 256 && beforeKill < share, `killed mid-run: ${beforeKill} of ${share} rows finished`);

  gateOpen = true;
  const second = await submit(String(KILLED)); // SLURM_ARRAY_TASK_COUNT is 1 here: N comes from the command
  await cluster.idle(180_000);
  const states = await cluster.taskStates(first);
  for (let i = 0; i < COUNT; i++) if (i !== KILLED) assert.equal(states.get(i), 'COMPLETED', `task ${i}: ${readFileSync(path.join(dir, 'logs', `task-${i}-${first}.log`), 'utf8')}`);
  assert.equal(states.get(KILLED), 'FAILED'); // killed by a signal
  const killedLog = readFileSync(path.join(dir, 'logs', `task-${KILLED}-${first}.log`), 'utf8');
  assert.doesNotMatch(killedLog, /SIGTERM|interrupted/, 'the task was stopped gracefully, not killed');
  const log = readFileSync(path.join(dir, 'logs', `task-${KILLED}-${second}.log`), 'utf8');
  assert.equal((await cluster.taskStates(second)).get(KILLED), 'COMPLETED', log);
  assert.match(log, new RegExp(`shard ${KILLED} of ${COUNT} \\(0-based; index from SLURM_ARRAY_TASK_ID\\)`));
  assert.match(log, /resuming: [\d,]+ rows already finished/);
  assert.ok(!existsSync(path.join(dir, 'out', 'labeled.csv')), 'a shard never writes the job export');

  // The resumed task did only what the killed one had not committed.
  const db = new Database(checkpoint(KILLED), { readonly: true });
  const runs = db.prepare('SELECT state, rows_done + rows_failed AS n FROM runs ORDER BY id').all() as { state: string; n: number }[];
  db.close();
  assert.equal(runs.length, 2);
  assert.equal(runs[1]!.state, 'completed');
  assert.ok(runs[1]!.n <= share - beforeKill, `second run redid finished rows: ${runs[1]!.n} > ${share - beforeKill}`);

  const status = await runCli(['status', job, '--shards', String(COUNT), '--json']);
  assert.equal(status.code, 0, status.stderr);
  const report = JSON.parse(status.stdout) as { finished: boolean; total: { done: number; failed: number; pending: number } };
  assert.deepEqual([report.finished, report.total.done, report.total.failed, report.total.pending], [true, rows.length, 0, 0]);

  const merged = path.join(dir, 'out', 'merged.csv');
  const exp = await runCli(['export', job, '--shards', String(COUNT), '--output', merged]);
  assert.equal(exp.code, 0, exp.stderr);
  const single = path.join(dir, 'single', 'labeled.csv');
  const one = await runCli(['run', job, '--output', single, '--quiet'], env);
  assert.equal(one.code, 0, one.stderr);
  assert.ok(readFileSync(merged).equals(readFileSync(single)), 'the merged export differs from the single-process export');
});

test('Slurm example as documented: examples/slurm/submit.sh queues the array and the merge (afterok); the merge equals one process', async (t) => {
  assert.ok(slurmInstalled(), 'Slurm is not installed: `.ci/run` installs slurmctld slurmd slurm-client munge with apt');
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'jobs'));
  mkdirSync(path.join(dir, 'data'));
  const examples = path.join(REPO, 'examples');
  copyFileSync(path.join(examples, 'reviews.yaml'), path.join(dir, 'jobs', 'reviews.yaml'));
  const rows = 1500;
  writeFileSync(path.join(dir, 'data', 'reviews.csv'), sampleCsv(sampleRows(rows)));
  const server = await startHfServer({ token: TOKEN, delayMs: 1 });
  t.after(() => server.close());
  const cluster = await startSlurm();
  t.after(() => cluster.stop());
  const env = {
    HF_INFERENCE_ENDPOINT: server.url,
    HF_TOKEN: TOKEN,
    HF_TOKEN_PATH: path.join(tmpdir(), 'batchlabel-tests-no-token-file'),
    BATCHLABEL_PROGRESS_INTERVAL_MS: '60000',
    BATCHLABEL: `${process.execPath} ${CLI}`,
  };
  const out = await cluster.client('sh', [path.join(examples, 'slurm', 'submit.sh')], env, dir);
  const [, array, merge] = /shards: job (\d+) \(tasks 0-3\); merge: job (\d+), after all of them/.exec(out)!;
  await cluster.idle(180_000);
  const states = await cluster.taskStates(array!);
  assert.deepEqual([0, 1, 2, 3].map((i) => states.get(i)), ['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED'], cluster.logs());
  const mergeLog = readFileSync(path.join(dir, 'logs', `batchlabel-merge-${merge}.log`), 'utf8');
  assert.match(mergeLog, new RegExp(`${rows.toLocaleString('en-US')} rows from 4 shards`));
  const single = path.join(dir, 'single.csv');
  const one = await runCli(['run', path.join(dir, 'jobs', 'reviews.yaml'), '--output', single, '--quiet'], env);
  assert.equal(one.code, 0, one.stderr);
  assert.ok(readFileSync(path.join(dir, 'out', 'reviews-labeled.csv')).equals(readFileSync(single)));
});

/**
 * The scale-out examples are what users copy: the Kubernetes manifests must parse and say what the docs
 * say, and their commands must work as written (run here with /data mapped to a temporary folder and the
 * pod's JOB_COMPLETION_INDEX set). The Slurm scripts run for real in slurm-shards.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { parseAllDocuments } from 'yaml';
import { startHfServer } from './support/hf-server.js';
import { CLI, REPO, runCli, tempDir } from './support/cli.js';
import { sampleCsv, sampleRows } from './support/sample-data.js';
import { shardOf } from '../src/shard/shard.js';

const run = promisify(execFile);
const EXAMPLES = path.join(REPO, 'examples');

/** A parsed manifest: checked field by field below. */
type Doc = Record<string, any>;

function manifests(file: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(path.join(EXAMPLES, file), 'utf8'));
  for (const d of docs) assert.deepEqual(d.errors, [], `${file}: ${d.errors.join('; ')}`);
  return docs.map((d) => d.toJS() as Doc);
}

function shardJob() {
  const docs = manifests('kubernetes/shards-job.yaml');
  const pvc = docs.find((d) => d.kind === 'PersistentVolumeClaim')!;
  const job = docs.find((d) => d.kind === 'Job')!;
  const merge = manifests('kubernetes/merge-job.yaml').find((d) => d.kind === 'Job')!;
  return { pvc, job, merge };
}

test('Kubernetes example: an Indexed Job of N pods running --shard auto/N on a ReadWriteMany volume, the token from a Secret, and a merge Job', () => {
  const { pvc, job, merge } = shardJob();
  assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
  const spec = job.spec;
  assert.equal(spec.completionMode, 'Indexed');
  assert.equal(spec.parallelism, spec.completions);
  assert.ok(Number.isInteger(spec.backoffLimitPerIndex) && spec.backoffLimitPerIndex > 0);
  const pod = spec.template.spec;
  assert.equal(pod.restartPolicy, 'Never'); // podFailurePolicy and backoffLimitPerIndex need it
  const c = pod.containers[0];
  assert.ok(c.command.join(' ').includes(`--shard auto/${spec.completions}`), c.command.join(' '));
  assert.deepEqual(c.env.find((e: Doc) => e.name === 'HF_TOKEN').valueFrom.secretKeyRef, { name: 'hf-token', key: 'token' });
  assert.deepEqual(pod.volumes.map((v: Doc) => v.persistentVolumeClaim.claimName), [pvc.metadata.name]);
  assert.ok(spec.podFailurePolicy.rules.every((r: Doc) => !r.onExitCodes || r.onExitCodes.containerName === c.name));

  const m = merge.spec.template.spec;
  assert.deepEqual(m.containers[0].command.slice(0, 5), ['batchlabel', 'export', c.command.join(' ').match(/run (\S+)/)![1], '--shards', String(spec.completions)]);
  assert.deepEqual(m.volumes.map((v: Doc) => v.persistentVolumeClaim.claimName), [pvc.metadata.name]);
});

test("Kubernetes example: the pods' command, with JOB_COMPLETION_INDEX set as Kubernetes does, labels each shard; the merge Job's command writes the single-process export", async (t) => {
  const { job, merge } = shardJob();
  const count = job.spec.completions as number;
  const s = await startHfServer({ delayMs: 1 });
  t.after(() => s.close());
  // The volume: /data with the job file and the input, as the manifest's comments say.
  const data = tempDir(t);
  mkdirSync(path.join(data, 'jobs'));
  mkdirSync(path.join(data, 'data'));
  copyFileSync(path.join(EXAMPLES, 'reviews.yaml'), path.join(data, 'jobs', 'reviews.yaml'));
  const rows = 2000;
  writeFileSync(path.join(data, 'data', 'reviews.csv'), sampleCsv(sampleRows(rows)));
  // `batchlabel` on the PATH, as in the image.
  const bin = tempDir(t);
  writeFileSync(path.join(bin, 'batchlabel'), `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`);
  chmodSync(path.join(bin, 'batchlabel'), 0o755);
  const env = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH}`,
    HF_TOKEN: 'hf_FromTheSecret123',
    HF_INFERENCE_ENDPOINT: s.url,
    HF_TOKEN_PATH: path.join(tmpdir(), 'batchlabel-tests-no-token-file'),
    BATCHLABEL_PROGRESS_INTERVAL_MS: '60000',
  };
  const onVolume = (args: string[]) => args.map((a) => a.replaceAll('/data/', `${data}/`));
  const c = job.spec.template.spec.containers[0];
  const logs = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const [cmd, ...args] = onVolume(c.command);
      const r = await run(cmd!, args, { cwd: data, env: { ...env, JOB_COMPLETION_INDEX: String(i) } });
      return r.stderr;
    }),
  );
  logs.forEach((log, i) => assert.match(log, new RegExp(`shard ${i} of ${count} \\(0-based; index from JOB_COMPLETION_INDEX\\)`)));
  const db = new Database(path.join(data, 'out', `reviews-labeled.shard-2-of-${count}.batchlabel.sqlite`), { readonly: true });
  const ordinals = db.prepare('SELECT ordinal FROM rows').pluck().all() as number[];
  db.close();
  assert.ok(ordinals.length > 0 && ordinals.every((o) => shardOf(o, count) === 2));

  const [cmd, ...args] = onVolume(merge.spec.template.spec.containers[0].command);
  const merged = await run(cmd!, args, { cwd: data, env });
  assert.match(merged.stderr, new RegExp(`${rows.toLocaleString('en-US')} rows from ${count} shards`));
  const single = path.join(data, 'single.csv');
  const one = await runCli(['run', path.join(data, 'jobs', 'reviews.yaml'), '--output', single, '--quiet'], env);
  assert.equal(one.code, 0, one.stderr);
  assert.ok(readFileSync(path.join(data, 'out', 'reviews-labeled.csv')).equals(readFileSync(single)));
});

test('Slurm example: an array of N tasks with --requeue running --shard auto/N, and a merge queued with --dependency=afterok', () => {
  const shards = readFileSync(path.join(EXAMPLES, 'slurm', 'label-shards.sbatch'), 'utf8');
  const [, first, last] = /^#SBATCH --array=(\d+)-(\d+)$/m.exec(shards)!;
  const count = Number(last) - Number(first) + 1;
  assert.equal(first, '0');
  assert.match(shards, /^#SBATCH --requeue$/m);
  assert.match(shards, new RegExp(`run "\\$\\{BATCHLABEL_JOB:-jobs/reviews.yaml\\}" --shard auto/${count}$`, 'm'));
  assert.match(readFileSync(path.join(EXAMPLES, 'slurm', 'merge.sbatch'), 'utf8'), new RegExp(`export "\\$\\{BATCHLABEL_JOB:-jobs/reviews.yaml\\}" --shards ${count} `));
  assert.match(readFileSync(path.join(EXAMPLES, 'slurm', 'submit.sh'), 'utf8'), /sbatch --parsable --dependency=afterok:"\$array"/);
});

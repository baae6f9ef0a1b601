import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { runCli, tempDir } from './support/cli.js';
import { labelReportJob } from './support/report-job.js';

const readCsv = (file: string) => parse(readFileSync(file), { relax_column_count: true }) as string[][];

test('review exports: --max-score, --label and --sample write exactly the chosen rows of the full export, same columns, input order', async (t) => {
  const dir = tempDir(t);
  const job = await labelReportJob(t, dir);
  const exp = async (name: string, ...flags: string[]) => {
    const out = path.join(dir, name);
    const r = await runCli(['export', job.checkpoint, '--output', out, ...flags]);
    assert.equal(r.code, 0, r.stderr);
    return out;
  };
  const full = readCsv(await exp('full.csv'));
  const header = full[0]!;
  const [label, score] = [header.indexOf('predicted_label'), header.indexOf('predicted_score')];
  const labeled = full.slice(1).filter((r) => r[label] !== '');
  assert.ok(labeled.length > 250 && labeled.length < full.length - 1, 'the job has labeled and failed rows');

  const queue = readCsv(await exp('queue.csv', '--max-score', '0.6'));
  assert.deepEqual(queue[0], header);
  const wanted = labeled.filter((r) => Number(r[score]) < 0.6);
  assert.ok(wanted.length > 5 && wanted.length < labeled.length / 2);
  assert.deepEqual(queue.slice(1), wanted);

  const negQueue = readCsv(await exp('neg.csv', '--max-score', '0.7', '--label', 'NEGATIVE'));
  assert.deepEqual(negQueue.slice(1), labeled.filter((r) => Number(r[score]) < 0.7 && r[label] === 'NEGATIVE'));

  // JSONL out: the same rows, each line as the full JSONL export writes it.
  const fullJsonl = readFileSync(await exp('full.jsonl'), 'utf8').split('\n').filter(Boolean);
  const queueJsonl = readFileSync(await exp('queue.jsonl', '--max-score', '0.6'), 'utf8').split('\n').filter(Boolean);
  assert.deepEqual(queueJsonl, fullJsonl.filter((l) => { const o = JSON.parse(l); return o.predicted_label !== null && o.predicted_score < 0.6; }));

  const sample = async (name: string, ...flags: string[]) => readCsv(await exp(name, ...flags)).slice(1);
  const s20 = await sample('s20.csv', '--sample', '20', '--seed', '7');
  assert.equal(s20.length, 20);
  const key = (r: string[]) => r.join('\u0000');
  const fullIndex = new Map(full.slice(1).map((r, i) => [key(r), i]));
  const positions = s20.map((r) => fullIndex.get(key(r)));
  assert.ok(positions.every((p) => p !== undefined), 'every sampled row is a row of the full export, unchanged');
  assert.deepEqual(positions, [...positions].sort((a, b) => a! - b!), 'in input order');
  assert.ok(s20.every((r) => r[label] !== ''), 'only labeled rows');
  assert.deepEqual(await sample('s20b.csv', '--sample', '20', '--seed', '7'), s20, 'the same seed gives the same rows');
  const other = await sample('s20c.csv', '--sample', '20', '--seed', '8');
  assert.notDeepEqual(other, s20, 'another seed gives other rows');
  const s10 = await sample('s10.csv', '--sample', '10', '--seed', '7');
  assert.ok(s10.every((r) => s20.some((x) => key(x) === key(r))), 'a smaller sample is part of the larger one');
  // Roughly uniform: 20 of ~300 rows spread over the file, not bunched at its start.
  assert.ok(positions.at(-1)! > full.length / 2);

  const negSample = await sample('ns.csv', '--sample', '15', '--label', 'NEGATIVE', '--max-score', '0.9');
  assert.equal(negSample.length, 15);
  assert.ok(negSample.every((r) => r[label] === 'NEGATIVE' && Number(r[score]) < 0.9));
  const all = await sample('all.csv', '--sample', '100000');
  assert.deepEqual(all, labeled, 'a sample larger than the job is every labeled row');

  const bad = await runCli(['export', job.checkpoint, '--output', path.join(dir, 'x.csv'), '--seed', '3']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--seed goes with --sample N/);
  const bad2 = await runCli(['export', job.checkpoint, '--output', path.join(dir, 'x.csv'), '--sample', '0']);
  assert.equal(bad2.code, 2);
});

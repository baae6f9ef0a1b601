import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { num } from '../src/core/format.js';
import { report } from '../src/report/index.js';
import { shardOf } from '../src/shard/shard.js';
import { startHfServer, type HfServer } from './support/hf-server.js';
import { runCli, tempDir } from './support/cli.js';
import { sampleCsv, sampleRows } from './support/sample-data.js';

const TOKEN = 'hf_ReportShardsToken1234567890';
const REJECT = 'REJECT-ME';
/** Four 256-row blocks and a part: both shards own several blocks and an uneven share. */
const ROWS = 1100;
/** Rows that fail, in both shards' blocks: the server refuses three, one is empty. */
const REJECTED = [5, 300, 600, 1050];
const EMPTY = 700;

const env = (s: HfServer) => ({ HF_INFERENCE_ENDPOINT: s.url, HF_TOKEN: TOKEN });

/** Done and failed rows per shard of `count`, counted from the single-process checkpoint by ordinal. */
function perShard(checkpoint: string, count: number): { done: number; failed: number }[] {
  const db = new Database(checkpoint, { readonly: true, fileMustExist: true });
  try {
    const out = Array.from({ length: count }, () => ({ done: 0, failed: 0 }));
    for (const [ordinal, status] of db.prepare('SELECT ordinal, status FROM rows').raw(true).all() as [number, number][]) {
      if (status === 1) out[shardOf(ordinal, count)]!.done++;
      else if (status === 2) out[shardOf(ordinal, count)]!.failed++;
    }
    return out;
  } finally {
    db.close();
  }
}

/** The cells of the Shards section's table, as text. */
function shardTable(html: string): string[][] {
  const section = /<section id="shards">([\s\S]*?)<\/section>/.exec(html);
  assert.ok(section, 'the report has a Shards section');
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(section[1]!)![1]!;
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((tr) => [...tr[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((td) => td[1]!.replace(/<[^>]+>/g, '').trim()));
}

test('report --shards 2: each shard with its counts, and labels, quartiles, failures and least confident rows equal to one process', async (t) => {
  const server = await startHfServer({ token: TOKEN, badMarker: REJECT, delayMs: 1 });
  t.after(() => server.close());
  const dir = tempDir(t);
  const rows = sampleRows(ROWS);
  for (const i of REJECTED) rows[i]!.text = `${rows[i]!.text} ${REJECT} #${i}`;
  rows[EMPTY]!.text = '';
  writeFileSync(path.join(dir, 'reviews.csv'), sampleCsv(rows));
  const file = path.join(dir, 'job.json');
  writeFileSync(file, JSON.stringify({ input: 'reviews.csv', model: 'org/sentiment', idColumn: 'id', output: 'out/labeled.csv', concurrency: 4, maxRetries: 0 }));

  const single = await runCli(['run', file, '--output', path.join(dir, 'single', 'labeled.csv'), '--quiet'], env(server));
  assert.equal(single.code, 4, single.stderr); // finished, some rows failed
  const singleCheckpoint = path.join(dir, 'single', 'labeled.batchlabel.sqlite');
  const one = (await report(singleCheckpoint, { lowest: 40 })).data;

  const shardRuns = await Promise.all([0, 1].map((i) => runCli(['run', file, '--shard', `${i}/2`, '--quiet'], env(server))));
  shardRuns.forEach((r, i) => assert.equal(r.code, 4, `shard ${i}: ${r.stderr}`));

  const output = path.join(dir, 'report.html');
  const cli = await runCli(['report', file, '--shards', '2', '--output', output, '--lowest', '40']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stderr, /rows labeled, .* failed, 40 least confident rows listed \(2 shards\)\./);
  const html = readFileSync(output, 'utf8');
  const { data } = await report(file, { shards: 2, lowest: 40 });

  const want = perShard(singleCheckpoint, 2);
  assert.equal(data.shards?.count, 2);
  assert.deepEqual(
    data.shards.shards.map((s) => [s.index, s.state, s.rows.done, s.rows.failed, s.rows.pending]),
    want.map((w, i) => [i, 'finished', w.done, w.failed, 0]),
  );
  assert.ok(want.every((w) => w.done > 0 && w.failed > 0), 'both shards labeled rows and failed some');
  assert.deepEqual(shardTable(html), [
    ...want.map((w, i) => [String(i), 'finished', num(w.done), num(w.failed), '0', shardTable(html)[i]![5]!, '—']),
    ['all', 'finished', num(want[0]!.done + want[1]!.done), num(want[0]!.failed + want[1]!.failed), '0', shardTable(html)[2]![5]!, '—'],
  ]);
  for (const r of shardTable(html)) assert.match(r[5]!, /^\d[\d,.]*$/, 'rows/s of the last run');

  // The whole job, over both shards, is what one process gives.
  assert.deepEqual(data.rows, one.rows);
  assert.equal(data.rows.total, ROWS);
  assert.deepEqual(data.labels, one.labels);
  assert.ok(data.labels.length === 2 && data.labels.every((l) => l.count > 0));
  assert.deepEqual(data.scores, one.scores);
  assert.deepEqual(data.failures.map((f) => [f.kind, f.count]), one.failures.map((f) => [f.kind, f.count]));
  assert.deepEqual(data.failures.map((f) => f.examples), one.failures.map((f) => f.examples));
  assert.deepEqual(data.lowest, one.lowest);
  assert.ok(data.lowest.every((r) => r.text !== null && r.id !== null), 'texts and ids read back from the input');
  assert.deepEqual(new Set(data.runs.map((r) => r.shard)), new Set([0, 1]));
  assert.match(html, /shard 1 run 1/);
  assert.match(html, /labeled\.shard-0-of-2\.batchlabel\.sqlite, \S*labeled\.shard-1-of-2\.batchlabel\.sqlite/);
  assert.doesNotMatch(html, new RegExp(TOKEN));

  // Shard 1's checkpoint gone: listed as missing, and the totals are shard 0's alone.
  renameSync(path.join(dir, 'out', 'labeled.shard-1-of-2.batchlabel.sqlite'), path.join(dir, 'shard-1.sqlite'));
  const partialOut = path.join(dir, 'partial.html');
  const partial = await runCli(['report', path.join(dir, 'out', 'labeled.shard-0-of-2.batchlabel.sqlite'), '--shards', '2', '--output', partialOut]);
  assert.equal(partial.code, 0, partial.stderr);
  assert.match(partial.stderr, /\(2 shards, not all finished\)/);
  const cells = shardTable(readFileSync(partialOut, 'utf8'));
  assert.deepEqual(cells.map((r) => r.slice(0, 5)), [
    ['0', 'finished', num(want[0]!.done), num(want[0]!.failed), '0'],
    ['1', 'missing', '0', '0', '?'],
    ['all', 'not finished', num(want[0]!.done), num(want[0]!.failed), '?'],
  ]);
  assert.match(readFileSync(partialOut, 'utf8'), /partial while shard 1 is not finished/);
  const left = (await report(file, { shards: 2 })).data;
  assert.equal(left.rows.total, null);
  assert.equal(left.labels.reduce((a, l) => a + l.count, 0), want[0]!.done);

  // Shard 1 run again with another model: of another job, with what differs, and still not counted.
  const other = await runCli(['run', file, '--shard', '1/2', '--model', 'org/other-model', '--quiet'], env(server));
  assert.equal(other.code, 4, other.stderr);
  const otherOut = path.join(dir, 'other.html');
  assert.equal((await runCli(['report', file, '--shards', '2', '--output', otherOut, '--quiet'])).code, 0);
  const otherCells = shardTable(readFileSync(otherOut, 'utf8'));
  assert.equal(otherCells[1]![1], 'of another job (model &quot;org/other-model&quot;, not &quot;org/sentiment&quot;)');
  assert.deepEqual(otherCells[2]!.slice(0, 4), ['all', 'not finished', num(want[0]!.done), num(want[0]!.failed)], 'its rows are not the job\'s');
});

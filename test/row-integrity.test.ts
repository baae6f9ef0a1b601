/**
 * Edits to the input between runs that the sampled fingerprint cannot see (same size, outside the
 * sampled blocks) are refused at export with the row named, never exported with a stale result. Real
 * files, the CLI as users run it, a loopback server.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runCli, tempDir } from './support/cli.js';
import { startHfServer } from './support/hf-server.js';

/** Rows of equal length (ids padded), so a swap or a changed letter keeps the file's size. */
function csvRows(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${String(i).padStart(5, '0')},"review ${String(i).padStart(5, '0')} ${'abcdefghij'.repeat(4)}"`);
}

async function labeledJob(t: { after(fn: () => Promise<void> | void): void }, ext: 'csv' | 'jsonl', lines: string[], header: string | null) {
  const dir = tempDir(t);
  const server = await startHfServer();
  t.after(() => server.close());
  const input = path.join(dir, `in.${ext}`);
  const write = (ls: string[]) => writeFileSync(input, `${header === null ? '' : `${header}\n`}${ls.join('\n')}\n`);
  write(lines);
  const output = path.join(dir, `out.${ext}`);
  const checkpoint = path.join(dir, 'job.sqlite');
  const run = ['run', '--input', input, '--endpoint', `${server.url}/models/m`, '--checkpoint', checkpoint, '--output', output];
  return { dir, input, output, checkpoint, run, write, server };
}

test('a 1-byte edit in the middle row of 5,000 (same size, fingerprint unchanged) is refused at export, the row named', async (t) => {
  const rows = csvRows(5000);
  const job = await labeledJob(t, 'csv', rows, 'id,text');
  const first = await runCli(job.run);
  assert.equal(first.code, 0, first.stderr);
  const size = readFileSync(job.input).length;
  rows[2499] = rows[2499]!.replace('abcdefghij', 'abcdefghiJ');
  job.write(rows);
  assert.equal(readFileSync(job.input).length, size);
  const before = readFileSync(job.output);

  const exported = await runCli(['export', job.checkpoint, '--output', job.output]);
  assert.equal(exported.code, 1, exported.stderr);
  assert.match(exported.stderr, /^batchlabel: .*in\.csv: row 2500 \(ordinal 2499, line 2501\) changed since it was labeled/m);
  assert.equal(exported.stderr.trim().split('\n').length, 1, exported.stderr);
  assert.deepEqual(readFileSync(job.output), before, 'the earlier export is left as it was');

  // A rerun of the finished job exports again after the run: refused the same way.
  const rerun = await runCli(job.run);
  assert.equal(rerun.code, 1, rerun.stderr);
  assert.match(rerun.stderr, /row 2500 \(ordinal 2499, line 2501\) changed since it was labeled/);
});

test('two swapped rows of equal length are refused, not exported with each other\'s labels; restored, the export is the same bytes', async (t) => {
  const rows = csvRows(3000);
  const job = await labeledJob(t, 'csv', rows, 'id,text');
  const first = await runCli(job.run);
  assert.equal(first.code, 0, first.stderr);
  const good = readFileSync(job.output);
  const swapped = [...rows];
  [swapped[1200], swapped[1700]] = [swapped[1700]!, swapped[1200]!];
  job.write(swapped);
  const exported = await runCli(['export', job.checkpoint, '--output', job.output]);
  assert.equal(exported.code, 1, exported.stderr);
  assert.match(exported.stderr, /row 1201 \(ordinal 1200, line 1202\) changed since it was labeled/);
  job.write(rows);
  const again = await runCli(['export', job.checkpoint, '--output', job.output]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(readFileSync(job.output), good);
});

test('rows labeled from an identical text pass the check; an edit that turns a row into another labeled row\'s text passes only with that row\'s result', async (t) => {
  // Every text appears 15 times: all but its first row are reused results (no index entry of their own).
  // ~900 KB, so the edit in the middle lies outside the fingerprint's samples.
  const pad = 'p'.repeat(280);
  const texts = Array.from({ length: 3000 }, (_, i) => `"text ${String(i % 200).padStart(4, '0')} ${pad}"`);
  const rows = texts.map((x, i) => `${String(i).padStart(4, '0')},${x}`);
  const job = await labeledJob(t, 'csv', rows, 'id,text');
  const first = await runCli(job.run);
  assert.equal(first.code, 0, first.stderr);
  const good = readFileSync(job.output, 'utf8');
  const again = await runCli(['export', job.checkpoint, '--output', job.output]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(job.output, 'utf8'), good);
  // Row 1450 (a reused row of text 50) now holds text 51: its stored result is text 50's.
  const edited = [...rows];
  edited[1450] = `1450,"text 0051 ${pad}"`;
  job.write(edited);
  const labelOf = (n: number) => good.split('\n').find((l) => l.includes(`"text ${String(n).padStart(4, '0')} `))!.split(',').slice(2).join(',');
  const refused = await runCli(['export', job.checkpoint, '--output', job.output]);
  if (labelOf(50) === labelOf(51)) {
    // Same label and score: the row's result is the one its text got, the export is right.
    assert.equal(refused.code, 0, refused.stderr);
  } else {
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /row 1451 \(ordinal 1450, line 1452\) changed since it was labeled \(its text is the one of row 52, whose result differs\)/);
  }
});

test('JSONL: a same-size shift at the resume point that made a valid line read as "not valid JSON" is refused at export', async (t) => {
  const lines = Array.from({ length: 2000 }, (_, i) => `{"id": "${String(i).padStart(4, '0')}", "text": "line ${String(i).padStart(4, '0')} ${'xyz'.repeat(66)}"}`);
  const job = await labeledJob(t, 'jsonl', lines, null);
  const part = await runCli([...job.run, '--limit', '1000']);
  assert.equal(part.code, 0, part.stderr);
  // One byte less before the resume point, one more after it: same size, texts unchanged, but the resume
  // offset now points one byte into line 1001.
  const shifted = [...lines];
  shifted[999] = shifted[999]!.replace('{"id": ', '{"id":');
  shifted[1000] = shifted[1000]!.replace('{"id": ', '{"id":  ');
  job.write(shifted);
  const resumed = await runCli(job.run);
  assert.equal(resumed.code, 1, resumed.stderr);
  assert.match(resumed.stderr, /in\.jsonl: row 1001 \(ordinal 1000, line 1001\) changed since it was labeled \(it was unreadable and now reads as a row\)/);
  assert.doesNotMatch(readFileSync(job.output, 'utf8'), /not valid JSON/);
});

test('a sharded job\'s merge checks each row against its shard\'s checkpoint', async (t) => {
  const rows = csvRows(5000);
  const job = await labeledJob(t, 'csv', rows, 'id,text');
  const jobFile = path.join(job.dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify({ input: job.input, endpoint: `${job.server.url}/models/m`, checkpoint: job.checkpoint }));
  for (const i of [0, 1]) {
    const r = await runCli(['run', jobFile, '--shard', `${i}/2`]);
    assert.equal(r.code, 0, r.stderr);
  }
  const merged = await runCli(['export', jobFile, '--shards', '2', '--output', job.output]);
  assert.equal(merged.code, 0, merged.stderr);
  rows[2501] = rows[2501]!.replace('abcdefghij', 'abcdefghiJ');
  job.write(rows);
  const out2 = path.join(job.dir, 'out2.csv');
  const refused = await runCli(['export', jobFile, '--shards', '2', '--output', out2]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /row 2502 \(ordinal 2501, line 2503\) changed since it was labeled/);
  assert.equal(existsSync(out2), false);
});

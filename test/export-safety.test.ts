/**
 * What an export must never do: write through a symlink planted at its temporary name, or hand a
 * spreadsheet a formula that came from a server. Real files, the real CLI, a loopback server.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { addedColumns } from '../src/export/columns.js';
import { openOutputFile } from '../src/export/output-file.js';
import { resolveSettings } from '../src/job/resolve.js';
import { startHfServer, type HfServer } from './support/hf-server.js';
import { runCli, tempDir } from './support/cli.js';

test('the export never writes through a symlink planted at its temporary name, nor at the output', async (t) => {
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  fs.writeFileSync(input, 'text\nhello\nworld\n');
  const out = path.join(dir, 'out.csv');
  const victim = path.join(dir, 'victim.txt');
  const other = path.join(dir, 'other.txt');
  fs.writeFileSync(victim, 'precious\n');
  fs.writeFileSync(other, 'also precious\n');
  // The name older versions used (`<out>.tmp-<pid>`), and a dangling link next to it.
  fs.symlinkSync(victim, `${out}.tmp-${process.pid}`);
  fs.symlinkSync(path.join(dir, 'nowhere'), `${out}.tmp-${process.pid}-0`);
  fs.symlinkSync(other, out);

  const settings = resolveSettings({ input, model: 'org/m' });
  const file = openOutputFile(settings, { output: out, format: 'csv' }, ['text'], addedColumns(settings.columns, null));
  const tmps = fs.readdirSync(dir).filter((n) => n.startsWith('out.csv.tmp-') && !fs.lstatSync(path.join(dir, n)).isSymbolicLink());
  file.add({ ordinal: 0, line: 2, nextLine: 3, byteStart: 5, byteEnd: 11, record: ['hello'], text: 'hello' }, { ordinal: 0, status: 'done', label: 'POSITIVE', score: 0.9, scores: null, truncated: false, error: null });
  await file.finish();

  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n');
  assert.equal(fs.readFileSync(other, 'utf8'), 'also precious\n');
  assert.ok(!fs.lstatSync(out).isSymbolicLink(), 'the output replaced the link, it was not written through it');
  assert.equal(fs.readFileSync(out, 'utf8'), 'text,predicted_label,predicted_score,truncated,error\nhello,POSITIVE,0.9,,\n');
  assert.ok(!fs.existsSync(path.join(dir, 'nowhere')), 'nothing created at a dangling link\'s target');
  assert.equal(tmps.length, 1, 'one temporary file of its own');
  assert.match(tmps[0]!, new RegExp(`^out\\.csv\\.tmp-${process.pid}-[0-9a-f]{16}$`), 'pid and a random part');
});

const HOSTILE = ['=HYPERLINK("http://x","click")', '@SUM(1)', '+1+2', '-3+4', '\tTAB', '\rCR', 'PLAIN'];

async function hostileServer(t: { after(fn: () => Promise<void>): void }): Promise<HfServer> {
  // Each text is answered with the label its number names, and a negative score (--function-to-apply none).
  const s = await startHfServer({
    respond: ({ texts }) => ({ status: 200, json: texts.map((x) => [{ label: HOSTILE[Number(x.split(' ')[1])]!, score: -0.5 }]) }),
  });
  t.after(() => s.close());
  return s;
}

function hostileInput(dir: string): string {
  const input = path.join(dir, 'in.csv');
  // The input's own cells start like formulas too: they are the user's and stay as they are.
  fs.writeFileSync(input, `text,note,n\n${HOSTILE.map((_, i) => `row ${i},=1+1,-7`).join('\n')}\n`);
  return input;
}

function labelsAndScores(file: string): { rows: string[][] } {
  return { rows: parse(fs.readFileSync(file), { relax_column_count: true }) as string[][] };
}

test('CSV output: added cells that a spreadsheet would run get a leading quote; input cells and numbers do not', async (t) => {
  const s = await hostileServer(t);
  const dir = tempDir(t);
  const input = hostileInput(dir);
  const out = path.join(dir, 'out.csv');
  const r = await runCli(['run', '--input', input, '--endpoint', `${s.url}/models/org/m`, '--function-to-apply', 'none', '--output', out], { HF_TOKEN: undefined });
  assert.equal(r.code, 0, r.stderr);
  const { rows } = labelsAndScores(out);
  assert.deepEqual(rows[0], ['text', 'note', 'n', 'predicted_label', 'predicted_score', 'truncated', 'error']);
  const expected = ["'=HYPERLINK(\"http://x\",\"click\")", "'@SUM(1)", "'+1+2", "'-3+4", "'\tTAB", "'\rCR", 'PLAIN'];
  assert.deepEqual(rows.slice(1).map((row) => row[3]), expected);
  for (const row of rows.slice(1)) {
    assert.deepEqual(row.slice(1, 3), ['=1+1', '-7'], 'input cells untouched');
    assert.equal(row[4], '-0.5', 'a negative score is a number, not a formula');
  }

  // The export after a run escapes the same way; --no-escape-formulas writes the labels as they came.
  const again = path.join(dir, 'again.csv');
  const e = await runCli(['export', path.join(dir, 'out.batchlabel.sqlite'), '--output', again]);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(fs.readFileSync(again, 'utf8'), fs.readFileSync(out, 'utf8'));
  const raw = path.join(dir, 'raw.csv');
  const n = await runCli(['export', path.join(dir, 'out.batchlabel.sqlite'), '--output', raw, '--no-escape-formulas']);
  assert.equal(n.code, 0, n.stderr);
  assert.deepEqual(labelsAndScores(raw).rows.slice(1).map((row) => row[3]), HOSTILE);

  // JSONL is data, not a spreadsheet: never escaped.
  const jsonl = path.join(dir, 'out.jsonl');
  const j = await runCli(['export', path.join(dir, 'out.batchlabel.sqlite'), '--output', jsonl]);
  assert.equal(j.code, 0, j.stderr);
  const labels = fs.readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { predicted_label: string }).predicted_label);
  assert.deepEqual(labels, HOSTILE);
});

test('--no-escape-formulas on run, and escapeFormulas: false in a job file, turn the escaping off', async (t) => {
  const s = await hostileServer(t);
  const dir = tempDir(t);
  const input = hostileInput(dir);
  const out = path.join(dir, 'flag.csv');
  const r = await runCli(['run', '--input', input, '--endpoint', `${s.url}/models/org/m`, '--function-to-apply', 'none', '--output', out, '--no-escape-formulas']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(labelsAndScores(out).rows.slice(1).map((row) => row[3]), HOSTILE);

  const job = path.join(dir, 'job.json');
  fs.writeFileSync(job, JSON.stringify({ input: 'in.csv', endpoint: `${s.url}/models/org/m`, functionToApply: 'none', output: 'job.csv', escapeFormulas: false }));
  const j = await runCli(['run', job]);
  assert.equal(j.code, 0, j.stderr);
  assert.deepEqual(labelsAndScores(path.join(dir, 'job.csv')).rows.slice(1).map((row) => row[3]), HOSTILE);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { report } from '../src/report/index.js';
import { escapeHtml } from '../src/report/html.js';
import { expectedScores, startHfServer } from './support/hf-server.js';
import { REPO, runCli, tempDir } from './support/cli.js';
import { labelReportJob, REJECT_MARKER, REPORT_TOKEN } from './support/report-job.js';

interface InputRow {
  ordinal: number;
  line: number;
  id: string;
  text: string;
}

/** The input's rows with the line each starts on (the sample has newlines inside quoted fields). */
function inputRows(file: string): InputRow[] {
  const records = parse(readFileSync(file), { info: true, columns: true }) as { record: Record<string, string>; info: { lines: number } }[];
  let line = 2;
  return records.map((r, ordinal) => {
    const row = { ordinal, line, id: r.record.id!, text: r.record.text! };
    line = r.info.lines + 1;
    return row;
  });
}

/** The score at rank ⌊q·(n−1)⌋, which the checkpoint's quartiles give to within 1/4096 of 0..1. */
function exactQuantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

test('report: counts, label mix, quartiles and the least confident rows match what the server answered; texts escaped; no token', async (t) => {
  const dir = tempDir(t);
  const job = await labelReportJob(t, dir);
  const output = path.join(dir, 'report.html');
  const { html, data } = await report(job.checkpoint, { output, lowest: 30 });
  assert.equal(readFileSync(output, 'utf8'), html);

  const rows = inputRows(job.input);
  const good = rows.filter((r) => r.text.trim() !== '' && !r.text.includes(REJECT_MARKER));
  assert.deepEqual(data.rows, { total: rows.length, done: good.length, failed: rows.length - good.length, pending: 0, truncated: 0 });

  const best = new Map(good.map((r) => [r.ordinal, expectedScores(r.text)[0]!]));
  const counts = new Map<string, number>();
  for (const b of best.values()) counts.set(b.label, (counts.get(b.label) ?? 0) + 1);
  assert.deepEqual(
    data.labels.map((l) => [l.label, l.count]),
    [...counts].sort((a, b) => b[1] - a[1]),
  );
  assert.ok(Math.abs(data.labels.reduce((a, l) => a + l.share, 0) - 1) < 1e-9);

  for (const s of data.scores) {
    const scores = [...best.values()].filter((b) => b.label === s.label).map((b) => b.score).sort((a, b) => a - b);
    assert.equal(s.count, scores.length);
    assert.equal(s.min, scores[0]);
    assert.equal(s.max, scores.at(-1));
    for (const [q, got] of [[0.25, s.q1], [0.5, s.median], [0.75, s.q3]] as const) {
      assert.ok(Math.abs(got - exactQuantile(scores, q)) <= 1 / 4096 + 1e-12, `${s.label} q${q}: ${got} vs ${exactQuantile(scores, q)}`);
    }
    assert.equal(s.histogram.reduce((a, h) => a + h.count, 0), scores.length);
  }

  const expectedLowest = good
    .map((r) => ({ r, score: best.get(r.ordinal)!.score }))
    .sort((a, b) => a.score - b.score || a.r.ordinal - b.r.ordinal)
    .slice(0, 30);
  assert.deepEqual(
    data.lowest.map((l) => [l.ordinal, l.line, l.id, l.label, l.score, l.text]),
    expectedLowest.map(({ r, score }) => [r.ordinal, r.line, r.id, best.get(r.ordinal)!.label, score, r.text.length > 300 ? `${r.text.slice(0, 300).trimEnd()}…` : r.text]),
  );
  assert.ok(data.lowest.some((l) => l.text === job.hostile), 'the markup row is among the least confident');

  // The markup is shown as text, never as markup; nothing in the page loads anything.
  assert.ok(html.includes(escapeHtml(job.hostile)));
  assert.doesNotMatch(html, /<(script|img|link|iframe|object|embed)\b/i);
  assert.doesNotMatch(html, /url\(|@import|\bsrc=["']?https?:/i);
  assert.ok(!html.includes(REPORT_TOKEN), 'the token never reaches the report');

  assert.deepEqual(data.failures.map((f) => [f.kind, f.count]).sort(), [['bad_input', 2], ['bad_row', 1]]);
  const empty = rows.find((r) => r.id === 'x0001')!;
  assert.deepEqual(data.failures.find((f) => f.kind === 'bad_row')!.examples, [{ line: empty.line, id: 'x0001', error: 'empty text in column "text"' }]);
  assert.equal(data.runs.length, 1);
  assert.equal(data.runs[0]!.rows, rows.length);
  // One labels chart, one histogram chart, failures, runs.
  assert.equal(html.match(/<figure class="chart"/g)?.length, 4);
});

test('report CLI: from the job file; no --output is a usage error; a changed input shows scores without texts', async (t) => {
  const dir = tempDir(t);
  const job = await labelReportJob(t, dir);
  const jobFile = path.join(dir, 'job.json');
  writeFileSync(jobFile, JSON.stringify({ input: 'reviews.csv', model: 'org/sentiment', output: 'labeled.csv' }));
  const out = path.join(dir, 'r.html');
  const r = await runCli(['report', jobFile, '--output', out, '--lowest', '5']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /wrote .*r\.html: 301 rows labeled, 3 failed, 5 least confident rows listed/);
  assert.ok(existsSync(out));

  const usage = await runCli(['report', job.checkpoint]);
  assert.equal(usage.code, 2);
  assert.ok(!usage.stderr.includes('    at '), 'no stack trace');

  writeFileSync(job.input, readFileSync(job.input, 'utf8').replace('keyboard', 'KEYBOARD'));
  const { data } = await report(job.checkpoint, { lowest: 3 });
  assert.equal(data.lowest.length, 3);
  assert.ok(data.lowest.every((l) => l.text === null && l.score > 0));
  assert.match(data.textsNote ?? '', /changed since it was labeled/);
});

test('report of a job that keeps every score: each label\'s spread, and the labels reaching the threshold together', async (t) => {
  const dir = tempDir(t);
  const labels = ['joy', 'anger', 'fear', 'surprise'];
  const server = await startHfServer({ token: REPORT_TOKEN, labels });
  t.after(() => server.close());
  const input = path.join(REPO, 'data/reviews.csv');
  const output = path.join(dir, 'emotions.csv');
  const r = await runCli(['run', '--input', input, '--model', 'org/emotions', '--all-scores', '--output', output], { HF_INFERENCE_ENDPOINT: server.url, HF_TOKEN: REPORT_TOKEN });
  assert.equal(r.code, 0, r.stderr);
  const threshold = 0.3;
  const { data, html } = await report(path.join(dir, 'emotions.batchlabel.sqlite'), { threshold, lowest: 5 });

  const texts = inputRows(input).map((row) => row.text);
  const above = new Map(labels.map((l) => [l, 0]));
  const pairs = new Map<string, number>();
  const bins = new Map(labels.map((l) => [l, Array(20).fill(0) as number[]]));
  for (const text of texts) {
    const scores = expectedScores(text, labels);
    const high = scores.filter((s) => s.score >= threshold).map((s) => s.label).sort();
    for (const l of high) above.set(l, above.get(l)! + 1);
    for (let i = 0; i < high.length; i++) for (let j = i + 1; j < high.length; j++) pairs.set(`${high[i]}|${high[j]}`, (pairs.get(`${high[i]}|${high[j]}`) ?? 0) + 1);
    for (const s of scores) bins.get(s.label)![Math.min(19, Math.floor(s.score * 20))]!++;
  }
  const e = data.everyLabel!;
  assert.equal(e.threshold, threshold);
  assert.deepEqual(new Map(e.labels.map((l) => [l.label, l.above])), above);
  assert.ok(e.labels.every((l) => l.rows === texts.length), 'every row has every label');
  for (const l of e.labels) assert.deepEqual(l.histogram.map((h) => h.count), bins.get(l.label));
  assert.ok(pairs.size > 0, 'the threshold lets labels co-occur');
  assert.deepEqual(new Map(e.pairs.map((p) => [`${p.a}|${p.b}`, p.rows])), pairs);
  assert.match(html, /<section id="every-label">/);
  assert.equal(html.match(/<figure class="chart"/g)?.length, 4, 'labels, top scores, every label, runs (no failures)');
});

/**
 * Zero-shot classification on the HF backend, against the loopback server answering as the HF API does
 * (both answer shapes): the request the task asks for, answer validation, and whole runs from the CLI
 * (flags and job files) with one score column per candidate label.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { createHfClassifier } from '../src/backends/hf/index.js';
import { canStreamExport } from '../src/export/stream.js';
import { resolveSettings } from '../src/job/resolve.js';
import { expectedZeroShot, hfTestSettings, recordingContext, startHfServer, type HfServer } from './support/hf-server.js';
import { REPO, runCli, tempDir } from './support/cli.js';

const TOKEN = 'hf_ZeroShotSecret1234567890';
const CSV_IN = path.join(REPO, 'data/reviews.csv');
const LABELS = ['good price', 'bad fit', 'quality'];

function readRows(file: string): Record<string, string>[] {
  return parse(readFileSync(file), { bom: true, columns: true }) as Record<string, string>[];
}

async function server(t: { after(fn: () => Promise<void>): void }, opts: Parameters<typeof startHfServer>[0] = {}): Promise<HfServer> {
  const s = await startHfServer({ token: TOKEN, ...opts });
  t.after(() => s.close());
  return s;
}

const zeroShot = (overrides: Record<string, unknown> = {}) => ({ task: 'zero-shot-classification' as const, candidateLabels: LABELS, hypothesisTemplate: 'This example is {}.', multiLabel: false, ...overrides });

for (const shape of ['list', 'legacy'] as const) {
  test(`one text per request with candidate_labels; the ${shape} answer shape gives the scores best first`, async (t) => {
    const s = await startHfServer({ zeroShotShape: shape });
    t.after(() => s.close());
    const clf = createHfClassifier(hfTestSettings(s, { ...zeroShot(), batchSize: 8 }), recordingContext(), {});
    t.after(() => clf.close());
    assert.equal(clf.batchSize, 1, 'the zero-shot API takes one text per request');
    const out = await clf.classify(['fits badly', 'cheap and solid']);
    assert.deepEqual(out, [
      { ok: true, predictions: expectedZeroShot('fits badly', LABELS) },
      { ok: true, predictions: expectedZeroShot('cheap and solid', LABELS) },
    ]);
    // The default template and single-label mode are the service's defaults: not sent.
    assert.deepEqual(s.requests.map((r) => r.body), [
      { inputs: 'fits badly', parameters: { candidate_labels: LABELS } },
      { inputs: 'cheap and solid', parameters: { candidate_labels: LABELS } },
    ]);
  });
}

test('a template and multi-label mode are sent as hypothesis_template and multi_label', async (t) => {
  const s = await startHfServer();
  t.after(() => s.close());
  const settings = hfTestSettings(s, zeroShot({ hypothesisTemplate: 'The review talks about {}.', multiLabel: true }));
  const clf = createHfClassifier(settings, recordingContext(), {});
  t.after(() => clf.close());
  const [o] = await clf.classify(['x']);
  assert.deepEqual(s.requests[0]!.body, { inputs: 'x', parameters: { candidate_labels: LABELS, hypothesis_template: 'The review talks about {}.', multi_label: true } });
  assert.deepEqual(o, { ok: true, predictions: expectedZeroShot('x', LABELS, 'The review talks about {}.', true) });
});

test('an answer without exactly the candidate labels is a malformed response, never a label', async () => {
  const bodies = [
    [{ label: 'good price', score: 0.7 }, { label: 'bad fit', score: 0.3 }], // one missing
    [{ label: 'good price', score: 0.5 }, { label: 'bad fit', score: 0.3 }, { label: 'POSITIVE', score: 0.2 }], // a stranger
    [{ label: 'good price', score: 0.5 }, { label: 'good price', score: 0.3 }, { label: 'quality', score: 0.2 }], // twice
    { sequence: 'x', labels: LABELS, scores: [0.5, 0.5] }, // lengths differ
    [{ label: 'NEGATIVE', score: 0.9 }],
  ];
  for (const json of bodies) {
    const s = await startHfServer({ respond: () => ({ status: 200, json }) });
    const clf = createHfClassifier(hfTestSettings(s, { ...zeroShot(), maxRetries: 0 }), recordingContext(), {});
    const [o] = await clf.classify(['x']);
    await clf.close();
    await s.close();
    assert.equal(o!.ok, false, JSON.stringify(json));
    assert.equal(!o!.ok && o!.kind, 'malformed_response', JSON.stringify(o));
  }
});

test('a fresh zero-shot run can stream its export: its score columns are the candidate labels', () => {
  const base = { input: CSV_IN, model: 'm' };
  assert.equal(canStreamExport(resolveSettings({ ...base, task: 'zero-shot-classification', candidateLabels: 'a,b' }), 0, 0), true);
  assert.equal(canStreamExport(resolveSettings({ ...base, task: 'zero-shot-classification', candidateLabels: 'a,b', multiLabel: true }), 0, 0), true);
  assert.equal(canStreamExport(resolveSettings({ ...base, allScores: true }), 0, 0), false, 'labels the model answers with are known only after the run');
  assert.equal(canStreamExport(resolveSettings({ ...base, task: 'zero-shot-classification', candidateLabels: 'a,b' }), 10, 10), false, 'a resumed run does not read the finished rows');
});

test('CLI: zero-shot labels with spaces, a score column per label; other labels refuse to resume', async (t) => {
  const s = await server(t);
  const dir = tempDir(t);
  const out = path.join(dir, 'out.csv');
  const env = { HF_INFERENCE_ENDPOINT: s.url, HF_TOKEN: TOKEN };
  const r = await runCli(['run', '--input', CSV_IN, '--model', 'org/nli', '--task', 'zero-shot-classification', '--candidate-labels', ' good price, bad fit ,quality', '--output', out, '--json', '--quiet', '--limit', '40'], env);
  assert.equal(r.code, 0, r.stderr);
  const rows = readRows(out);
  assert.equal(rows.length, 40);
  const input = readRows(CSV_IN).slice(0, 40);
  assert.deepEqual(Object.keys(rows[0]!), ['id', 'product', 'rating', 'text', 'predicted_label', 'predicted_score', 'score_good price', 'score_bad fit', 'score_quality', 'truncated', 'error']);
  rows.forEach((row, i) => {
    const want = expectedZeroShot(input[i]!.text!, LABELS);
    assert.equal(row.predicted_label, want[0]!.label);
    assert.equal(Number(row.predicted_score), want[0]!.score);
    for (const l of LABELS) assert.equal(Number(row[`score_${l}`]), want.find((p) => p.label === l)!.score);
  });
  assert.ok(s.requests.every((q) => typeof (q.body as { inputs: unknown }).inputs === 'string'));
  const again = await runCli(['run', '--input', CSV_IN, '--model', 'org/nli', '--task', 'zero-shot-classification', '--candidate-labels', 'good price,bad fit', '--output', out, '--limit', '40'], env);
  assert.equal(again.code !== 0, true);
  assert.match(again.stderr, /candidateLabels changed/);
});

test('CLI: a YAML job file with a list of labels, multi-label, and predicted_labels at the threshold', async (t) => {
  const s = await server(t, { zeroShotShape: 'legacy' });
  const dir = tempDir(t);
  const job = path.join(dir, 'job.yaml');
  const out = path.join(dir, 'out.jsonl');
  writeFileSync(job, [`input: ${CSV_IN}`, 'model: org/nli', 'task: zero-shot-classification', 'candidateLabels:', ...LABELS.map((l) => `  - ${l}`), 'multiLabel: true', 'threshold: 0.4', `output: ${out}`, 'limit: 30', ''].join('\n'));
  const r = await runCli(['run', job, '--quiet'], { HF_INFERENCE_ENDPOINT: s.url, HF_TOKEN: TOKEN });
  assert.equal(r.code, 0, r.stderr);
  const input = readRows(CSV_IN).slice(0, 30);
  const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(rows.length, 30);
  let several = 0;
  rows.forEach((row, i) => {
    const want = expectedZeroShot(input[i]!.text!, LABELS, 'This example is {}.', true);
    assert.equal(row.predicted_label, want[0]!.label);
    const listed = want.filter((p) => p.score >= 0.4).map((p) => p.label);
    assert.equal(row.predicted_labels, listed.join('|'));
    if (listed.length > 1) several++;
    for (const l of LABELS) assert.equal(row[`score_${l}`], want.find((p) => p.label === l)!.score);
  });
  assert.ok(several > 0, 'some rows have several labels at or above the threshold');
  assert.ok(s.requests.every((q) => (q.body as { parameters: { multi_label?: boolean } }).parameters.multi_label === true));
});

test('CLI: zero-shot settings without what they need are one-line usage errors', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--task', 'zero-shot-classification'], /needs --candidate-labels/],
    [['--candidate-labels', 'a,b'], /add --task zero-shot-classification/],
    [['--task', 'zero-shot-classification', '--candidate-labels', 'a,a'], /lists "a" twice/],
    [['--task', 'zero-shot-classification', '--candidate-labels', 'a', '--hypothesis-template', 'no placeholder'], /has no \{\} for the label/],
  ];
  const dir = tempDir(t);
  for (const [args, message] of cases) {
    const r = await runCli(['run', '--input', CSV_IN, '--model', 'org/nli', '--checkpoint', path.join(dir, 'c.sqlite'), ...args], { HF_INFERENCE_ENDPOINT: 'http://127.0.0.1:9', HF_TOKEN: TOKEN });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

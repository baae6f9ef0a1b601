/**
 * Zero-shot on the local backend with the two shared NLI folders (entailment last, entailment first):
 * against transformers.js' zero-shot pipeline on reviews short enough that it does not truncate, against an
 * independent one-pair-at-a-time implementation of Python's semantics on long reviews (only_first
 * truncation), and whole runs from the CLI with flags and job files.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { createOnnxClassifier } from '../src/backends/onnx/index.js';
import type { Outcome, Prediction } from '../src/backends/classifier.js';
import { onnxSettings, readImdb, sharedModel, testContext, type ImdbRow } from './support/onnx-models.js';
import { maxScoreDiff, pythonZeroShot, transformersJsZeroShot, type ZeroShotCall } from './support/zero-shot-reference.js';
import { REPO, runCli, tempDir } from './support/cli.js';
import { CheckpointError } from '../src/errors.js';
import { resolveSettings } from '../src/job/resolve.js';
import { openJobCheckpoint } from '../src/pipeline/prepare.js';
import { runJob } from '../src/pipeline/run.js';

const NLI = 'selftrained-bow-pair-nli';
const NLI_FIRST = 'selftrained-bow-pair-nli-entail-first';
const LABELS = ['positive', 'negative', 'sports'];

let rows: ImdbRow[];
before(() => {
  rows = readImdb(300);
});

async function ours(name: string, texts: readonly string[], call: ZeroShotCall & { batchSize?: number }): Promise<Outcome[]> {
  const settings = onnxSettings({
    model: sharedModel(name),
    task: 'zero-shot-classification',
    candidateLabels: [...call.labels],
    hypothesisTemplate: call.template ?? 'This example is {}.',
    multiLabel: call.multiLabel === true,
    batchSize: call.batchSize ?? 32,
  });
  const c = await createOnnxClassifier(settings, testContext());
  try {
    const out: Outcome[] = [];
    for (let i = 0; i < texts.length; i += c.batchSize) out.push(...(await c.classify(texts.slice(i, i + c.batchSize))));
    return out;
  } finally {
    await c.close();
  }
}

function predictions(o: Outcome): Prediction[] {
  assert.ok(o.ok, JSON.stringify(o));
  return o.predictions;
}

/** Short reviews: premise + the longest hypothesis stay far below 512 tokens (checked by the reference's lengths). */
const short = () => rows.filter((r) => r.text.length < 900).slice(0, 40).map((r) => r.text);

for (const multiLabel of [false, true]) {
  test(`equal to transformers.js' zero-shot pipeline on short reviews (${multiLabel ? 'multi-label' : 'single-label'}), both label orders`, async (t) => {
    const texts = short();
    const call = { labels: LABELS, multiLabel };
    const ref = await transformersJsZeroShot(sharedModel(NLI), texts, call);
    const python = await pythonZeroShot(sharedModel(NLI), texts, call);
    assert.ok(python.every((r) => r.fullLength <= 512 && !r.truncated), 'none of these is truncated');
    for (const name of [NLI, NLI_FIRST]) {
      const out = await ours(name, texts, call);
      let max = 0;
      out.forEach((o, i) => {
        const d = maxScoreDiff(predictions(o), ref[i]!);
        assert.notEqual(d, undefined, 'the same labels');
        max = Math.max(max, d!);
        assert.equal(predictions(o)[0]!.label, ref[i]![0]!.label, `top label of text ${i}`);
        assert.equal(o.ok && o.truncated, false);
      });
      t.diagnostic(`${name}: ${texts.length} reviews × ${LABELS.length} labels, max |score - transformers.js| = ${max.toExponential(2)}`);
      assert.ok(max <= 1e-5, `max score diff ${max}`);
    }
  });
}

test('long reviews: equal to the one-pair-at-a-time Python semantics, the premise cut and the hypothesis kept', async (t) => {
  // Long reviews with short ones among them: batches mix cut and whole premises.
  const texts = [...rows.map((r) => r.text).filter((x) => x.length > 2400).slice(0, 30), ...short().slice(0, 10)];
  for (const call of [{ labels: LABELS }, { labels: ['great', 'awful'], multiLabel: true }, { labels: ['good'] }, { labels: LABELS, template: 'The review is {}.' }]) {
    const ref = await pythonZeroShot(sharedModel(NLI), texts, call);
    const truncated = ref.filter((r) => r.truncated).length;
    assert.ok(truncated >= 5, `the sample has over-long reviews (${truncated})`);
    for (const [name, batchSize] of [[NLI, 32], [NLI_FIRST, 7]] as const) {
      const out = await ours(name, texts, { ...call, batchSize });
      let max = 0;
      out.forEach((o, i) => {
        const d = maxScoreDiff(predictions(o), ref[i]!.predictions);
        assert.notEqual(d, undefined);
        max = Math.max(max, d!);
        assert.deepEqual(predictions(o).map((p) => p.label), ref[i]!.predictions.map((p) => p.label), `label order of text ${i}`);
        assert.equal(o.ok && o.truncated, ref[i]!.truncated, `truncated flag of text ${i}`);
      });
      t.diagnostic(`${name} ${JSON.stringify(call)}: ${texts.length} reviews (${truncated} truncated), max |score - Python semantics| = ${max.toExponential(2)}`);
      assert.ok(max <= 1e-5, `max score diff ${max}`);
    }
  }
});

test('transformers.js on the same long reviews loses the hypothesis: every label gets the same score', async (t) => {
  const texts = rows.map((r) => r.text).filter((x) => x.length > 4000).slice(0, 6);
  const ref = await transformersJsZeroShot(sharedModel(NLI), texts, { labels: LABELS });
  const python = await pythonZeroShot(sharedModel(NLI), texts, { labels: LABELS });
  const uniform = ref.filter((p) => p.every((q) => Math.abs(q.score - 1 / LABELS.length) < 1e-9)).length;
  t.diagnostic(`${uniform}/${texts.length} long reviews get uniform scores from transformers.js; top labels agreeing with Python semantics: ${ref.filter((p, i) => p[0]!.label === python[i]!.predictions[0]!.label).length}`);
  assert.ok(python.every((r) => r.truncated));
  assert.ok(uniform >= texts.length / 2, `${uniform} uniform`);
});

test('the entailment-first folder gives the very same scores as the entailment-last one, at any batching', async () => {
  const texts = rows.slice(0, 120).map((r) => r.text);
  const a = await ours(NLI, texts, { labels: LABELS });
  const b = await ours(NLI_FIRST, texts, { labels: LABELS, batchSize: 5 });
  assert.deepEqual(b, a);
  const acc = a.filter((o, i) => predictions(o)[0]!.label === (rows[i]!.label === 'pos' || rows[i]!.label === '1' ? 'positive' : 'negative')).length / texts.length;
  assert.ok(acc > 0.8, `zero-shot sentiment works on this model (${acc})`);
});

function readCsv(file: string): Record<string, string>[] {
  return parse(readFileSync(file), { bom: true, columns: true }) as Record<string, string>[];
}

test('CLI: flags and a JSON job file label with candidate labels on the onnx backend, as in-process', async (t) => {
  const dir = tempDir(t);
  const input = path.join(REPO, 'data/reviews.csv');
  const texts = readCsv(input).slice(0, 60).map((r) => r.text!);
  const out1 = path.join(dir, 'flags.csv');
  const r1 = await runCli(['run', '--input', input, '--backend', 'onnx', '--model', sharedModel(NLI_FIRST), '--task', 'zero-shot-classification', '--candidate-labels', 'positive,negative', '--limit', '60', '--output', out1, '--quiet']);
  assert.equal(r1.code, 0, r1.stderr);
  const want = await ours(NLI, texts, { labels: ['positive', 'negative'] });
  const got = readCsv(out1);
  assert.equal(got.length, 60);
  got.forEach((row, i) => {
    const p = predictions(want[i]!);
    assert.equal(row.predicted_label, p[0]!.label);
    assert.ok(Math.abs(Number(row.predicted_score) - p[0]!.score) < 1e-12);
    for (const q of p) assert.ok(Math.abs(Number(row[`score_${q.label}`]) - q.score) < 1e-12);
  });

  const job = path.join(dir, 'job.json');
  const out2 = path.join(dir, 'job.jsonl');
  writeFileSync(job, JSON.stringify({ input, backend: 'onnx', model: sharedModel(NLI), task: 'zero-shot-classification', candidateLabels: ['good', 'bad', 'real estate'], hypothesisTemplate: 'This review is {}.', multiLabel: true, threshold: 0.3, limit: 60, output: out2 }));
  const r2 = await runCli(['run', job, '--quiet']);
  assert.equal(r2.code, 0, r2.stderr);
  const want2 = await ours(NLI, texts, { labels: ['good', 'bad', 'real estate'], template: 'This review is {}.', multiLabel: true });
  const lines = readFileSync(out2, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  lines.forEach((row, i) => {
    const p = predictions(want2[i]!);
    assert.equal(row.predicted_label, p[0]!.label);
    assert.equal(row.predicted_labels, p.filter((q) => q.score >= 0.3).map((q) => q.label).join('|'));
    assert.ok(Math.abs((row['score_real estate'] as number) - p.find((q) => q.label === 'real estate')!.score) < 1e-12);
  });
});

test('library: runJob labels with candidate labels and streams its export (the columns are known up front); other labels refuse to resume', async (t) => {
  const dir = tempDir(t);
  const input = path.join(REPO, 'data/reviews.csv');
  const output = path.join(dir, 'out.csv');
  const values = { input, backend: 'onnx', model: sharedModel(NLI), task: 'zero-shot-classification', candidateLabels: ['positive', 'negative', 'real estate'], limit: 50, output };
  const settings = resolveSettings(values);
  const { store } = await openJobCheckpoint(settings, { restart: false, notice: () => {} });
  try {
    const result = await runJob(settings, store, { stop: new AbortController().signal, drainMs: 1000, retryFailed: false, exportTo: { output, format: 'csv' } });
    assert.equal(result.state, 'completed');
    assert.ok(result.exported, 'the export was written as the run went');
    assert.equal(result.exported!.rows, 50);
  } finally {
    store.close();
  }
  const rows = readCsv(output);
  assert.deepEqual(Object.keys(rows[0]!).slice(-7), ['predicted_label', 'predicted_score', 'score_positive', 'score_negative', 'score_real estate', 'truncated', 'error']);
  const want = await ours(NLI, readCsv(input).slice(0, 50).map((r) => r.text!), { labels: ['positive', 'negative', 'real estate'] });
  rows.forEach((row, i) => assert.equal(row.predicted_label, predictions(want[i]!)[0]!.label));
  await assert.rejects(openJobCheckpoint(resolveSettings({ ...values, candidateLabels: ['positive', 'negative'] }), { restart: false, notice: () => {} }), (err: unknown) => err instanceof CheckpointError && /candidateLabels changed/.test(err.message));
  await assert.rejects(openJobCheckpoint(resolveSettings({ ...values, multiLabel: true }), { restart: false, notice: () => {} }), /multiLabel changed/);
  // The same model as a text classifier: the zero-shot settings it lacks are changes too.
  const { task: _, candidateLabels: __, ...asTextClassification } = values;
  await assert.rejects(openJobCheckpoint(resolveSettings(asTextClassification), { restart: false, notice: () => {} }), /task changed \("zero-shot-classification" → \(unset\)\); candidateLabels changed/);
});

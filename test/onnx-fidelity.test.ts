/**
 * batchlabel's local backend against @huggingface/transformers' text-classification pipeline on the same
 * model folders and real IMDB reviews: same labels, scores within 1e-5. Over-long reviews are checked
 * against ids built the Python way, since transformers.js truncates differently (it drops the final [SEP]).
 * Only batch-invariant set-ups are compared exactly: the BoW model at the default batching, and the int8
 * model at --batch-size 1 (its dynamic quantization makes batched scores depend on batch-mates).
 * The whole 25k set: bench/fidelity.ts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fs from 'node:fs/promises';
import { createOnnxClassifier } from '../src/backends/onnx/index.js';
import {
  BOW,
  INT8,
  compareWithReference,
  hubId,
  onnxSettings,
  readImdb,
  seedHubCache,
  sharedModel,
  tempDir,
  testContext,
  transformersJsReference,
  type ImdbRow,
} from './support/onnx-models.js';

let cache: string;
let rows: ImdbRow[];

before(async () => {
  cache = await tempDir('hub');
  await seedHubCache(cache);
  process.env.HF_HUB_CACHE = cache;
  process.env.HF_HUB_OFFLINE = '1';
  rows = readImdb(300);
});

after(async () => {
  await fs.rm(cache, { recursive: true, force: true });
});

async function ours(name: string, texts: readonly string[], batchSize: number) {
  const c = await createOnnxClassifier(onnxSettings({ model: hubId(name), batchSize, allScores: true }), testContext());
  try {
    const out = [];
    for (let i = 0; i < texts.length; i += c.batchSize) out.push(...(await c.classify(texts.slice(i, i + c.batchSize))));
    return { out, maxLength: c.model.encoder.maxLength };
  } finally {
    await c.close();
  }
}

test('BoW model, default batching: equal to transformers.js on 300 IMDB reviews', async (t) => {
  const texts = rows.map((r) => r.text);
  const { out, maxLength } = await ours(BOW, texts, 32);
  const ref = await transformersJsReference(sharedModel(BOW), texts, 32);
  const report = compareWithReference(out, ref, maxLength);
  t.diagnostic(JSON.stringify(report));
  assert.ok(report.viaPythonIds > 0, 'the sample includes reviews over 512 tokens');
  assert.equal(report.droppedSep, report.viaPythonIds, 'transformers.js drops the final [SEP] on every over-long review');
  assert.deepEqual(report.failures, [], JSON.stringify(report));
  assert.equal(report.labelMismatches, 0);
  assert.equal(report.truncatedFlagMismatches, 0);
  assert.ok(report.maxScoreDiff <= 1e-5, `max score diff ${report.maxScoreDiff}`);
});

test('int8 DistilBERT-shaped model at --batch-size 1: equal to transformers.js one text per call', async (t) => {
  // The int8 model runs ~10 reviews/s here: a spread of lengths, including two over-long reviews.
  const byLength = [...rows].sort((a, b) => a.text.length - b.text.length);
  const pick = [...byLength.filter((_, i) => i % 12 === 0).slice(0, 22), ...byLength.slice(-2)];
  const texts = pick.map((r) => r.text);
  const { out, maxLength } = await ours(INT8, texts, 1);
  const ref = await transformersJsReference(sharedModel(INT8), texts, 1);
  const report = compareWithReference(out, ref, maxLength);
  t.diagnostic(JSON.stringify(report));
  assert.ok(report.viaPythonIds >= 1, JSON.stringify(report));
  assert.equal(report.droppedSep, report.viaPythonIds);
  assert.deepEqual(report.failures, [], JSON.stringify(report));
  assert.ok(report.maxScoreDiff <= 1e-5, `max score diff ${report.maxScoreDiff}`);
});

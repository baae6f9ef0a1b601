/**
 * Whole-dataset fidelity of the local ONNX backend, and how much batching moves int8 scores.
 *
 *   node dist/bench/fidelity.js                        # all three measurements below, defaults
 *   node dist/bench/fidelity.js --only bow             # BoW model vs transformers.js, all 25k reviews
 *   node dist/bench/fidelity.js --only int8 --limit 300
 *   node dist/bench/fidelity.js --only drift --limit 1000
 *
 * - bow:   the BoW model at the default batching against the transformers.js pipeline (batch-invariant).
 * - int8:  the int8 DistilBERT-shaped model at --batch-size 1 against transformers.js one text per call.
 *          Slow (~10 reviews/s per side on 2 cores), so a prefix of the dataset by default.
 * - drift: the int8 model at --batch-size 1 against the default batching: label flips and score moves,
 *          i.e. what reproducible mode buys.
 * Rows over the model's 512 tokens are compared against ids built the Python way ([CLS] + 510 + [SEP]),
 * after checking that transformers.js' own truncation drops the final [SEP].
 */
import { parseArgs } from 'node:util';
import type { Outcome } from '../src/backends/classifier.js';
import { createOnnxClassifier, type OnnxClassifier } from '../src/backends/onnx/index.js';
import { BOW, INT8, compareWithReference, onnxSettings, readImdb, sharedModel, testContext, transformersJsReference } from '../test/support/onnx-models.js';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    limit: { type: 'string' },
  },
});
const only = values.only;
const limit = values.limit !== undefined ? Number(values.limit) : undefined;

/** Feed the classifier the way the runner does: windows of classifier.batchSize, two in flight. */
async function classifyAll(c: OnnxClassifier, texts: readonly string[]): Promise<Outcome[]> {
  const out = new Array<Outcome>(texts.length);
  let next = 0;
  const worker = async () => {
    while (next < texts.length) {
      const start = next;
      next = Math.min(texts.length, next + c.batchSize);
      const res = await c.classify(texts.slice(start, next));
      res.forEach((o, i) => (out[start + i] = o));
    }
  };
  await Promise.all(Array.from({ length: c.maxConcurrency ?? 1 }, worker));
  return out;
}

async function ours(folder: string, texts: readonly string[], batchSize: number) {
  const c = await createOnnxClassifier(onnxSettings({ model: folder, batchSize, allScores: true }), testContext());
  try {
    const t0 = performance.now();
    const out = await classifyAll(c, texts);
    const seconds = (performance.now() - t0) / 1000;
    return { out, seconds, maxLength: c.model.encoder.maxLength };
  } finally {
    await c.close();
  }
}

function line(label: string, data: Record<string, unknown>) {
  console.log(`${label}: ${JSON.stringify(data)}`);
}

async function fidelity(name: string, rows: number | undefined, batchSize: number, callSize: number) {
  const texts = readImdb(rows).map((r) => r.text);
  const mine = await ours(sharedModel(name), texts, batchSize);
  const t0 = performance.now();
  const ref = await transformersJsReference(sharedModel(name), texts, callSize);
  const refSeconds = (performance.now() - t0) / 1000;
  const report = compareWithReference(mine.out, ref, mine.maxLength);
  line(`fidelity ${name} (batch size ${batchSize})`, {
    ...report,
    failures: report.failures.slice(0, 20),
    pass: report.failures.length === 0 && report.droppedSep === report.viaPythonIds,
    oursRowsPerSec: Math.round(texts.length / mine.seconds),
    transformersJsRowsPerSec: Math.round(texts.length / refSeconds),
  });
  return report.failures.length === 0;
}

async function drift(rows: number) {
  const texts = readImdb(rows).map((r) => r.text);
  const alone = await ours(sharedModel(INT8), texts, 1);
  const batched = await ours(sharedModel(INT8), texts, onnxSettings().batchSize);
  let flips = 0;
  let maxDiff = 0;
  let sumDiff = 0;
  texts.forEach((_, i) => {
    const a = alone.out[i]!;
    const b = batched.out[i]!;
    if (!a.ok || !b.ok) throw new Error(`row ${i} failed`);
    if (a.predictions[0]!.label !== b.predictions[0]!.label) flips++;
    const pa = a.predictions.find((p) => p.label === 'POSITIVE')!.score;
    const pb = b.predictions.find((p) => p.label === 'POSITIVE')!.score;
    maxDiff = Math.max(maxDiff, Math.abs(pa - pb));
    sumDiff += Math.abs(pa - pb);
  });
  line('int8 batching drift (batch size 1 vs default)', {
    rows: texts.length,
    labelFlips: flips,
    flipRate: +(flips / texts.length).toFixed(4),
    maxProbDiff: +maxDiff.toFixed(4),
    meanProbDiff: +(sumDiff / texts.length).toFixed(5),
    batch1RowsPerSec: +(texts.length / alone.seconds).toFixed(1),
    defaultRowsPerSec: +(texts.length / batched.seconds).toFixed(1),
  });
}

let ok = true;
if (!only || only === 'bow') ok = (await fidelity(BOW, limit, onnxSettings().batchSize, 64)) && ok;
if (!only || only === 'int8') ok = (await fidelity(INT8, limit ?? 300, 1, 1)) && ok;
if (!only || only === 'drift') await drift(limit ?? 1000);
process.exitCode = ok ? 0 : 1;

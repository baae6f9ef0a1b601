/**
 * createOnnxClassifier end to end on the real shared models, resolved through a temporary Hugging Face
 * cache (offline), the way a user's `--model org/name` is.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Outcome } from '../src/backends/classifier.js';
import { createOnnxClassifier } from '../src/backends/onnx/index.js';
import { BackendFatalError, InterruptedError } from '../src/errors.js';
import { BOW, INT8, hubId, onnxSettings, readImdb, seedHubCache, sharedModel, tempDir, testContext } from './support/onnx-models.js';

let cache: string;

before(async () => {
  cache = await tempDir('hub');
  await seedHubCache(cache);
  process.env.HF_HUB_CACHE = cache;
  process.env.HF_HUB_OFFLINE = '1';
});

after(async () => {
  await fs.rm(cache, { recursive: true, force: true });
});

const ok = (o: Outcome) => {
  assert.ok(o.ok, JSON.stringify(o));
  return o;
};

function preds(o: Outcome | undefined) {
  assert.ok(o?.ok, JSON.stringify(o));
  return o.predictions;
}

/**
 * Same labels in the same order and scores within `tol`. Even the BoW model is batch-invariant only up to
 * float32 rounding (different padded lengths sum in a different order): ~1e-7 in logits, ~5e-8 in scores.
 */
function assertClose(actual: readonly Outcome[], expected: readonly Outcome[], tol = 1e-6) {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    assert.ok(a.ok && e.ok, `row ${i}`);
    assert.equal(a.truncated, e.truncated, `row ${i} truncated`);
    assert.deepEqual(a.predictions.map((p) => p.label), e.predictions.map((p) => p.label), `row ${i} labels`);
    a.predictions.forEach((p, j) => assert.ok(Math.abs(p.score - e.predictions[j]!.score) <= tol, `row ${i}: ${p.score} vs ${e.predictions[j]!.score}`));
  });
}

async function withClassifier<T>(overrides: Parameters<typeof onnxSettings>[0], fn: (c: Awaited<ReturnType<typeof createOnnxClassifier>>) => Promise<T>) {
  const c = await createOnnxClassifier(onnxSettings(overrides), testContext());
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

test('a Hub id resolves through the cache; the trained model gets the obvious sentences right', async () => {
  const ctx = testContext();
  const c = await createOnnxClassifier(onnxSettings({ model: hubId(BOW) }), ctx);
  try {
    assert.equal(c.model.files.folder, path.join(cache, `models--batchlabel-test--${BOW}`, 'snapshots', 'c0ffee0000000000000000000000000000000001'));
    assert.equal(c.model.files.onnxFile, 'onnx/model.onnx');
    assert.equal(c.maxConcurrency, 2);
    assert.ok(c.batchSize >= 32, 'a window holds several model batches');
    assert.match(ctx.notices.join('\n'), /onnx: batchlabel-test\/selftrained-bow-bigram-sst2-imdb@c0ffee000000 onnx\/model.onnx on cpu/);
    const [pos, neg] = await c.classify(['I love this movie', 'This was a terrible waste of time']);
    assert.equal(preds(pos)[0]!.label, 'POSITIVE');
    assert.equal(preds(neg)[0]!.label, 'NEGATIVE');
    assert.equal(preds(pos).length, 1, 'top-1 by default');
  } finally {
    await c.close();
  }
});

test('outcomes come back in input order whatever the batching; batch-invariant model gives identical scores', async () => {
  const texts = readImdb(120).map((r) => r.text);
  texts.splice(7, 0, '', 'ok', 'x '.repeat(3000));
  const batched = await withClassifier({ model: hubId(BOW), batchSize: 8, allScores: true }, (c) => c.classify(texts));
  const alone = await withClassifier({ model: hubId(BOW), batchSize: 1, allScores: true }, async (c) => {
    const out: Outcome[] = [];
    for (const t of texts) out.push(...(await c.classify([t])));
    return out;
  });
  assert.equal(batched.length, texts.length);
  assertClose(batched, alone);
  const long = ok(batched[9]!);
  assert.equal(long.truncated, true);
  assert.equal(ok(batched[8]!).truncated, false);
  assert.equal(preds(long).length, 2);
});

test('two windows in flight at once give the same results as one after the other', async () => {
  const texts = readImdb(80).map((r) => r.text);
  await withClassifier({ model: hubId(BOW), allScores: true }, async (c) => {
    const [a, b] = await Promise.all([c.classify(texts.slice(0, 40)), c.classify(texts.slice(40))]);
    assertClose([...a, ...b], await c.classify(texts));
  });
});

test('--top-k, --all-scores and --function-to-apply shape the predictions like the pipeline', async () => {
  const text = 'I love this movie';
  // PROVENANCE.md: logits [-12.146, 12.146] for this sentence.
  const none = await withClassifier({ model: hubId(BOW), functionToApply: 'none', allScores: true }, (c) => c.classify([text]));
  const p = preds(none[0]);
  assert.deepEqual(p.map((x) => x.label), ['POSITIVE', 'NEGATIVE']);
  assert.ok(Math.abs(p[0]!.score - 12.146) < 1e-3 && Math.abs(p[1]!.score + 12.146) < 1e-3, JSON.stringify(p));
  const sig = await withClassifier({ model: hubId(BOW), functionToApply: 'sigmoid', topK: 2 }, (c) => c.classify([text]));
  const s = preds(sig[0]);
  assert.equal(s.length, 2);
  assert.ok(Math.abs(s[0]!.score - 1 / (1 + Math.exp(-p[0]!.score))) < 1e-12);
  assert.ok(Math.abs(s[1]!.score - 1 / (1 + Math.exp(-p[1]!.score))) < 1e-12);
});

test('--batch-size 1 makes int8 scores independent of the other rows (reproducible mode)', async () => {
  const texts = readImdb(40)
    .map((r) => r.text)
    .filter((t) => t.length < 700)
    .slice(0, 10);
  await withClassifier({ model: hubId(INT8), batchSize: 1 }, async (c) => {
    const together = await c.classify(texts);
    const reversed = await c.classify([...texts].reverse());
    assert.deepEqual(together, reversed.reverse());
    assert.deepEqual(together.slice(3, 4), await c.classify([texts[3]!]));
  });
});

test('a local folder works as --model, with --onnx-file', async () => {
  await withClassifier({ model: sharedModel(INT8), onnx: { onnxFile: 'onnx/model_quantized.onnx' } }, async (c) => {
    assert.equal(c.model.files.folder, sharedModel(INT8));
    assert.equal(c.model.files.hub, undefined);
    assert.equal(ok((await c.classify(['fine']))[0]!).ok, true);
  });
});

async function fatal(overrides: Parameters<typeof onnxSettings>[0]): Promise<BackendFatalError> {
  try {
    await withClassifier(overrides, async () => undefined);
  } catch (err) {
    assert.ok(err instanceof BackendFatalError, String(err));
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return err;
  }
  assert.fail('expected a BackendFatalError');
}

test('user mistakes are one-line BackendFatalErrors with specific codes', async () => {
  const cuda = await fatal({ model: hubId(BOW), onnx: { device: 'cuda' } });
  assert.equal(cuda.code, 'E_CUDA_UNAVAILABLE');
  assert.match(cuda.message, /ONNXRUNTIME_NODE_INSTALL=cuda12/);

  const missing = await fatal({ model: '/nonexistent/model-folder' });
  assert.equal(missing.code, 'E_MODEL_NOT_FOUND');

  const file = await fatal({ model: sharedModel(BOW), onnx: { onnxFile: 'onnx/model_quantized.onnx' } });
  assert.equal(file.code, 'E_MODEL_NOT_FOUND');
  assert.match(file.message, /--onnx-file onnx\/model_quantized.onnx does not exist/);

  const offline = await fatal({ model: 'someone/not-downloaded' });
  assert.equal(offline.code, 'E_MODEL_OFFLINE');
  assert.ok(offline.message.includes(path.join(cache, 'models--someone--not-downloaded')), offline.message);
  assert.match(offline.message, /HF_HUB_OFFLINE=1/);

  const byDefault = await fatal({});
  assert.equal(byDefault.code, 'E_MODEL_OFFLINE');
  assert.match(byDefault.message, /Xenova\/distilbert-base-uncased-finetuned-sst-2-english/);

  const notAModel = await fatal({ model: path.join(sharedModel(BOW), 'onnx') });
  assert.equal(notAModel.code, 'E_MODEL_FILES');
  assert.match(notAModel.message, /config\.json is missing/);
});

test('after the run is aborted, classify() stops promptly', async () => {
  const ctx = testContext();
  const c = await createOnnxClassifier(onnxSettings({ model: hubId(BOW) }), ctx);
  try {
    const texts = readImdb(64).map((r) => r.text);
    const pending = c.classify(texts);
    ctx.abort.abort();
    await assert.rejects(pending, InterruptedError);
    await assert.rejects(c.classify(['after']), InterruptedError);
  } finally {
    await c.close();
  }
});

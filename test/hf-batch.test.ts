/** Batching: list inputs, the fallback for endpoints that do not batch, bisection, and TEI's /predict. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHfClassifier } from '../src/backends/hf/index.js';
import type { Outcome } from '../src/backends/classifier.js';
import { expectedScores, hfTestSettings, recordingContext, startHfServer, type HfServerOptions } from './support/hf-server.js';

type Overrides = NonNullable<Parameters<typeof hfTestSettings>[1]>;

async function setup(t: TestContext, server: HfServerOptions, overrides: Overrides = {}) {
  const srv = await startHfServer(server);
  const ctx = recordingContext();
  const clf = createHfClassifier(hfTestSettings(srv, { batchSize: 4, ...overrides }), ctx, {});
  t.after(async () => {
    await clf.close();
    await srv.close();
  });
  return { srv, ctx, clf };
}

const texts = (n: number, prefix = 't') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const allOk = (list: string[]): Outcome[] => list.map((text) => ({ ok: true, predictions: expectedScores(text) }));

test('a batch goes as one request with a list of inputs, answers in order', async (t) => {
  const { srv, clf } = await setup(t, {});
  assert.equal(clf.batchSize, 4);
  const batch = texts(4);
  assert.deepEqual(await clf.classify(batch), allOk(batch));
  assert.equal(srv.requests.length, 1);
  assert.deepEqual(srv.requests[0]!.body, { inputs: batch });
});

test('a call with more texts than the batch size is split into batches', async (t) => {
  const { srv, clf } = await setup(t, {});
  const many = texts(10);
  assert.deepEqual(await clf.classify(many), allOk(many));
  assert.deepEqual(srv.requests.map((r) => r.texts.length).sort(), [2, 4, 4]);
});

test('an endpoint that answers a batch with one dict per text: fall back to single requests, say so once', async (t) => {
  const { srv, ctx, clf } = await setup(t, { lists: 'flat' });
  const first = texts(4, 'a');
  assert.deepEqual(await clf.classify(first), allOk(first));
  assert.equal(clf.batchSize, 1);
  const second = texts(4, 'b');
  assert.deepEqual(await clf.classify(second), allOk(second));
  assert.equal(ctx.notices.length, 1);
  assert.match(ctx.notices[0]!, /one list per text.*sending one text per request/);
  assert.equal(srv.requests.length, 1 + 4 + 4, 'one batch attempt, then singles only');
});

test('an endpoint that rejects list inputs with 400: fall back to single requests, say so once', async (t) => {
  const { srv, ctx, clf } = await setup(t, { lists: 'reject' });
  const first = texts(4, 'a');
  assert.deepEqual(await clf.classify(first), allOk(first));
  const second = texts(8, 'b');
  assert.deepEqual(await clf.classify(second), allOk(second));
  assert.deepEqual(ctx.notices.length, 1);
  assert.match(ctx.notices[0]!, /rejected a batch of 2 \(HTTP 400: Input should be a valid string\); sending one text per request/);
  // 4 (rejected) → 2 (rejected) → 1,1: once may be a passing fault, so the other 2 go as a batch again
  // (rejected) → 1,1: twice, the shrink happens here; then 8 singles.
  assert.equal(srv.requests.length, 1 + 1 + 2 + 1 + 2 + 8);
});

test('a 400 inside a batch fails only the bad row (bisection)', async (t) => {
  const { srv, ctx, clf } = await setup(t, { badMarker: '#BAD#' }, { batchSize: 8 });
  const batch = texts(8);
  batch[5] = 'row five #BAD#';
  const out = await clf.classify(batch);
  const expected = allOk(batch);
  expected[5] = { ok: false, kind: 'bad_input', error: 'HTTP 400: Input contains a forbidden marker; check your inputs' };
  assert.deepEqual(out, expected);
  assert.equal(clf.batchSize, 8, 'a bad row is not a reason to stop batching');
  assert.deepEqual(ctx.notices, []);
  assert.equal(srv.requests.length, 1 + 2 + 2 + 2, 'log2(8) levels of two requests, not 8 singles');
  assert.equal(srv.requests.filter((r) => r.texts.includes(batch[5]!)).length, 4, 'the bad row is sent once per level, never twice unchanged at one level');
});

test('a too-long text inside a batch: only that row is truncated', async (t) => {
  const { clf } = await setup(t, { maxChars: 50 });
  const batch = ['short one', 'y'.repeat(120), 'short two', 'short three'];
  const out = await clf.classify(batch);
  assert.deepEqual(out.map((o) => o.ok && (o.truncated ?? false)), [false, true, false, false]);
  assert.deepEqual(out[0], { ok: true, predictions: expectedScores('short one') });
});

test('batches larger than the endpoint allows (413): shrink the batch size, not to 1', async (t) => {
  const { ctx, clf } = await setup(t, { maxBatch: 4 }, { batchSize: 8 });
  const batch = texts(8);
  assert.deepEqual(await clf.classify(batch), allOk(batch));
  assert.equal(clf.batchSize, 4);
  assert.equal(ctx.notices.length, 1);
  assert.match(ctx.notices[0]!, /rejected a batch of 8.*sending at most 4 texts per request/);
});

test('a batch hit by a transient fault is retried whole, and fails whole after the last retry', async (t) => {
  const { srv, clf } = await setup(t, { script: [{ status: 500, json: { error: 'CUDA error' } }] });
  const batch = texts(4);
  assert.deepEqual(await clf.classify(batch), allOk(batch));
  assert.equal(srv.requests.length, 2);

  const down = await setup(t, { respond: () => ({ status: 503, text: 'Service Unavailable' }) }, { maxRetries: 1 });
  const out = await down.clf.classify(batch);
  assert.deepEqual(out, batch.map(() => ({ ok: false, kind: 'server_error', error: 'HTTP 503: Service Unavailable' })));
  assert.equal(down.srv.requests.length, 2);
});

test('TEI: /predict, [["a"],["b"]] batches, truncate, raw_scores only when a function is asked for', async (t) => {
  const srv = await startHfServer({ dialect: 'tei' });
  t.after(() => srv.close());
  const make = (overrides: Overrides) => {
    const clf = createHfClassifier(
      hfTestSettings(srv, { batchSize: 2, ...overrides, hf: { endpointType: 'tei', endpoint: srv.url, ...overrides.hf } }),
      recordingContext(),
      {},
    );
    t.after(() => clf.close());
    return clf;
  };
  const plain = make({});
  assert.deepEqual(await plain.classify(['a', 'b']), allOk(['a', 'b']));
  assert.deepEqual(await plain.classify(['c']), allOk(['c']));
  assert.equal(srv.requests[0]!.url, '/predict');
  assert.deepEqual(srv.requests[0]!.body, { inputs: [['a'], ['b']], truncate: true, raw_scores: false });
  assert.deepEqual(srv.requests[1]!.body, { inputs: 'c', truncate: true, raw_scores: false });

  // softmax over TEI's logits, computed locally, gives the same probabilities.
  const softmax = make({ functionToApply: 'softmax', topK: 1 });
  const [out] = await softmax.classify(['d']);
  assert.equal(srv.requests[2]!.body && (srv.requests[2]!.body as { raw_scores: boolean }).raw_scores, true);
  assert.ok(out!.ok);
  if (out!.ok) {
    const [best] = expectedScores('d');
    assert.equal(out!.predictions.length, 1);
    assert.equal(out!.predictions[0]!.label, best!.label);
    assert.ok(Math.abs(out!.predictions[0]!.score - best!.score) < 1e-9);
  }
});

/** The error table of issue 3, one test (or more) per row, against the loopback server. */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHfClassifier } from '../src/backends/hf/index.js';
import { BackendFatalError, InterruptedError } from '../src/errors.js';
import {
  expectedScores,
  hfTestSettings,
  recordingContext,
  startHfServer,
  type HfServerOptions,
} from './support/hf-server.js';

type Overrides = NonNullable<Parameters<typeof hfTestSettings>[1]>;
const TOKEN = 'hf_errorTableTokenNeverShown42';

async function setup(t: TestContext, server: HfServerOptions, overrides: Overrides = {}, env: NodeJS.ProcessEnv = { HF_TOKEN: TOKEN }) {
  const srv = await startHfServer(server);
  const ctx = recordingContext();
  const clf = createHfClassifier(hfTestSettings(srv, overrides), ctx, env);
  t.after(async () => {
    ctx.controller.abort();
    await clf.close();
    await srv.close();
  });
  return { srv, ctx, clf };
}

const okFor = (text: string) => ({ ok: true, predictions: expectedScores(text) });
const kinds = (ctx: ReturnType<typeof recordingContext>) => ctx.retries.map((r) => r.kind);

async function fatal(promise: Promise<unknown>, code: string): Promise<BackendFatalError> {
  let caught: unknown;
  await promise.catch((err: unknown) => (caught = err));
  assert.ok(caught instanceof BackendFatalError, `expected a BackendFatalError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.ok(!caught.message.includes('\n'), 'one line');
  assert.ok(!caught.message.includes(TOKEN), 'no token');
  return caught;
}

// Row: 503 with estimated_time (model cold start)

test('503 loading: waits min(estimated_time, cap), retries with x-wait-for-model, outside the retry limit', async (t) => {
  const { srv, ctx, clf } = await setup(t, { coldStart: { requests: 3, estimatedTime: 0.04 } }, { maxRetries: 0, hf: { backoffCapMs: 1000 } });
  assert.deepEqual(await clf.classify(['warm up']), [okFor('warm up')]);
  assert.deepEqual(kinds(ctx), ['model_loading', 'model_loading', 'model_loading']);
  for (const { waitMs } of ctx.retries) assert.ok(waitMs >= 30 && waitMs <= 50, `jittered around 40 ms: ${waitMs}`);
  assert.deepEqual(srv.requests.map((r) => r.headers['x-wait-for-model']), [undefined, 'true', 'true', 'true']);
  // One cold start, shown from the first loading answer until the text is labeled.
  assert.deepEqual(ctx.statuses, ['model loading', undefined]);
});

test('503 loading: a long estimated_time is capped', async (t) => {
  const { ctx, clf } = await setup(t, { coldStart: { requests: 1, estimatedTime: 120 } }, { hf: { backoffCapMs: 30 } });
  assert.deepEqual(await clf.classify(['x']), [okFor('x')]);
  assert.ok(ctx.retries[0]!.waitMs <= 30);
});

test('503 loading: a wait-for-model request is held by the server until the model is up, shown as model loading', async (t) => {
  const { srv, ctx, clf } = await setup(t, { coldStart: { ms: 400 } }, { hf: { backoffCapMs: 20 } });
  const answer = clf.classify(['x']);
  await sleep(200); // past the 20 ms wait: the retried request is being held
  assert.equal(ctx.statuses.at(-1), 'model loading');
  assert.deepEqual(await answer, [okFor('x')]);
  assert.deepEqual(srv.actions(), { cold: 1, held: 1 });
  assert.equal(ctx.statuses.at(-1), undefined);
});

test('503 loading: the run stops when the loading budget is spent', async (t) => {
  const { ctx, clf } = await setup(t, { coldStart: { requests: 1e9, estimatedTime: 0.03 } }, { hf: { loadingBudgetMs: 100, backoffCapMs: 1000 } });
  const started = Date.now();
  const err = await fatal(clf.classify(['x']), 'E_MODEL_LOADING');
  assert.match(err.message, /still loading/);
  assert.ok(Date.now() - started < 1000);
  assert.equal(ctx.statuses.at(-1), undefined, 'the progress line is cleared');
});

// Row: 503/502 without that body

test('503 without a loading body and 502: backoff honouring Retry-After', async (t) => {
  const { ctx, clf } = await setup(
    t,
    {
      script: [
        { status: 503, text: 'Service Unavailable', headers: { 'retry-after': '0.08' } },
        { status: 502, text: '<html><h1>502 Bad Gateway</h1></html>' },
      ],
    },
    { hf: { backoffCapMs: 150 } },
  );
  assert.deepEqual(await clf.classify(['x']), [okFor('x')]);
  assert.deepEqual(kinds(ctx), ['server_error', 'server_error']);
  assert.ok(ctx.retries[0]!.waitMs >= 80 && ctx.retries[0]!.waitMs <= 100, 'Retry-After honoured');
  assert.ok(ctx.retries[1]!.waitMs <= 150, 'backoff, capped');
  assert.deepEqual(ctx.pauses, [], 'a 5xx does not pause the queue');
});

test('Retry-After longer than the cap waits the cap', async (t) => {
  const { ctx, clf } = await setup(t, { script: [{ status: 503, text: 'x', headers: { 'retry-after': '3600' } }] }, { hf: { backoffCapMs: 25 } });
  assert.deepEqual(await clf.classify(['x']), [okFor('x')]);
  assert.deepEqual(ctx.retries, [{ kind: 'server_error', waitMs: 25 }]);
});

// Row: 429

test('429 with Retry-After that only this request got: waits it alone, no queue pause, no concurrency cut', async (t) => {
  const { ctx, clf } = await setup(t, { script: [{ status: 429, json: { error: 'Rate limit reached' }, headers: { 'retry-after': '0.06' } }] }, { hf: { backoffCapMs: 1000 } });
  assert.deepEqual(await clf.classify(['x']), [okFor('x')]);
  const [retry] = ctx.retries;
  assert.equal(retry!.kind, 'rate_limited');
  assert.ok(retry!.waitMs >= 60 && retry!.waitMs <= 75);
  assert.deepEqual(ctx.pauses, []);
  assert.ok(ctx.concurrencyChanges.every((c) => c === 4), `no cut: ${ctx.concurrencyChanges.join(', ')}`);
});

test('429 after the last retry: the row fails as rate_limited (two 429s are not yet a crowd: no pause)', async (t) => {
  const { ctx, clf } = await setup(t, { faults: { rateLimited: 1 }, retryAfter: '0.01' }, { maxRetries: 1 });
  const [out] = await clf.classify(['x']);
  assert.equal(out!.ok, false);
  if (!out!.ok) {
    assert.equal(out!.kind, 'rate_limited');
    assert.match(out!.error, /HTTP 429: Rate limit reached/);
  }
  assert.equal(ctx.pauses.length, 0);
});

test('429 with an HTTP-date Retry-After', async (t) => {
  const date = new Date(Date.now() + 60_000).toUTCString();
  const { ctx, clf } = await setup(t, { script: [{ status: 429, json: { error: 'Rate limit reached' }, headers: { 'retry-after': date } }] }, { hf: { backoffCapMs: 40 } });
  assert.deepEqual(await clf.classify(['x']), [okFor('x')]);
  // A minute away, so the wait is exactly the cap; a backoff would be random below it.
  assert.deepEqual(ctx.retries, [{ kind: 'rate_limited', waitMs: 40 }]);
});

test('429 with RateLimit r=0: waits t', async (t) => {
  const { ctx, clf } = await setup(t, { script: [{ status: 429, json: { error: 'Rate limit reached' }, headers: { ratelimit: '"api";r=0;t=300' } }] }, { hf: { backoffCapMs: 45 } });
  assert.deepEqual(await clf.classify(['x']), [okFor('x')]);
  assert.deepEqual(ctx.retries, [{ kind: 'rate_limited', waitMs: 45 }]);
  assert.deepEqual(ctx.pauses, [45]);
});

test('429 without hints is an overload: short jittered delays, 0.9x the concurrency per refusal, then it climbs back', async (t) => {
  const script = Array.from({ length: 4 }, () => ({ status: 429, json: { error: 'Rate limit reached' } }));
  const { ctx, clf } = await setup(t, { script }, { hf: { backoffCapMs: 10 } });
  assert.deepEqual(await clf.classify(['x']), [okFor('x')]);
  assert.deepEqual(kinds(ctx), ['rate_limited', 'rate_limited', 'rate_limited', 'rate_limited']);
  for (const r of ctx.retries) assert.ok(r.waitMs <= 10);
  assert.deepEqual(ctx.pauses, [], 'an overload does not pause the queue');
  // Every second refusal of a round trip: 4 → 3.6 → 3.24, a little less each time, not halved.
  assert.deepEqual(ctx.concurrencyChanges, [4, 3, 3]);
  // Four requests at a time (the limit grows only while it is used): +1 a round trip, back to the maximum.
  for (let round = 0; round < 4; round++) await Promise.all([0, 1, 2, 3].map((i) => clf.classify([`t${round}.${i}`])));
  assert.equal(ctx.queue.concurrency, 4);
});

// Row: 500, 504, 424, reset/refused, timeouts, malformed 200

for (const [name, reply, kind] of [
  ['500', { status: 500, json: { error: 'CUDA error' } }, 'server_error'],
  ['504', { status: 504, text: '<html>504 Gateway Time-out</html>' }, 'server_error'],
  ['424', { status: 424, json: { error: 'Request failed during generation', error_type: 'Backend' } }, 'server_error'],
  ['connection reset', { status: 0, drop: true }, 'network'],
  ['malformed 200', { status: 200, json: { label: 'POSITIVE' } }, 'malformed_response'],
] as const) {
  test(`${name}: retried with backoff, then the row fails with the last error`, async (t) => {
    const once = await setup(t, { script: [reply] });
    assert.deepEqual(await once.clf.classify(['x']), [okFor('x')]);
    assert.deepEqual(kinds(once.ctx), [kind]);

    const always = await setup(t, { respond: () => reply }, { maxRetries: 2 });
    const [out] = await always.clf.classify(['x']);
    assert.equal(always.srv.requests.length, 3, 'first try + maxRetries');
    assert.equal(out!.ok, false);
    if (out!.ok) return;
    assert.equal(out!.kind, kind === 'malformed_response' ? 'malformed_response' : kind === 'network' ? 'network' : 'server_error');
    if (name !== 'connection reset') assert.match(out!.error, name === 'malformed 200' ? /malformed response/ : new RegExp(`HTTP ${name}`));
  });
}

test('connection refused: retried, then the row fails as network', async (t) => {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const ctx = recordingContext();
  const clf = createHfClassifier(hfTestSettings({ url: `http://127.0.0.1:${port}` }, { maxRetries: 2 }), ctx, {});
  t.after(() => clf.close());
  const [out] = await clf.classify(['x']);
  assert.deepEqual(kinds(ctx), ['network', 'network']);
  assert.equal(out!.ok, false);
  if (!out!.ok) {
    assert.equal(out!.kind, 'network');
    assert.match(out!.error, /ECONNREFUSED/);
  }
});

test('timeouts: a slow answer is abandoned after timeoutMs and retried', async (t) => {
  const { ctx, clf } = await setup(t, { script: [{ status: 200, json: [expectedScores('x')], delayMs: 3000 }] }, { hf: { timeoutMs: 100 } });
  const started = Date.now();
  assert.deepEqual(await clf.classify(['x']), [okFor('x')]);
  // undici checks its headers timeout on a coarse (~0.5 s) clock.
  assert.ok(Date.now() - started < 2000);
  assert.deepEqual(kinds(ctx), ['timeout']);
});

// Row: 400, 413, 422

test('400 with a list of messages: the row fails with them, never resent', async (t) => {
  const { srv, clf } = await setup(t, { badMarker: '#BAD#' });
  const [out] = await clf.classify(['a #BAD# row']);
  assert.deepEqual(out, { ok: false, kind: 'bad_input', error: 'HTTP 400: Input contains a forbidden marker; check your inputs' });
  assert.equal(srv.requests.length, 1);
});

for (const [style, status] of [
  ['validation', 422],
  ['torch', 400],
  ['validation', 413],
] as const) {
  test(`${status} too long (${style} message): retried once truncated, marked truncated`, async (t) => {
    const text = 'word '.repeat(100);
    const { srv, ctx, clf } = await setup(t, { maxChars: 200, tooLongStyle: style, tooLongStatus: status });
    const [out] = await clf.classify([text]);
    assert.equal(out!.ok, true);
    assert.equal(out!.ok && out!.truncated, true);
    const sent = srv.requests[1]!.texts[0]!;
    assert.ok(text.startsWith(sent) && sent.length <= 200, `sent ${sent.length} chars`);
    assert.deepEqual(kinds(ctx), ['too_long']);
  });
}

test('still too long after truncating once: the row fails', async (t) => {
  const tooLong = { status: 422, json: { error: 'Input validation error: `inputs` must have less than 10 tokens. Given: 20' } };
  const { clf } = await setup(t, { respond: () => tooLong });
  const [out] = await clf.classify(['x'.repeat(300)]);
  assert.equal(out!.ok, false);
  if (!out!.ok) {
    assert.equal(out!.kind, 'bad_input');
    assert.match(out!.error, /less than 10 tokens.*after truncating/);
  }
});

// Row: 401, 403

test('401 without a token: says the variable is not set and how to set it', async (t) => {
  const { srv, clf } = await setup(t, { token: 'hf_expected1234567' }, { hf: { tokenEnv: 'MY_HF_TOKEN' } }, {});
  const err = await fatal(clf.classify(['x']), 'E_AUTH');
  assert.match(err.message, /MY_HF_TOKEN is not set;/);
  assert.match(err.message, /huggingface\.co\/settings\/tokens/);
  assert.equal(srv.requests.length, 1);
});

test('401 with a wrong token and 403 without the Inference permission', async (t) => {
  const wrong = await setup(t, { token: 'hf_expected1234567' });
  assert.match((await fatal(wrong.clf.classify(['x']), 'E_AUTH')).message, /invalid or lacks/);
  const noPerm = await setup(t, { token: TOKEN, tokenLacksInference: true });
  assert.match((await fatal(noPerm.clf.classify(['x']), 'E_AUTH')).message, /HTTP 403.*Inference/);
});

// Row: 402

test('402: credits exhausted stops the run', async (t) => {
  const { clf } = await setup(t, { script: [{ status: 402, json: { error: 'You have exceeded your monthly included credits for Inference Providers.' } }] });
  assert.match((await fatal(clf.classify(['x']), 'E_CREDITS')).message, /credits/);
});

// Row: 404, 410

test('404: model not served there stops the run', async (t) => {
  const { clf } = await setup(t, { script: [{ status: 404, json: { error: 'Model org/nope does not exist' } }] });
  assert.match((await fatal(clf.classify(['x']), 'E_MODEL_NOT_FOUND')).message, /does not exist.*--model/);
});

test('410: endpoint gone stops the run', async (t) => {
  const { clf } = await setup(t, { script: [{ status: 410, json: { error: 'Gone' } }] });
  assert.match((await fatal(clf.classify(['x']), 'E_ENDPOINT_GONE')).message, /is gone \(HTTP 410: Gone\)/);
});

// Across the table

test('a fatal answer surfaces at once while other requests are in flight, and stops later ones', async (t) => {
  let n = 0;
  const { srv, clf } = await setup(t, {
    respond: () => (n++ === 3 ? { status: 401, json: { error: 'Invalid credentials in Authorization header' } } : { status: 500, json: { error: 'busy' } }),
  }, { hf: { backoffCapMs: 200 } });
  const started = Date.now();
  const calls = Array.from({ length: 6 }, (_, i) => clf.classify([`t${i}`]));
  await fatal(Promise.race(calls), 'E_AUTH');
  assert.ok(Date.now() - started < 1000, `surfaced after ${Date.now() - started} ms`);
  const settled = await Promise.allSettled(calls);
  assert.ok(settled.every((s) => s.status === 'rejected'), 'every call ends with the fatal error');
  const sent = srv.requests.length;
  await assert.rejects(clf.classify(['later']), BackendFatalError);
  assert.equal(srv.requests.length, sent, 'nothing is sent after a fatal answer');
});

test('every wait is cut short by the abort signal', async (t) => {
  const { ctx, clf } = await setup(t, { respond: () => ({ status: 503, text: 'busy', headers: { 'retry-after': '30' } }) }, { hf: { backoffCapMs: 60_000 } });
  const pending = clf.classify(['x']);
  setTimeout(() => ctx.controller.abort(), 50);
  const started = Date.now();
  await assert.rejects(pending, InterruptedError);
  assert.ok(Date.now() - started < 500);
});

test('a request in flight is cut short by the abort signal, and nothing is sent after it', async (t) => {
  const { srv, ctx, clf } = await setup(t, { delayMs: 10_000 });
  const pending = clf.classify(['x', 'y']);
  setTimeout(() => ctx.controller.abort(), 50);
  const started = Date.now();
  await assert.rejects(pending, InterruptedError);
  assert.ok(Date.now() - started < 500);
  await assert.rejects(clf.classify(['later']), InterruptedError);
  assert.equal(srv.requests.length, 1, 'nothing is sent after the abort');
});

test('--max-requests-per-minute spaces requests out', async (t) => {
  const { srv, clf } = await setup(t, {}, { hf: { maxRequestsPerMinute: 1200 } });
  const started = Date.now();
  await clf.classify(['a', 'b', 'c', 'd', 'e']);
  assert.ok(Date.now() - started >= 190, '5 requests at 20/s take at least 200 ms');
  assert.equal(srv.requests.length, 5);
});

test('the token never appears in outcomes, fatal errors or notices, even when the server echoes it', async (t) => {
  const echo = `token ${TOKEN} rejected; Authorization: Bearer ${TOKEN}`;
  const { ctx, clf } = await setup(t, {
    respond: ({ texts }) =>
      texts[0] === 'bad'
        ? { status: 400, json: { error: [echo] } }
        : texts[0] === 'down'
          ? { status: 500, json: { error: echo } }
          : { status: 401, json: { error: echo } },
  }, { maxRetries: 1 });
  const outs = await clf.classify(['bad', 'down']);
  const err = await fatal(clf.classify(['auth']), 'E_AUTH');
  const everything = JSON.stringify({ outs, err: err.message, ctx: { notices: ctx.notices, statuses: ctx.statuses } });
  assert.ok(!everything.includes(TOKEN));
  assert.match(everything, /\[redacted\]/);
});


test('a failure no retry can fix (TLS to a plain-HTTP port) stops the run in one line', async (t) => {
  const srv = await startHfServer();
  t.after(() => srv.close());
  const clf = createHfClassifier(hfTestSettings(srv, { hf: { endpoint: srv.url.replace('http:', 'https:') } }), recordingContext(), {});
  t.after(() => clf.close());
  assert.match((await fatal(clf.classify(['x']), 'E_CONNECT')).message, /^cannot talk to https:\/\/127\.0\.0\.1:\d+\/: \S+/);
});

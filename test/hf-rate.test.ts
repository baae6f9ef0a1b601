/**
 * Rate control against the loopback server playing each situation a real endpoint puts us in: random
 * 429s (with and without Retry-After), a max-in-flight limit answering TEI's overloaded 429, a
 * fixed-window quota with the Hub's RateLimit headers, and a server whose latency grows with load.
 * Texts go through the runner's own p-queue and QueueControl, so pauses, parking and the concurrency are
 * the real ones. Every row must be answered exactly once; the assertions are on what the client did.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import PQueue from 'p-queue';
import { allowListeners } from '../src/core/abort.js';
import type { ClassifierContext, Outcome, QueueControl, RetryKind } from '../src/backends/classifier.js';
import { createHfClassifier } from '../src/backends/hf/index.js';
import { InterruptedError } from '../src/errors.js';
import { queueControl } from '../src/pipeline/queue-control.js';
import { expectedScores, hfTestSettings, recordingContext, startHfServer, type HfServer, type HfServerOptions } from './support/hf-server.js';

type Overrides = NonNullable<Parameters<typeof hfTestSettings>[1]>;

interface Drive {
  outcomes: Outcome[][];
  retries: Partial<Record<RetryKind, number>>;
  pauses: number;
  parks: number;
  /** The concurrency after each change, in order. */
  concurrency: number[];
  statuses: Array<string | undefined>;
}

/** `texts` through a p-queue the way the runner does it, one classify() call per `batchSize` texts. */
async function drive(server: HfServer, texts: string[], concurrency: number, overrides: Overrides = {}): Promise<Drive> {
  const queue = new PQueue({ concurrency });
  const controller = new AbortController();
  allowListeners(controller.signal, concurrency); // as the runner does
  const real = queueControl(queue, concurrency, controller.signal);
  const seen: number[] = [];
  let pauses = 0;
  let parks = 0;
  const control: QueueControl = {
    get concurrency() {
      return real.concurrency;
    },
    maxConcurrency: real.maxConcurrency,
    setConcurrency(n) {
      real.setConcurrency(n);
      if (seen.at(-1) !== real.concurrency) seen.push(real.concurrency);
    },
    pauseFor(ms) {
      pauses++;
      real.pauseFor(ms);
    },
    park() {
      parks++;
      return real.park!();
    },
  };
  const retries: Drive['retries'] = {};
  const statuses: Drive['statuses'] = [];
  const ctx: ClassifierContext = {
    queue: control,
    signal: controller.signal,
    events: { retry: (kind) => (retries[kind] = (retries[kind] ?? 0) + 1), status: (s) => statuses.push(s) },
  };
  const batchSize = overrides.batchSize ?? 1;
  const clf = createHfClassifier(hfTestSettings(server, { concurrency, ...overrides, hf: { backoffCapMs: 5_000, ...overrides.hf } }), ctx, {});
  control.setConcurrency(concurrency); // as the runner does once the classifier is made
  const outcomes: Outcome[][] = texts.map(() => []);
  try {
    const calls: Promise<void>[] = [];
    for (let i = 0; i < texts.length; i += batchSize) {
      const slice = texts.slice(i, i + batchSize);
      calls.push(queue.add(async () => (await clf.classify(slice)).forEach((o, j) => outcomes[i + j]!.push(o))));
    }
    await Promise.all(calls);
  } finally {
    controller.abort();
    await clf.close();
  }
  return { outcomes, retries, pauses, parks, concurrency: seen, statuses };
}

async function server(t: TestContext, options: HfServerOptions): Promise<HfServer> {
  const srv = await startHfServer(options);
  t.after(() => srv.close());
  return srv;
}

const rows = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} review ${i}: ${'so-so '.repeat(i % 5)}`);

/** Every text answered with its own scores, once, and the server labeled each exactly once. */
function assertLabeledOnce(srv: HfServer, texts: string[], r: Drive): void {
  texts.forEach((text, i) => assert.deepEqual(r.outcomes[i], [{ ok: true, predictions: expectedScores(text) }], `row ${i}`));
  const answered = new Map<string, number>();
  for (const req of srv.requests) if (req.status === 200) for (const text of req.texts) answered.set(text, (answered.get(text) ?? 0) + 1);
  assert.equal(answered.size, texts.length);
  assert.ok([...answered.values()].every((n) => n === 1), 'no text answered twice');
}

const count = (srv: HfServer, status: number) => srv.requests.filter((r) => r.status === status).length;

test('isolated 429s (5%, half with Retry-After): the queue never pauses, hinted ones wait aside, the concurrency stays high', async (t) => {
  const srv = await server(t, { faults: { rateLimited: 0.05 }, retryAfter: '0.3', retryAfterShare: 0.5, seed: 14, delayMs: 10 });
  const texts = rows(1000, 'isolated');
  const r = await drive(srv, texts, 16);
  assertLabeledOnce(srv, texts, r);
  const hinted = srv.requests.filter((q) => q.status === 429).length;
  assert.ok(hinted >= 25, `the server answered ${hinted} 429s`);
  assert.equal(r.pauses, 0, 'no whole-queue pause for a 429 only one request got');
  assert.ok(r.parks > 5, `requests told to come back later stepped aside (${r.parks})`);
  // The unhinted ones are read as overload and cost 0.9x each, while the limit climbs back between them.
  const late = r.concurrency.slice(Math.floor(r.concurrency.length / 2));
  const mean = late.reduce((a, b) => a + b, 0) / late.length;
  // Halving per 429 (the old rule) held it at 2–4; latency noise of a loaded machine moves it a little.
  assert.ok(mean >= 8, `held high, not halved per 429: mean ${mean.toFixed(1)} of 16 (${r.concurrency.join(' ')})`);
  assert.ok(srv.requests.length < texts.length * 1.1, `${srv.requests.length} requests: no retry storm`);
});

test('overload past 8 in flight (TEI overloaded 429): the concurrency converges near 8, not a sawtooth from 32', async (t) => {
  const srv = await server(t, { maxInFlight: 8, delayMs: 15 });
  const texts = rows(1500, 'overload');
  const r = await drive(srv, texts, 32);
  assertLabeledOnce(srv, texts, r);
  const late = r.concurrency.slice(Math.floor(r.concurrency.length / 2));
  assert.ok(late.every((c) => c >= 5 && c <= 12), `held near the server's 8 in the second half: ${late.join(' ')}`);
  assert.ok(srv.load().mean >= 5, `the server was kept busy: ${srv.load().mean.toFixed(1)} in flight on average (${r.concurrency.join(' ')})`);
  // About one refusal a round trip is the price of keeping the server full (see REFUSALS_TO_CUT); a storm would be far above.
  assert.ok(count(srv, 429) < texts.length * 0.4, `${count(srv, 429)} overload refusals for ${texts.length} rows`);
  assert.equal(r.pauses, 0, 'an overload slows down, it does not stop the queue');
});

test('fixed-window quota with RateLimit headers: the queue pauses until each reset, almost no 429s', async (t) => {
  const srv = await server(t, { quota: { limit: 60, windowMs: 1000 }, delayMs: 5 });
  const texts = rows(300, 'quota');
  const r = await drive(srv, texts, 16);
  assertLabeledOnce(srv, texts, r);
  assert.ok(r.pauses >= 4, `paused at each spent window (${r.pauses} pauses for 5 windows)`);
  assert.ok(count(srv, 429) <= texts.length * 0.05, `${count(srv, 429)} 429s for ${texts.length} rows`);
  assert.ok(r.statuses.some((s) => s?.startsWith('quota reached')), 'the progress line says why it waits');
});

test('a quota that only says Retry-After: once most answers are 429 it is treated as a quota (queue paused)', async (t) => {
  let blockedUntil = 0;
  const srv = await server(t, {
    delayMs: 5,
    respond: ({ index }) => {
      if (index === 40) blockedUntil = Date.now() + 300;
      return Date.now() < blockedUntil ? { status: 429, json: { error: 'Too many requests' }, headers: { 'retry-after': '0.3' } } : undefined;
    },
  });
  const texts = rows(200, 'crowd');
  const r = await drive(srv, texts, 8);
  assertLabeledOnce(srv, texts, r);
  assert.ok(r.pauses >= 1, 'paused the queue once the 429s were everyone’s');
});

test('latency growing with load (8 workers, a queue behind them): the concurrency stays near the workers, not at 32', async (t) => {
  const srv = await server(t, { workers: 8, delayMs: 15 });
  const texts = rows(1500, 'queueing');
  const r = await drive(srv, texts, 32);
  assertLabeledOnce(srv, texts, r);
  const last = r.concurrency.at(-1)!;
  assert.ok(last >= 8 && last <= 18, `settled a few above the 8 workers: ${r.concurrency.join(' ')}`);
  assert.ok(srv.load().mean >= 7, `the workers were kept busy: ${srv.load().mean.toFixed(1)} in flight on average`);
  assert.equal(count(srv, 429), 0);
});

test('a one-off 400 on a batch whose rows then succeed alone does not halve the batch size', async (t) => {
  const srv = await server(t, { script: [{ status: 400, json: { error: 'Something went wrong' } }] });
  const ctx = recordingContext();
  const clf = createHfClassifier(hfTestSettings(srv, { batchSize: 8 }), ctx, {});
  t.after(() => clf.close());
  const first = rows(8, 'a');
  assert.deepEqual(await clf.classify(first), first.map((x) => ({ ok: true, predictions: expectedScores(x) })));
  const second = rows(8, 'b');
  assert.deepEqual(await clf.classify(second), second.map((x) => ({ ok: true, predictions: expectedScores(x) })));
  assert.equal(clf.batchSize, 8);
  assert.deepEqual(ctx.notices, []);
  assert.equal(srv.requests.at(-1)!.texts.length, 8, 'the next batch went whole');
});

for (const [status, verdict] of [
  [405, 'fatal'],
  [415, 'fatal'],
  [409, 'retried'],
  [425, 'retried'],
  [451, 'bad_input'],
] as const) {
  test(`HTTP ${status} is judged by what it means: ${verdict}`, async (t) => {
    const srv = await server(t, { script: [{ status, json: { error: `status ${status}` } }] });
    const ctx = recordingContext();
    const clf = createHfClassifier(hfTestSettings(srv), ctx, {});
    t.after(() => clf.close());
    const outcome = clf.classify(['x']).then(
      (o) => o[0]!,
      (err: Error) => err,
    );
    const got = await outcome;
    if (verdict === 'fatal') {
      assert.ok(got instanceof Error && 'code' in got && got.code === 'E_ENDPOINT', String(got));
      assert.match(got.message, new RegExp(`HTTP ${status}`));
    } else if (verdict === 'retried') {
      assert.deepEqual(got, { ok: true, predictions: expectedScores('x') });
      assert.equal(ctx.retries.length, 1);
    } else {
      assert.deepEqual(got, { ok: false, kind: 'bad_input', error: `HTTP ${status}: status ${status}` });
      assert.equal(srv.requests.length, 1, 'never resent');
    }
  });
}

test('a quota wait is cut short by the run stopping', async (t) => {
  const srv = await server(t, { script: [{ status: 429, json: { error: 'quota' }, headers: { ratelimit: '"inference";r=0;t=30' } }] });
  const ctx = recordingContext();
  const clf = createHfClassifier(hfTestSettings(srv, { hf: { backoffCapMs: 60_000 } }), ctx, {});
  t.after(() => clf.close());
  const started = Date.now();
  const call = clf.classify(['x']);
  setTimeout(() => ctx.controller.abort(), 200);
  await assert.rejects(call, InterruptedError);
  assert.ok(Date.now() - started < 5_000, 'not the 30 s the server asked');
  assert.deepEqual(ctx.pauses.length, 1);
});

test('--timeout bounds the whole answer: a body trickled at a byte a second does not hold a request past it', async (t) => {
  const srv = await server(t, { script: [{ status: 200, json: [expectedScores('x')], trickleMs: 1000 }] });
  const ctx = recordingContext();
  const clf = createHfClassifier(hfTestSettings(srv, { hf: { timeoutMs: 3_000 } }), ctx, {});
  t.after(() => clf.close());
  const started = Date.now();
  assert.deepEqual(await clf.classify(['x']), [{ ok: true, predictions: expectedScores('x') }]);
  const took = Date.now() - started;
  assert.deepEqual(ctx.retries.map((r) => r.kind), ['timeout'], 'the trickled answer was abandoned and the request resent');
  assert.ok(took >= 3_000 && took < 6_000, `abandoned after about 3 s, not after the ~60 s the body would take: ${took} ms`);
});

/**
 * The mixed-fault soak: thousands of texts through a real p-queue at concurrency 8 against a server that
 * answers 20% loading, 10% 429, 5% 500 and 2% dropped connections. Every text must come back exactly once
 * with its own answer, and the request count must show retries stayed proportional to the faults.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import PQueue from 'p-queue';
import type { ClassifierContext, Outcome, QueueControl, RetryKind } from '../src/backends/classifier.js';
import { createHfClassifier } from '../src/backends/hf/index.js';
import { expectedScores, hfTestSettings, startHfServer } from './support/hf-server.js';

/** The QueueControl a runner gives a backend, on p-queue: AIMD sets its concurrency, 429s pause it. */
function pQueueControl(queue: PQueue, maxConcurrency: number): QueueControl & { lowest: number } {
  let pausedUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  const control = {
    lowest: maxConcurrency,
    maxConcurrency,
    get concurrency() {
      return queue.concurrency;
    },
    setConcurrency(n: number) {
      queue.concurrency = Math.max(1, Math.min(maxConcurrency, Math.floor(n)));
      control.lowest = Math.min(control.lowest, queue.concurrency);
    },
    pauseFor(ms: number) {
      const until = Date.now() + ms;
      if (until <= pausedUntil) return; // overlapping pauses extend, never shorten
      pausedUntil = until;
      queue.pause();
      clearTimeout(timer);
      timer = setTimeout(() => queue.start(), ms);
    },
  };
  return control;
}

const TEXTS = 2500;
const CONCURRENCY = 8;

test(`soak: ${TEXTS} texts, concurrency ${CONCURRENCY}, 20% loading / 10% 429 / 5% 500 / 2% resets`, async (t) => {
  const server = await startHfServer({
    faults: { loading: 0.2, rateLimited: 0.1, serverError: 0.05, reset: 0.02 },
    seed: 20250101,
    estimatedTime: 0.005,
  });
  t.after(() => server.close());

  const queue = new PQueue({ concurrency: CONCURRENCY });
  const control = pQueueControl(queue, CONCURRENCY);
  const retries: Partial<Record<RetryKind, number>> = {};
  const notices: string[] = [];
  const controller = new AbortController();
  const ctx: ClassifierContext = {
    queue: control,
    signal: controller.signal,
    events: {
      retry: (kind) => (retries[kind] = (retries[kind] ?? 0) + 1),
      notice: (m) => notices.push(m),
    },
  };
  const settings = hfTestSettings(server, {
    concurrency: CONCURRENCY,
    hf: { backoffCapMs: 8, loadingBudgetMs: 60_000, timeoutMs: 5_000 },
  });
  const clf = createHfClassifier(settings, ctx, { HF_TOKEN: 'hf_soakTokenNotSecret000' });
  t.after(() => clf.close());

  const texts = Array.from({ length: TEXTS }, (_, i) => `soak row ${i}: ${'lorem ipsum '.repeat(i % 7)}`);
  const outcomes = new Map<number, Outcome[]>();
  const started = Date.now();
  await Promise.all(
    texts.map((text, i) =>
      queue.add(async () => {
        const [out] = await clf.classify([text]);
        outcomes.set(i, [...(outcomes.get(i) ?? []), out!]);
      }),
    ),
  );
  const wallMs = Date.now() - started;

  const requests = server.requests.length;
  const actions = server.actions();
  const totalRetries = Object.values(retries).reduce((a, b) => a + (b ?? 0), 0);
  console.log(
    JSON.stringify({
      soak: {
        texts: TEXTS,
        concurrency: CONCURRENCY,
        requests,
        requestsPerText: +(requests / TEXTS).toFixed(3),
        retriesByKind: retries,
        totalRetries,
        serverActions: actions,
        lowestConcurrency: control.lowest,
        finalConcurrency: control.concurrency,
        wallMs,
      },
    }),
  );

  for (let i = 0; i < TEXTS; i++) {
    assert.deepEqual(outcomes.get(i), [{ ok: true, predictions: expectedScores(texts[i]!) }], `row ${i}`);
  }
  // The server answered each text successfully exactly once: no duplicate work behind a retry.
  const answered = new Map<string, number>();
  for (const r of server.requests) if (r.action === 'ok') answered.set(r.texts[0]!, (answered.get(r.texts[0]!) ?? 0) + 1);
  assert.equal(answered.size, TEXTS);
  assert.ok([...answered.values()].every((n) => n === 1));
  // Every request was either the first try of a text or one reported retry.
  assert.equal(requests, TEXTS + totalRetries);
  // 37% of first tries fault, 17% of retries (a wait-for-model retry is never told "loading" again):
  // about 1.45 requests per text. A retry storm would be far above this bound.
  assert.ok(requests < TEXTS * 1.7, `${requests} requests for ${TEXTS} texts`);
  assert.ok(control.lowest < CONCURRENCY, 'AIMD lowered the concurrency under 429s');
  assert.deepEqual(notices, []);
});

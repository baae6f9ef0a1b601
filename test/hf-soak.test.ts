/**
 * Mixed-fault soaks: thousands of texts through the runner's own p-queue QueueControl at concurrency 8
 * against a server that answers 20% loading, 10% 429, 5% 500 and 2% dropped connections. Every text must
 * come back exactly once with its own answer, and the request count must show retries stayed proportional
 * to the faults. The last soak runs the CLI end to end, so the export is what is checked: every row once,
 * in order, with its own answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import PQueue from 'p-queue';
import { allowListeners } from '../src/core/abort.js';
import type { ClassifierContext, Outcome, QueueControl, RetryKind } from '../src/backends/classifier.js';
import { createHfClassifier } from '../src/backends/hf/index.js';
import { queueControl } from '../src/pipeline/queue-control.js';
import { expectedScores, hfTestSettings, startHfServer, type HfServer } from './support/hf-server.js';
import { runCli, tempDir } from './support/cli.js';

const CONCURRENCY = 8;
const FAULTS = { loading: 0.2, rateLimited: 0.1, serverError: 0.05, reset: 0.02 };

interface SoakResult {
  outcomes: Outcome[][];
  retries: Partial<Record<RetryKind, number>>;
  totalRetries: number;
  notices: string[];
  lowestConcurrency: number;
  pauses: number;
  batchSize: number;
  wallMs: number;
}

/** Drive `texts` through a p-queue the way the runner does, `batchSize` texts per classify() call. */
async function soak(server: HfServer, texts: string[], batchSize: number): Promise<SoakResult> {
  const queue = new PQueue({ concurrency: CONCURRENCY });
  const controller = new AbortController();
  allowListeners(controller.signal, CONCURRENCY); // as the runner does
  const real = queueControl(queue, CONCURRENCY, controller.signal);
  let lowestConcurrency = CONCURRENCY;
  let pauses = 0;
  const control: QueueControl = {
    get concurrency() {
      return real.concurrency;
    },
    maxConcurrency: real.maxConcurrency,
    setConcurrency(n) {
      real.setConcurrency(n);
      lowestConcurrency = Math.min(lowestConcurrency, real.concurrency);
    },
    pauseFor(ms) {
      pauses++;
      real.pauseFor(ms);
    },
  };
  const retries: Partial<Record<RetryKind, number>> = {};
  const notices: string[] = [];
  const ctx: ClassifierContext = {
    queue: control,
    signal: controller.signal,
    events: { retry: (kind) => (retries[kind] = (retries[kind] ?? 0) + 1), notice: (m) => notices.push(m) },
  };
  const settings = hfTestSettings(server, {
    concurrency: CONCURRENCY,
    batchSize,
    hf: { backoffCapMs: 8, loadingBudgetMs: 60_000, timeoutMs: 5_000 },
  });
  const clf = createHfClassifier(settings, ctx, { HF_TOKEN: 'hf_soakTokenNotSecret000' });
  const outcomes: Outcome[][] = texts.map(() => []);
  const started = Date.now();
  try {
    const calls: Promise<void>[] = [];
    for (let i = 0; i < texts.length; i += batchSize) {
      const slice = texts.slice(i, i + batchSize);
      calls.push(
        queue.add(async () => {
          const outs = await clf.classify(slice);
          outs.forEach((o, j) => outcomes[i + j]!.push(o));
        }),
      );
    }
    await Promise.all(calls);
  } finally {
    controller.abort();
    await clf.close();
  }
  const totalRetries = Object.values(retries).reduce((a, b) => a + (b ?? 0), 0);
  return { outcomes, retries, totalRetries, notices, lowestConcurrency, pauses, batchSize: clf.batchSize, wallMs: Date.now() - started };
}

/** The server answered each of `texts` texts successfully exactly once: no duplicate work behind a retry. */
function assertAnsweredOnce(server: HfServer, texts: number): void {
  const answered = new Map<string, number>();
  for (const req of server.requests) if (req.action === 'ok') answered.set(req.texts[0]!, (answered.get(req.texts[0]!) ?? 0) + 1);
  assert.equal(answered.size, texts);
  assert.ok([...answered.values()].every((n) => n === 1));
}

function report(name: string, texts: number, server: HfServer, r: SoakResult) {
  const requests = server.requests.length;
  console.log(
    JSON.stringify({
      [name]: {
        texts,
        concurrency: CONCURRENCY,
        requests,
        requestsPerText: +(requests / texts).toFixed(3),
        retriesByKind: r.retries,
        totalRetries: r.totalRetries,
        serverActions: server.actions(),
        queuePauses: r.pauses,
        lowestConcurrency: r.lowestConcurrency,
        wallMs: r.wallMs,
      },
    }),
  );
}

test('soak: 2500 texts one per request, 20% loading / 10% 429 / 5% 500 / 2% resets', async (t) => {
  const TEXTS = 2500;
  const server = await startHfServer({ faults: FAULTS, seed: 20250101, estimatedTime: 0.005 });
  t.after(() => server.close());
  const texts = Array.from({ length: TEXTS }, (_, i) => `soak row ${i}: ${'lorem ipsum '.repeat(i % 7)}`);
  const r = await soak(server, texts, 1);
  report('soak', TEXTS, server, r);

  texts.forEach((text, i) => assert.deepEqual(r.outcomes[i], [{ ok: true, predictions: expectedScores(text) }], `row ${i}`));
  assertAnsweredOnce(server, TEXTS);
  // Every request was either the first try of a text or one reported retry.
  const requests = server.requests.length;
  assert.equal(requests, TEXTS + r.totalRetries);
  // 37% of first tries fault, 17% of retries (a wait-for-model retry is never told "loading" again):
  // about 1.45 requests per text. A retry storm would be far above this bound.
  assert.ok(requests < TEXTS * 1.7, `${requests} requests for ${TEXTS} texts`);
  assert.ok(r.lowestConcurrency < CONCURRENCY, 'AIMD lowered the concurrency under 429s');
  assert.deepEqual(r.notices, []);
});

test('soak: 1200 texts in batches of 4 with bad and too-long rows among the faults', async (t) => {
  const TEXTS = 1200;
  const server = await startHfServer({ faults: FAULTS, seed: 7, estimatedTime: 0.005, badMarker: '#BAD#', maxChars: 80 });
  t.after(() => server.close());
  const kind = (i: number) => (i % 50 === 7 ? 'bad' : i % 50 === 23 ? 'long' : 'plain');
  const texts = Array.from({ length: TEXTS }, (_, i) =>
    kind(i) === 'bad' ? `row ${i} #BAD#` : kind(i) === 'long' ? `row ${i} ${'x'.repeat(200)}` : `row ${i}`,
  );
  const r = await soak(server, texts, 4);
  report('batchedSoak', TEXTS, server, r);

  texts.forEach((text, i) => {
    const [out, ...more] = r.outcomes[i]!;
    assert.equal(more.length, 0, `row ${i} answered once`);
    if (kind(i) === 'bad') assert.equal(out!.ok ? 'ok' : out!.kind, 'bad_input', `row ${i}`);
    else if (kind(i) === 'long') assert.equal(out!.ok && out!.truncated, true, `row ${i}`);
    else assert.deepEqual(out, { ok: true, predictions: expectedScores(text) }, `row ${i}`);
  });
  assert.equal(r.batchSize, 4, 'bad rows never make the endpoint look like it cannot batch');
  assert.deepEqual(r.notices, []);
  // 300 batches; about 1.45 requests each, plus a bisection (~6 requests) for each of the 48 batches with a bad or long row.
  assert.ok(server.requests.length < 300 * 1.7 + 48 * 10, `${server.requests.length} requests`);
});

test('soak through the CLI: 1500 rows under the same faults, every row exactly once in the export', async (t) => {
  const ROWS = 1500;
  const TOKEN = 'hf_soakCliTokenNotSecret00';
  const server = await startHfServer({ faults: FAULTS, seed: 99, estimatedTime: 0.005, token: TOKEN });
  t.after(() => server.close());
  const dir = tempDir(t);
  const input = path.join(dir, 'in.csv');
  const out = path.join(dir, 'out.csv');
  const text = (i: number) => `cli soak ${i}, "quoted" ${'words '.repeat(i % 5)}`;
  writeFileSync(input, `id,text\n${Array.from({ length: ROWS }, (_, i) => `${i},"${text(i).replaceAll('"', '""')}"`).join('\n')}\n`);
  const started = Date.now();
  const r = await runCli(
    ['run', '--input', input, '--text-column', 'text', '--model', 'soak', '--output', out, '--backoff-cap', '0.01', '--json', '--quiet'],
    { HF_INFERENCE_ENDPOINT: server.url, HF_TOKEN: TOKEN },
  );
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  const requests = server.requests.length;
  console.log(JSON.stringify({ cliSoak: { rows: ROWS, requests, retriesByKind: summary.retries, serverActions: server.actions(), wallMs: Date.now() - started } }));

  const rows = parse(readFileSync(out)) as string[][];
  assert.deepEqual(rows[0], ['id', 'text', 'predicted_label', 'predicted_score', 'truncated', 'error']);
  assert.equal(rows.length, ROWS + 1, 'every input row once');
  rows.slice(1).forEach((row, i) => {
    const best = expectedScores(text(i))[0]!;
    assert.deepEqual([...row.slice(0, 3), Number(row[3]), ...row.slice(4)], [String(i), text(i), best.label, best.score, '', ''], `row ${i}`);
  });
  assertAnsweredOnce(server, ROWS);
  const retried = Object.values(summary.retries as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.equal(requests, ROWS + retried, 'every request is a first try or a reported retry');
  assert.ok(requests < ROWS * 1.7, `${requests} requests for ${ROWS} rows: a retry storm`);
  assert.ok(!readFileSync(out, 'utf8').includes(TOKEN));
});

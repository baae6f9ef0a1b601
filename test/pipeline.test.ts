/**
 * The pipeline in process, through a classifier of the test's own: dedupe, the wait behind a part-filled
 * batch, drain on stop, a fatal error, and a failed commit. Real files, a real SQLite checkpoint.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Classifier, ClassifierContext, Outcome, Text } from '../src/backends/classifier.js';
import { BackendFatalError, ErrorCode } from '../src/errors.js';
import { resolveSettings } from '../src/job/resolve.js';
import type { JobSettings } from '../src/job/settings.js';
import { openJobCheckpoint } from '../src/pipeline/prepare.js';
import { runJob, type RunOptions } from '../src/pipeline/run.js';
import { Checkpoint } from '../src/store/checkpoint.js';

const dir = mkdtempSync(path.join(tmpdir(), 'batchlabel-pipeline-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

function inputOf(texts: string[]): string {
  const file = path.join(dir, `in-${files++}.csv`);
  writeFileSync(file, `text\n${texts.map((t) => `"${t.replace(/"/g, '""')}"`).join('\n')}\n`);
  return file;
}

function settingsFor(input: string, extra: Record<string, string | number | boolean> = {}): JobSettings {
  return resolveSettings({ input, endpoint: 'http://127.0.0.1:9/unused', ...extra });
}

/** A classifier that labels a text by its length's parity, after `delayMs`, and records what it was asked. */
function fakeClassifier(opts: { batchSize?: number; delayMs?: number; failOnCall?: number; onCall?: (n: number) => void } = {}) {
  const calls: string[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const factory = async (ctx: ClassifierContext): Promise<Classifier> => ({
    batchSize: opts.batchSize ?? 4,
    async classify(texts: readonly Text[]): Promise<Outcome[]> {
      const strings = texts.map((t) => (typeof t === 'string' ? t : t.toString('utf8')));
      calls.push(strings);
      opts.onCall?.(calls.length);
      if (opts.failOnCall !== undefined && calls.length === opts.failOnCall) throw new BackendFatalError('the endpoint refused the token', ErrorCode.auth);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        if (ctx.signal.aborted) return strings.map(() => ({ ok: false, kind: 'network', error: 'cancelled' }));
        return strings.map((s) => ({ ok: true, predictions: [{ label: s.length % 2 ? 'ODD' : 'EVEN', score: 0.9 }] }));
      } finally {
        inFlight--;
      }
    },
    async close() {},
  });
  return { factory, calls, get maxInFlight() { return maxInFlight; } };
}

async function run(settings: JobSettings, classifier: RunOptions['classifier'], extra: Partial<RunOptions> = {}) {
  const { store } = await openJobCheckpoint(settings, { restart: false, notice: () => {} });
  try {
    const result = await runJob(settings, store, { stop: new AbortController().signal, drainMs: 5000, retryFailed: false, classifier, ...extra });
    return { result, counts: store.counts(), rows: store.page(0, 1e6) };
  } finally {
    store.close();
  }
}

test('identical texts are sent once; every copy gets the result', async () => {
  const texts = Array.from({ length: 200 }, (_, i) => `review number ${i % 7}`);
  const fake = fakeClassifier({ batchSize: 3 });
  const { counts, rows, result } = await run(settingsFor(inputOf(texts)), fake.factory);
  const sent = fake.calls.flat();
  assert.equal(sent.length, 7, `sent ${sent.length} texts for 7 distinct ones`);
  assert.equal(new Set(sent).size, 7);
  assert.equal(counts.done, 200);
  assert.equal(result.stats.reused, 193);
  rows.forEach((r, i) => assert.equal(r.label, texts[i]!.length % 2 ? 'ODD' : 'EVEN'));
});

test('a resumed run reuses the results of texts finished by the run before', async () => {
  const input = inputOf(['alpha', 'beta', 'alpha', 'gamma']);
  const settings = settingsFor(input, { limit: 2 });
  await run(settings, fakeClassifier().factory);
  const second = fakeClassifier();
  const { counts } = await run(settingsFor(input), second.factory);
  assert.deepEqual(second.calls.flat(), ['gamma']);
  assert.equal(counts.done, 4);
});

test('rows behind a part-filled batch do not wait forever: the batch is sent', async () => {
  // One new text, then far more finished-at-once rows (copies of it) than the run holds behind a slow row:
  // the reader must send the part-filled batch before it waits, or the run never ends.
  const texts = ['the one slow text', ...Array.from({ length: 20_000 }, () => 'the one slow text'), 'another text'];
  const fake = fakeClassifier({ batchSize: 64, delayMs: 20 });
  const { counts } = await run(settingsFor(inputOf(texts)), fake.factory);
  assert.equal(counts.done, texts.length);
  assert.equal(fake.calls.length, 2, JSON.stringify(fake.calls.map((c) => c.length)));
});

test('a stop lets the requests in flight finish, commits them, starts nothing new, and the resume does the rest once', async () => {
  const texts = Array.from({ length: 400 }, (_, i) => `distinct text ${i}`);
  const input = inputOf(texts);
  const stop = new AbortController();
  // The stop comes while the fifth call is in flight (and the sixth may be too, at concurrency 2).
  const fake = fakeClassifier({
    batchSize: 4,
    delayMs: 30,
    onCall: (n) => {
      if (n === 5) stop.abort();
    },
  });
  const settings = settingsFor(input, { concurrency: 2 });
  const { store } = await openJobCheckpoint(settings, { restart: false, notice: () => {} });
  const result = await runJob(settings, store, { stop: stop.signal, drainMs: 5000, retryFailed: false, classifier: fake.factory });
  const counts = store.counts();
  store.close();
  assert.equal(result.state, 'interrupted');
  assert.ok(fake.calls.length <= 6, `${fake.calls.length} calls: new ones started after the stop`);
  // Every call in flight at the stop finished and was committed (4 texts a call, none failed as cancelled).
  assert.equal(counts.failed, 0);
  assert.equal(counts.done, fake.calls.flat().length);
  assert.ok(counts.done < texts.length);

  const resumed = fakeClassifier({ batchSize: 4 });
  const after = await run(settings, resumed.factory);
  assert.equal(after.counts.done, texts.length);
  const all = [...fake.calls.flat(), ...resumed.calls.flat()];
  assert.equal(all.length, texts.length, 'no text sent twice');
  assert.equal(new Set(all).size, texts.length);
});

test('a fatal backend error stops the run with that error; what finished before it stays committed', async () => {
  const texts = Array.from({ length: 100 }, (_, i) => `text ${i}`);
  const settings = settingsFor(inputOf(texts), { concurrency: 1 });
  const fake = fakeClassifier({ batchSize: 4, failOnCall: 5 });
  const { store } = await openJobCheckpoint(settings, { restart: false, notice: () => {} });
  await assert.rejects(
    runJob(settings, store, { stop: new AbortController().signal, drainMs: 1000, retryFailed: false, classifier: fake.factory }),
    (err: unknown) => err instanceof BackendFatalError && err.code === ErrorCode.auth,
  );
  assert.equal(store.counts().done, 16, 'the four calls before the failure');
  assert.equal(store.counts().failed, 0);
  assert.equal(store.runs().at(-1)?.state, 'failed');
  assert.equal(fake.calls.length, 5, 'nothing new started after the fatal error');
  store.close();
});

test('a commit that fails keeps its rows: the next run finds every row, none missing below the frontier', async () => {
  const texts = Array.from({ length: 3000 }, (_, i) => `row text ${i}`);
  const input = inputOf(texts);
  const settings = settingsFor(input);
  const { store } = await openJobCheckpoint(settings, { restart: false, notice: () => {} });
  // The disk fills up after the second commit: SQLite answers SQLITE_FULL from then on.
  const real = store.commit.bind(store);
  let commits = 0;
  store.commit = (rows, meta) => {
    if (++commits > 2) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
    real(rows, meta);
  };
  await assert.rejects(
    runJob(settings, store, { stop: new AbortController().signal, drainMs: 1000, retryFailed: false, classifier: fakeClassifier({ batchSize: 8 }).factory, writer: { maxRows: 500, maxDelayMs: 10_000 } }),
    (err: unknown) => err instanceof Error && err.message.includes('the disk is full') && !err.message.includes('SqliteError'),
  );
  const frontier = store.frontier().ordinal;
  assert.equal(store.missingBelow(frontier), false, `rows missing below the committed frontier ${frontier}`);
  store.close();
  const { counts } = await run(settings, fakeClassifier().factory);
  assert.equal(counts.done, texts.length);
});

test('a checkpoint with rows missing below its frontier heals itself: they are redone', async () => {
  const texts = Array.from({ length: 500 }, (_, i) => `healing text ${i}`);
  const settings = settingsFor(inputOf(texts));
  await run(settings, fakeClassifier().factory);
  // As an older version left it: 100 rows gone, the frontier past them.
  const db = Checkpoint.open(settings.checkpoint);
  db.close();
  const { default: Database } = await import('better-sqlite3');
  const raw = new Database(settings.checkpoint);
  raw.prepare('DELETE FROM rows WHERE ordinal >= 200 AND ordinal < 300').run();
  raw.prepare("DELETE FROM text_chunks").run();
  raw.close();
  const again = fakeClassifier();
  const { counts } = await run(settings, again.factory);
  assert.equal(counts.done, 500);
  assert.equal(again.calls.flat().length, 100);
});

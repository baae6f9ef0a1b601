/**
 * The circuit breaker, end to end: the CLI as a child process against a backend that never works (a
 * closed port, 500 to everything, 503 forever, a proxy's HTML page, 429 forever). The run must stop in
 * seconds with exit 1 and one line naming the cause, the checkpoint intact and every row still pending
 * (not failed), so the same command resumes once the backend is back. Rows failing for their own
 * reasons (bad input) must not trip it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from './support/cli.js';
import { startHfServer, type HfServerOptions, type ScriptedReply } from './support/hf-server.js';

const ROWS = 40;

function csv(dir: string): string {
  const file = path.join(dir, 'in.csv');
  writeFileSync(file, `id,text\n${Array.from({ length: ROWS }, (_, i) => `${i},review number ${i}`).join('\n')}\n`);
  return file;
}

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Small limits so each case takes seconds: 10 failures in a row, or 8 s without a success. */
const BREAKER = ['--breaker-failures', '10', '--breaker-window', '8', '--backoff-cap', '0.3', '--concurrency', '4'];

async function runAgainst(t: Parameters<typeof tempDir>[0], endpoint: string, flags: string[] = BREAKER) {
  const dir = tempDir(t);
  const input = csv(dir);
  const out = path.join(dir, 'out.csv');
  const started = Date.now();
  const r = await runCli(['run', '--input', input, '--endpoint', endpoint, '--output', out, ...flags], { HF_TOKEN: undefined });
  const ms = Date.now() - started;
  const status = await runCli(['status', path.join(dir, 'out.batchlabel.sqlite'), '--json']);
  const report = JSON.parse(status.stdout) as { rows: { done: number; failed: number; pending: number | null } };
  return { r, ms, report };
}

function assertStopped(res: Awaited<ReturnType<typeof runAgainst>>, cause: RegExp) {
  const { r, ms, report } = res;
  assert.equal(r.code, 1, `exit 1, got ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('batchlabel:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, cause);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace');
  assert.equal(report.rows.failed, 0, 'no row was failed for the backend’s sake');
  assert.equal(report.rows.done, 0);
  assert.ok(report.rows.pending === null || report.rows.pending === ROWS, `all rows pending: ${JSON.stringify(report.rows)}`);
  assert.ok(ms < 30_000, `stopped in seconds, not minutes: ${ms} ms`);
}

async function serving(t: Parameters<typeof tempDir>[0], reply: ScriptedReply, options: HfServerOptions = {}) {
  const srv = await startHfServer({ ...options, respond: () => reply });
  t.after(() => srv.close());
  return `${srv.url}/models/org/model`;
}

test('breaker: a refused connection stops the run: "cannot connect to 127.0.0.1:PORT (ECONNREFUSED)"', async (t) => {
  const port = await closedPort();
  assertStopped(await runAgainst(t, `http://127.0.0.1:${port}/models/org/model`), new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
});

test('breaker: HTTP 500 to everything: "every request answered HTTP 500"', async (t) => {
  const url = await serving(t, { status: 500, json: { error: 'CUDA error: an illegal memory access was encountered' } });
  assertStopped(await runAgainst(t, url), /every request answered HTTP 500 for \d+ s/);
});

test('breaker: 503 forever: "every request answered HTTP 503"', async (t) => {
  const url = await serving(t, { status: 503, text: 'Service Unavailable' });
  assertStopped(await runAgainst(t, url), /every request answered HTTP 503 for \d+ s/);
});

test('breaker: a proxy answering 200 with an HTML page: no answer was a classification result', async (t) => {
  const url = await serving(t, { status: 200, text: '<html><body><h1>Welcome to the corporate proxy</h1></body></html>' });
  assertStopped(await runAgainst(t, url), /no answer was a classification result for \d+ s \(malformed response: not JSON: <html>/);
});

test('breaker: 429 forever (with Retry-After): stops by the time window, rows pending', async (t) => {
  const url = await serving(t, { status: 429, json: { error: 'Rate limit reached' }, headers: { 'retry-after': '1' } });
  assertStopped(await runAgainst(t, url), /every request was refused with HTTP 429 \(rate limited\) for \d+ s/);
});

test('breaker: bad-input rows do not trip it; the run finishes with those rows failed (exit 4)', async (t) => {
  const url = await serving(t, { status: 400, json: { error: 'Input is not valid' } });
  const { r, report } = await runAgainst(t, url);
  assert.equal(r.code, 4, r.stderr);
  assert.equal(report.rows.failed, ROWS);
});

test('breaker: --breaker-failures 0 --breaker-window 0 turn it off (rows then fail after their retries)', async (t) => {
  const url = await serving(t, { status: 500, json: { error: 'boom' } });
  const { r, report } = await runAgainst(t, url, ['--breaker-failures', '0', '--breaker-window', '0', '--max-retries', '1', '--backoff-cap', '0.01', '--concurrency', '4']);
  assert.equal(r.code, 4, r.stderr);
  assert.equal(report.rows.failed, ROWS);
});

/**
 * Benchmark — rate control against a server that limits us, in the three ways real endpoints do.
 *
 * The loopback server (test/support/hf-server.ts, in this process) plays each situation with 30 ms a
 * request; batchlabel runs as users run it (the CLI, one text per request) and so does a naive client
 * (lib/naive-client.ts: a worker loop with a 3-try retry recipe) on the same server. Figures are ratios
 * measured in this run:
 * - 5% isolated 429s (half with Retry-After: 1) at --concurrency 16: rows/s over the clean run's, ≥ 0.6;
 * - an overload limit of 8 in flight (TEI's overloaded 429) at --concurrency 32: the capacity time
 *   (rows × 30 ms / 8) over the time batchlabel took, ≥ 0.85;
 * - a quota of 200 requests per 2 s (RateLimit + Retry-After): rows over the quota of the windows used,
 *   ≥ 0.9, with 429s ≤ 5% of requests.
 * A clean run at --concurrency 8 tells how much of the overload figure the machine itself costs (the
 * client's own gaps between an answer and the next request), apart from the rate control.
 * Every row must be labeled exactly once (each text answered 200 once by the server).
 * Times are the server's: from the first request to the last answer, so the CLI's start-up and export
 * (the same in every case) do not dilute the rate control; the CLI's wall time is in the notes.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, removeCheckpoint } from './lib/cli.js';
import { DIST, envInt } from './lib/env.js';
import { scratch } from './lib/data.js';
import { check, runProcess } from './lib/proc.js';
import type { BenchResult, Row } from './lib/report.js';
import { fmtRatio } from './lib/stats.js';
import { startHfServer, type HfServer, type HfServerOptions } from '../test/support/hf-server.js';

const LATENCY_MS = 30;

interface Outcome {
  name: string;
  system: 'batchlabel' | 'naive';
  rows: number;
  /** Texts the server answered 200 (each once, or the run is refused). */
  right: number;
  requests: number;
  rejected: number;
  /** First request to last answer, ms. */
  spanMs: number;
  wallMs: number;
}

function serverFigures(server: HfServer): { right: number; requests: number; rejected: number; spanMs: number; once: boolean } {
  const counts = new Map<string, number>();
  for (const r of server.requests) if (r.status === 200) for (const t of r.texts) counts.set(t, (counts.get(t) ?? 0) + 1);
  const times = server.requests.map((r) => r.at);
  const answered = server.requests.map((r) => r.answeredAt).filter((t) => !Number.isNaN(t));
  return {
    right: counts.size,
    requests: server.requests.length,
    rejected: server.requests.filter((r) => r.status === 429).length,
    spanMs: Math.max(...answered) - Math.min(...times),
    once: [...counts.values()].every((n) => n === 1),
  };
}

async function scenario(name: string, system: Outcome['system'], options: HfServerOptions, concurrency: number, input: { csv: string; json: string; rows: number }, dir: string): Promise<Outcome> {
  const server = await startHfServer({ delayMs: LATENCY_MS, seed: 14, ...options });
  const endpoint = `${server.url}/models/org/model`;
  const started = performance.now();
  try {
    if (system === 'batchlabel') {
      const checkpoint = path.join(dir, `${name}.sqlite`);
      removeCheckpoint(checkpoint);
      const r = await runCli(['--input', input.csv, '--endpoint', endpoint, '--output', path.join(dir, `${name}.csv`), '--checkpoint', checkpoint, '--concurrency', String(concurrency)], { timeoutMs: 10 * 60_000 });
      if (r.summary.rows.labeled !== input.rows) throw new Error(`${name}: batchlabel labeled ${r.summary.rows.labeled} of ${input.rows} rows`);
      removeCheckpoint(checkpoint);
    } else {
      check(await runProcess(process.execPath, [path.join(DIST, 'bench/lib/naive-client.js'), endpoint, input.json, String(concurrency)], { timeoutMs: 10 * 60_000 }), 'naive client');
    }
    const wallMs = performance.now() - started;
    const f = serverFigures(server);
    if (system === 'batchlabel' && (!f.once || f.right !== input.rows)) throw new Error(`${name}: the server labeled ${f.right} distinct rows of ${input.rows}${f.once ? '' : ', some twice'}`);
    process.stdout.write(`  ${name.padEnd(9)} ${system.padEnd(10)} ${f.right}/${input.rows} right, ${f.requests} requests (${f.rejected} 429), ${(f.spanMs / 1000).toFixed(2)} s at the server, ${(wallMs / 1000).toFixed(2)} s wall\n`);
    return { name, system, rows: input.rows, right: f.right, requests: f.requests, rejected: f.rejected, spanMs: f.spanMs, wallMs };
  } finally {
    await server.close();
  }
}

export async function rateBench(): Promise<BenchResult> {
  const rows = envInt('BENCH_RATE_ROWS', 2000);
  const dir = scratch('rate');
  const texts = Array.from({ length: rows }, (_, i) => `review ${i}: the film was ${['fine', 'dull', 'great', 'long'][i % 4]} and the ending ${i % 3 ? 'worked' : 'did not'}`);
  const input = { csv: path.join(dir, 'in.csv'), json: path.join(dir, 'texts.json'), rows };
  writeFileSync(input.csv, `id,text\n${texts.map((t, i) => `${i},${t}`).join('\n')}\n`);
  writeFileSync(input.json, JSON.stringify(texts));

  const quota = { limit: 200, windowMs: 2000 };
  const cases: Array<[string, HfServerOptions, number]> = [
    ['clean', {}, 16],
    ['clean-8', {}, 8],
    ['isolated', { faults: { rateLimited: 0.05 }, retryAfter: '1', retryAfterShare: 0.5 }, 16],
    ['overload', { maxInFlight: 8 }, 32],
    ['quota', { quota }, 16],
  ];
  const out: Outcome[] = [];
  for (const [name, options, concurrency] of cases) {
    const systems = name === 'clean-8' ? (['batchlabel'] as const) : (['batchlabel', 'naive'] as const);
    for (const system of systems) out.push(await scenario(name, system, options, concurrency, input, dir));
  }
  const get = (name: string, system: Outcome['system'] = 'batchlabel') => out.find((o) => o.name === name && o.system === system)!;
  const perSec = (o: Outcome) => o.right / (o.spanMs / 1000);

  const isolated = perSec(get('isolated')) / perSec(get('clean'));
  const capacityMs = (rows * LATENCY_MS) / 8;
  const overload = capacityMs / get('overload').spanMs;
  const q = get('quota');
  const windows = Math.ceil(q.spanMs / quota.windowMs);
  const quotaUse = q.right / (windows * quota.limit);
  const rejectedShare = q.rejected / q.requests;
  const naiveLine = (name: string) => {
    const n = get(name, 'naive');
    return `naive loop: ${n.right}/${n.rows} right in ${(n.spanMs / 1000).toFixed(1)} s (${n.requests} requests)`;
  };
  const table: Row[] = [
    { measure: `5% isolated 429s (half Retry-After: 1), --concurrency 16: rows/s vs the clean run`, figure: `${Math.round(perSec(get('isolated')))} rows/s`, baseline: `${Math.round(perSec(get('clean')))} rows/s (clean)`, ratio: fmtRatio(isolated), target: '≥ 0.6× clean', pass: isolated >= 0.6 },
    { measure: `overload limit 8 in flight (TEI 429), --concurrency 32: capacity time over time taken`, figure: `${(get('overload').spanMs / 1000).toFixed(2)} s`, baseline: `${(capacityMs / 1000).toFixed(2)} s (${rows} × ${LATENCY_MS} ms / 8)`, ratio: fmtRatio(overload), target: '≥ 0.85 of capacity', pass: overload >= 0.85 },
    { measure: 'overload: time of a clean run at --concurrency 8 (what 8 in flight give on this machine) over the time taken', figure: `${(get('overload').spanMs / 1000).toFixed(2)} s`, baseline: `${(get('clean-8').spanMs / 1000).toFixed(2)} s (clean, 8 in flight)`, ratio: fmtRatio(get('clean-8').spanMs / get('overload').spanMs), target: '' },
    { measure: `quota 200 per 2 s (RateLimit + Retry-After), --concurrency 16: rows over the quota of the windows used`, figure: `${q.right} rows in ${windows} windows`, baseline: `${windows * quota.limit} (quota)`, ratio: fmtRatio(quotaUse), target: '≥ 0.9 of quota', pass: quotaUse >= 0.9 },
    { measure: 'quota: 429s over requests', figure: `${q.rejected} of ${q.requests}`, baseline: '', ratio: `${(100 * rejectedShare).toFixed(1)}%`, target: '≤ 5%', pass: rejectedShare <= 0.05 },
    ...['clean', 'isolated', 'overload', 'quota'].map((name) => {
      const b = get(name);
      const n = get(name, 'naive');
      return { measure: `${name}: batchlabel right rows/s vs the naive loop (${naiveLine(name)})`, figure: `${Math.round(perSec(b))} rows/s, ${b.right}/${b.rows} right`, baseline: `${Math.round(perSec(n))} rows/s, ${n.right}/${n.rows} right`, ratio: fmtRatio(perSec(b) / perSec(n)), target: '' };
    }),
  ];
  const notes = [
    `Server: test/support/hf-server.ts in the benchmark's process, ${LATENCY_MS} ms a request, seed 14; ${rows} rows, one text per request. batchlabel: \`bin/batchlabel run --input in.csv --endpoint <loopback> --output out.csv --checkpoint <fresh> --concurrency <16|32> --quiet --json\`. Naive loop: bench/lib/naive-client.ts at the same concurrency (Node fetch, 3 tries, Retry-After or 1 s / 2 s between them).`,
    'Times are measured at the server, first request to last answer. CLI wall times (start-up and export included): ' + out.filter((o) => o.system === 'batchlabel').map((o) => `${o.name} ${(o.wallMs / 1000).toFixed(1)} s`).join(', ') + '.',
  ];
  return { name: 'rate', title: 'Rate control: isolated 429s, overload, quota', rows: table, notes };
}

/**
 * Benchmark 1 — pipeline overhead on the remote path.
 *
 * batchlabel end to end (the real CLI: parse, queue, HTTP, checkpoint, export) against a bare undici loop
 * that sends the same requests at the same concurrency to the same loopback server, which answers instantly
 * in the Hugging Face format from its own process. Targets (issue 4): with one text per request ≥ 0.85× the
 * raw loop's rows/s; with --batch-size 64 ≥ 40,000 rows/s end to end. A third system, batchlabel's request
 * path alone (lib/request-path.ts), tells how much of the gap is the request path and how much the rest.
 */
import path from 'node:path';
import { runCli, removeCheckpoint } from './lib/cli.js';
import { DIST, QUICK, REPS, envInt } from './lib/env.js';
import { reviewsCsv, scratch, warmPageCache, prefixRows, type GeneratedCsv } from './lib/data.js';
import { check, runProcess } from './lib/proc.js';
import type { BenchResult, Row } from './lib/report.js';
import { startFastServer, type FastServer } from './lib/server.js';
import { fmt, fmtBytes, fmtInt, fmtRatio, median, perSecond } from './lib/stats.js';

const CONCURRENCY = 8; // batchlabel's default for the hf backend

type System = 'batchlabel' | 'raw undici' | 'request path';

interface Sample {
  system: System;
  rep?: number;
  batch: number;
  rows: number;
  ms: number;
  cpuMs: number;
  serverCpuMs: number;
  peakRss: number;
}

/** One of the loops on preloaded texts (lib/raw-undici.ts, lib/request-path.ts), timed by itself from first request to last answer. */
async function loopRun(system: Exclude<System, 'batchlabel'>, server: FastServer, data: GeneratedCsv, rows: number, batch: number): Promise<Sample> {
  const script = system === 'raw undici' ? 'raw-undici.js' : 'request-path.js';
  const cpu0 = server.cpuMs();
  const r = check(
    await runProcess(process.execPath, [path.join(DIST, 'bench/lib', script), `${server.url}/models/bench`, data.textsPath!, String(rows), String(CONCURRENCY), String(batch)], {
      timeoutMs: 15 * 60_000,
    }),
    system,
  );
  const out = JSON.parse(r.stdout.trim()) as { rows: number; ms: number };
  return { system, batch, rows: out.rows, ms: out.ms, cpuMs: r.cpuMs, serverCpuMs: server.cpuMs() - cpu0, peakRss: r.peakRss };
}

async function cliRun(server: FastServer, input: GeneratedCsv, batch: number, dir: string): Promise<Sample> {
  const checkpoint = path.join(dir, 'run.sqlite');
  const output = path.join(dir, 'out.csv');
  removeCheckpoint(checkpoint);
  const cpu0 = server.cpuMs();
  const r = await runCli(
    ['--input', input.path, '--text-column', 'text', '--endpoint', `${server.url}/models/bench`, '--output', output, '--checkpoint', checkpoint, '--concurrency', String(CONCURRENCY), '--batch-size', String(batch)],
    { timeoutMs: 20 * 60_000 },
  );
  const s = r.summary;
  if (s.rows.labeled !== input.rows || s.rows.thisRun !== input.rows || s.rows.reused !== 0) {
    throw new Error(`batchlabel labeled ${s.rows.labeled} of ${input.rows} rows (this run ${s.rows.thisRun}, reused ${s.rows.reused})`);
  }
  removeCheckpoint(checkpoint);
  return { system: 'batchlabel', batch, rows: input.rows, ms: r.wallMs, cpuMs: r.cpuMs, serverCpuMs: server.cpuMs() - cpu0, peakRss: r.peakRss };
}

export async function pipelineBench(): Promise<BenchResult> {
  const rowsBatch = envInt('BENCH_ROWS', QUICK ? 100_000 : 1_000_000);
  const rowsSingle = Math.min(rowsBatch, envInt('BENCH_ROWS_SINGLE', QUICK ? 20_000 : 200_000));
  const big = await reviewsCsv({ rows: rowsBatch, withTexts: true });
  const single = await prefixRows(big, rowsSingle, `single-${rowsSingle}`);
  await warmPageCache(big.path);
  await warmPageCache(big.textsPath!);
  const dir = scratch('pipeline');
  const server = await startFastServer();
  const samples: Sample[] = [];
  try {
    for (const [batch, input] of [[1, single], [64, big]] as const) {
      for (let rep = 0; rep < REPS; rep++) {
        // Rotate which system goes first, so drift on a shared machine does not favour any.
        const systems: System[] = ['raw undici', 'batchlabel', 'request path'];
        const order = [...systems.slice(rep % 3), ...systems.slice(0, rep % 3)];
        for (const sys of order) {
          const s = sys === 'batchlabel' ? await cliRun(server, input, batch, dir) : await loopRun(sys, server, big, input.rows, batch);
          samples.push({ ...s, rep });
          process.stdout.write(`  ${s.system.padEnd(12)} batch ${String(batch).padStart(2)} run ${rep + 1}: ${fmtInt(perSecond(s.rows, s.ms))} rows/s (${(s.ms / 1000).toFixed(1)} s, client CPU ${(s.cpuMs / 1000).toFixed(1)} s, server CPU ${Math.round((100 * s.serverCpuMs) / s.ms)}%)\n`);
        }
      }
    }
    const stats = await server.stats();
    if (stats.errors) throw new Error(`the server answered ${stats.errors} malformed requests`);
  } finally {
    await server.close();
  }

  const rate = (system: System, batch: number) => median(samples.filter((s) => s.system === system && s.batch === batch).map((s) => perSecond(s.rows, s.ms)));
  const cli1 = rate('batchlabel', 1);
  const raw1 = rate('raw undici', 1);
  const cli64 = rate('batchlabel', 64);
  const raw64 = rate('raw undici', 64);
  /** Median over repetitions of `system` / raw within each repetition (they ran back to back). */
  const ratio = (batch: number, system: System = 'batchlabel') =>
    median(
      Array.from({ length: REPS }, (_, rep) => {
        const get = (sys: System) => samples.find((s) => s.system === sys && s.batch === batch && s.rep === rep)!;
        return perSecond(get(system).rows, get(system).ms) / perSecond(get('raw undici').rows, get('raw undici').ms);
      }),
    );
  const r1 = ratio(1);
  const rows: Row[] = [
    {
      measure: `rows/s, 1 text per request (${fmtInt(single.rows)} rows)`,
      figure: fmtInt(cli1),
      baseline: `${fmtInt(raw1)} (raw undici)`,
      ratio: fmtRatio(r1),
      target: '≥ 0.85× raw',
      pass: r1 >= 0.85,
    },
    {
      measure: `rows/s, --batch-size 64 (${fmtInt(big.rows)} rows)`,
      figure: fmtInt(cli64),
      baseline: `${fmtInt(raw64)} (raw undici)`,
      ratio: fmtRatio(ratio(64)),
      target: '≥ 40,000 rows/s',
      pass: cli64 >= 40_000,
    },
    ...[1, 64].map((batch) => ({
      measure: `rows/s, ${batch === 1 ? '1 text per request' : '--batch-size 64'}, request path alone (no reading, checkpoint, export)`,
      figure: fmtInt(rate('request path', batch)),
      baseline: `${fmtInt(batch === 1 ? raw1 : raw64)} (raw undici)`,
      ratio: fmtRatio(ratio(batch, 'request path')),
      target: '',
    })),
  ];
  const peak = Math.max(...samples.filter((s) => s.system === 'batchlabel').map((s) => s.peakRss));
  const notes = [
    `Input: generated CSV (id,rating,text) of unique texts built from IMDB sentences with IMDB review lengths: mean ${Math.round(big.meanChars)} characters; ${fmtInt(big.rows)} rows = ${fmtBytes(big.bytes)}. One text per request runs on the first ${fmtInt(single.rows)} rows (a full million at ~${fmt(cli1)} rows/s would take ${Math.round(big.rows / Math.max(1, cli1) / 60)} min per run).`,
    `batchlabel: \`bin/batchlabel run --input <csv> --endpoint <loopback>/models/bench --output out.csv --checkpoint <fresh> --concurrency ${CONCURRENCY} --batch-size <1|64> --quiet --json\`, timed from spawn to exit (startup, parse, requests, checkpoint, export of the scored CSV). Raw: bench/lib/raw-undici.ts, same bodies, headers, Pool options and concurrency, texts preloaded, timed from first request to last answer. Request path: bench/lib/request-path.ts, the runner's p-queue and backlog rule with the real HF backend, texts preloaded as bytes, timed the same way; batchlabel's per-row work around it (reading, hashing, dedupe, checkpoint, export, start-up) is the difference between it and the CLI.`,
    `Server: bench/lib/fast-server.ts in its own process (raw TCP HTTP/1.1, instant fixed answer, counters only). Figures are medians of ${REPS} runs per system, ratios medians of the per-repetition ratios (the systems run back to back, order rotating); batchlabel's peak RSS in these runs: ${fmtBytes(peak)}.`,
    '',
    '| system | batch | run | rows/s | wall | client CPU | server CPU |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...samples.map((s, i) => `| ${s.system} | ${s.batch} | ${Math.floor(samples.slice(0, i).filter((x) => x.system === s.system && x.batch === s.batch).length) + 1} | ${fmtInt(perSecond(s.rows, s.ms))} | ${(s.ms / 1000).toFixed(1)} s | ${(s.cpuMs / 1000).toFixed(1)} s | ${Math.round((100 * s.serverCpuMs) / s.ms)}% |`),
  ];
  return { name: 'pipeline', title: 'Pipeline overhead, remote path', rows, notes };
}

/**
 * Benchmark 4 — memory.
 *
 * Peak resident memory (VmHWM of the CLI process) labeling CSVs of 200 MB, 1 GB and 2 GB through the
 * remote path with --batch-size 64, end to end including the export of the scored CSV. Targets (issue 4):
 * under 250 MB at every size, and flat as the file grows (here: the largest file's peak at most 25 MB above
 * the smallest's).
 */
import { statfsSync } from 'node:fs';
import path from 'node:path';
import { runCli, removeCheckpoint } from './lib/cli.js';
import { QUICK, envList } from './lib/env.js';
import { benchDir, prefixOf, reviewsCsv, scratch, type GeneratedCsv } from './lib/data.js';
import type { BenchResult, Row } from './lib/report.js';
import { startFastServer } from './lib/server.js';
import { fmtBytes, fmtInt, fmtMs, perSecond } from './lib/stats.js';
import { rmSync } from 'node:fs';

const MB = 1024 * 1024;
const LIMIT = 250 * MB;
const FLAT = 25 * MB;

export async function memoryBench(): Promise<BenchResult> {
  const sizes = envList('BENCH_MEMORY_MB', QUICK ? [50, 200] : [200, 1024, 2048]).sort((a, b) => a - b);
  const largest = sizes.at(-1)! * MB;
  const fs = statfsSync(benchDir());
  const free = fs.bavail * fs.bsize;
  // The largest input, its prefixes, the scored output (a little larger than the input) and the checkpoint.
  const need = largest * 2 + sizes.slice(0, -1).reduce((a, b) => a + b * MB, 0) + 512 * MB;
  if (free < need) throw new Error(`memory benchmark needs about ${fmtBytes(need)} free in ${benchDir()}, only ${fmtBytes(free)} available (set BENCH_MEMORY_MB smaller)`);

  const big = await reviewsCsv({ bytes: largest });
  const inputs: GeneratedCsv[] = [];
  for (const mb of sizes.slice(0, -1)) inputs.push(await prefixOf(big, mb * MB, `mem-${mb}mb`));
  inputs.push(big);
  const dir = scratch('memory');
  const server = await startFastServer();
  const runs: { input: GeneratedCsv; peak: number; ms: number; batch: number }[] = [];
  try {
    // Every size at --batch-size 64, then the smallest again at the hf default of one text per request
    // (a request per row: the shape that exposed a per-request leak once).
    for (const [input, batch] of [...inputs.map((i) => [i, 64] as const), [inputs[0]!, 1] as const]) {
      const checkpoint = path.join(dir, 'mem.sqlite');
      const output = path.join(dir, 'out.csv');
      removeCheckpoint(checkpoint);
      const r = await runCli(
        ['--input', input.path, '--text-column', 'text', '--endpoint', `${server.url}/models/bench`, '--batch-size', String(batch), '--output', output, '--checkpoint', checkpoint],
        { timeoutMs: 30 * 60_000 },
      );
      if (r.summary.rows.labeled !== input.rows) throw new Error(`labeled ${r.summary.rows.labeled} of ${input.rows}`);
      removeCheckpoint(checkpoint);
      rmSync(output, { force: true });
      runs.push({ input, peak: r.peakRss, ms: r.wallMs, batch });
      process.stdout.write(`  ${fmtBytes(input.bytes)}, batch ${batch}: peak RSS ${fmtBytes(r.peakRss)} (${fmtInt(input.rows)} rows in ${fmtMs(r.wallMs)})\n`);
    }
  } finally {
    await server.close();
  }
  const single = runs.pop()!;
  const rows: Row[] = [...runs, single].map((r) => ({
    measure: `peak RSS, ${fmtBytes(r.input.bytes)} CSV (${fmtInt(r.input.rows)} rows)${r.batch === 1 ? ', 1 text per request' : ''}`,
    figure: fmtBytes(r.peak),
    baseline: '',
    ratio: '',
    target: '< 250 MiB',
    pass: r.peak < LIMIT,
  }));
  const growth = runs.at(-1)!.peak - runs[0]!.peak;
  rows.splice(runs.length, 0, {
    measure: `growth ${fmtBytes(runs[0]!.input.bytes)} → ${fmtBytes(runs.at(-1)!.input.bytes)}`,
    figure: `${growth >= 0 ? '+' : ''}${fmtBytes(Math.abs(growth)).replace(/^/, growth < 0 ? '−' : '')}`,
    baseline: fmtBytes(runs[0]!.peak),
    ratio: (runs.at(-1)!.peak / runs[0]!.peak).toFixed(2) + '×',
    target: 'flat: ≤ +25 MiB',
    pass: growth <= FLAT,
  });
  return {
    name: 'memory',
    title: 'Memory on large CSVs',
    rows,
    notes: [
      `The CLI end to end (run + export of the scored CSV) with \`--batch-size 64\` (and once at the default of one text per request) against the loopback server; peak RSS is the kernel's VmHWM for the CLI process, sampled every 25 ms from /proc. One run per size; smaller inputs are prefixes of the largest (same generator as the pipeline benchmark).`,
      `Throughput in these runs: ${[...runs, single].map((r) => `${fmtBytes(r.input.bytes)} at batch ${r.batch} ${fmtInt(perSecond(r.input.rows, r.ms))} rows/s`).join(', ')}.`,
    ],
  };
}

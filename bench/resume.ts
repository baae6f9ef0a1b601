/**
 * Benchmark 3 — resume cost.
 *
 * A million-row job that is 99% done (made cheaply: the CLI with --limit at 99% of the rows), then the
 * same command without --limit: time to resume and finish, against the time to label the remaining 1%
 * from scratch (a CSV holding only those rows). Target (issue 4): resume ≤ from-scratch + 2 s, which holds
 * only if the resumed run seeks to the recorded byte offset instead of re-parsing the finished 99%.
 * Both sides run without --output: exporting is proportional to the whole file, not to the resumed part,
 * and is timed separately.
 */
import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { CLI, QUICK, REPO, REPS, envInt } from './lib/env.js';
import { runCli, removeCheckpoint, cliEnv } from './lib/cli.js';
import { reviewsCsv, scratch, suffixOf, warmPageCache } from './lib/data.js';
import { check, runProcess } from './lib/proc.js';
import type { BenchResult } from './lib/report.js';
import { startFastServer } from './lib/server.js';
import { fmtInt, fmtMs, median } from './lib/stats.js';

const BATCH = 64;

function readFrontier(file: string): { ordinal: number; byte: number; line: number } | undefined {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const v = db.prepare("SELECT value FROM meta WHERE key = 'frontier'").pluck().get() as string | undefined;
    return v === undefined ? undefined : (JSON.parse(v) as { ordinal: number; byte: number; line: number });
  } finally {
    db.close();
  }
}

export async function resumeBench(): Promise<BenchResult> {
  const n = envInt('BENCH_ROWS', QUICK ? 100_000 : 1_000_000);
  const done = Math.floor(n * 0.99);
  const big = await reviewsCsv({ rows: n, withTexts: true });
  const rest = await suffixOf(big, done, `rest-${n - done}`);
  await warmPageCache(big.path);
  const dir = scratch('resume');
  const server = await startFastServer();
  const endpoint = `${server.url}/models/bench`;
  const common = ['--text-column', 'text', '--endpoint', endpoint, '--batch-size', String(BATCH)];
  const notes: string[] = [];
  try {
    // The 99%-done job.
    const base = path.join(dir, 'base.sqlite');
    removeCheckpoint(base);
    const setup = await runCli(['--input', big.path, ...common, '--checkpoint', base, '--limit', String(done)], { timeoutMs: 20 * 60_000 });
    if (setup.summary.rows.labeled !== done) throw new Error(`--limit ${done} labeled ${setup.summary.rows.labeled} rows`);
    if (existsSync(`${base}-wal`)) throw new Error('the checkpoint was not closed cleanly (WAL left behind)');
    const frontier = readFrontier(base);
    const expected = { ordinal: done, byte: big.rowStart[done]!, line: done + 2 };
    const frontierOk = frontier !== undefined && frontier.ordinal === expected.ordinal && frontier.byte === expected.byte && frontier.line === expected.line;
    notes.push(
      `Setup: \`run --limit ${fmtInt(done)} --batch-size ${BATCH}\` on ${fmtInt(n)} rows took ${fmtMs(setup.wallMs)}. Recorded frontier ${JSON.stringify(frontier)}; row ${fmtInt(done)} starts at byte ${fmtInt(expected.byte)} on line ${fmtInt(expected.line)}: ${frontierOk ? 'exact' : 'MISMATCH'}.`,
    );

    const resumed: number[] = [];
    const scratchMs: number[] = [];
    let continued = true;
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? ['resume', 'scratch'] : ['scratch', 'resume'];
      for (const which of order) {
        const ck = path.join(dir, `${which}.sqlite`);
        removeCheckpoint(ck);
        if (which === 'resume') {
          copyFileSync(base, ck);
          const r = await runCli(['--input', big.path, ...common, '--checkpoint', ck], { timeoutMs: 10 * 60_000 });
          if (r.summary.rows.thisRun !== n - done || r.summary.rows.labeled !== n || r.summary.state !== 'completed') {
            continued = false;
            throw new Error(`the resumed run labeled ${r.summary.rows.thisRun} rows (expected ${n - done}), ${r.summary.rows.labeled} in all`);
          }
          resumed.push(r.wallMs);
          if (rep === 0) {
            // Exporting the finished job re-reads the whole input: proportional to the file, timed apart.
            const e = check(
              await runProcess(CLI, ['export', ck, '--output', path.join(dir, 'out.csv'), '--quiet'], { cwd: REPO, env: cliEnv(), timeoutMs: 20 * 60_000 }),
              'batchlabel export',
            );
            notes.push(`Exporting the finished ${fmtInt(n)}-row job afterwards (\`batchlabel export <checkpoint> --output out.csv\`) takes ${fmtMs(e.wallMs)}; a run with --output pays this once at the end whether or not it was resumed.`);
          }
        } else {
          const r = await runCli(['--input', rest.path, ...common, '--checkpoint', ck], { timeoutMs: 10 * 60_000 });
          if (r.summary.rows.thisRun !== n - done) throw new Error(`from scratch labeled ${r.summary.rows.thisRun} of ${n - done}`);
          scratchMs.push(r.wallMs);
        }
        removeCheckpoint(ck);
        process.stdout.write(`  ${which.padEnd(7)} run ${rep + 1}: ${fmtMs((which === 'resume' ? resumed : scratchMs).at(-1)!)}\n`);
      }
    }
    removeCheckpoint(base);
    const mr = median(resumed);
    const ms = median(scratchMs);
    // Resume and from-scratch run back to back in each repetition: the median of their differences.
    const extra = median(resumed.map((r, i) => r - scratchMs[i]!));
    notes.push(
      `Both sides are the CLI from spawn to exit with \`--batch-size ${BATCH}\` and no --output; the from-scratch input is a CSV of the header and the last ${fmtInt(n - done)} rows (${fmtInt(rest.bytes)} bytes). A --limit run followed by the same command without --limit continued where it stopped: ${continued ? 'yes' : 'NO'}.`,
      `Runs: resume ${resumed.map(fmtMs).join(', ')}; from scratch ${scratchMs.map(fmtMs).join(', ')}.`,
    );
    return {
      name: 'resume',
      title: 'Resume cost',
      rows: [
        {
          measure: `resume a ${fmtInt(n)}-row job at 99% and finish`,
          figure: fmtMs(mr),
          baseline: `${fmtMs(ms)} (last 1% from scratch)`,
          ratio: `${extra >= 0 ? '+' : '−'}${fmtMs(Math.abs(extra))}`,
          target: '≤ from scratch + 2 s',
          pass: extra <= 2000,
        },
        {
          measure: 'frontier recorded at the exact byte offset of the first unfinished row',
          figure: frontierOk ? 'yes' : 'no',
          baseline: '',
          ratio: '',
          target: 'yes',
          pass: frontierOk,
        },
      ],
      notes,
    };
  } finally {
    await server.close();
  }
}

/**
 * Scale out — one job as 4 shards (`run --shard I/4`, run side by side, then `export --shards 4`) against
 * the same job in one process, on this machine:
 *   - latency-bound: the HF backend against a loopback server answering after BENCH_SHARD_LATENCY_MS
 *     (default 50 ms), the real IMDB reviews, --concurrency 4; each shard brings its own concurrency, as shards on separate
 *     machines do, so the speed-up shows what N tasks buy against an endpoint with capacity to spare;
 *   - compute-bound: the local ONNX backend (the trained BoW model, fp32, --batch-size 1: the size at which
 *     shards give one process's exact scores) on the IMDB reviews; on one
 *     2-core machine 4 shards share the same cores, so this measures what sharding costs (every shard reads
 *     and parses the whole file, loads the model), not what 4 machines would gain.
 * Both check the merged export is byte for byte the single-process export. Wall time includes the merge.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { cliEnv, removeCheckpoint } from './lib/cli.js';
import { scratch } from './lib/data.js';
import { BOW, CLI, IMDB_CSV, QUICK, REPO, envInt } from './lib/env.js';
import { check, runProcess, type ProcResult } from './lib/proc.js';
import type { BenchResult, Row } from './lib/report.js';
import { fmtInt, fmtMs, fmtRatio, perSecond } from './lib/stats.js';

const SHARDS = 4;

/** Answers every request after `latencyMs`, in the router's shape: the latency of a remote endpoint, nothing else. */
function latencyServer(latencyMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const body = JSON.stringify([[{ label: 'POSITIVE', score: 0.9731 }, { label: 'NEGATIVE', score: 0.0269 }]]);
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(body), latencyMs));
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) }),
    ),
  );
}

const cli = (args: string[]) => runProcess(CLI, args, { cwd: REPO, env: cliEnv(), timeoutMs: 30 * 60_000 });

interface Case {
  label: string;
  /** `run` arguments of the job, without --output/--checkpoint/--shard. */
  job: string[];
  rows: number;
}

async function measure(c: Case, dir: string, notes: string[]): Promise<Row[]> {
  const single = path.join(dir, `${c.label}-single.csv`);
  const merged = path.join(dir, `${c.label}-merged.csv`);
  const ckpt = path.join(dir, `${c.label}.sqlite`);
  removeCheckpoint(path.join(dir, `${c.label}-single.sqlite`));
  for (let i = 0; i < SHARDS; i++) removeCheckpoint(path.join(dir, `${c.label}.shard-${i}-of-${SHARDS}.sqlite`));

  const one = check(await cli(['run', ...c.job, '--output', single, '--checkpoint', path.join(dir, `${c.label}-single.sqlite`), '--quiet']), 'single run');
  const t0 = performance.now();
  const shards: ProcResult[] = await Promise.all(
    Array.from({ length: SHARDS }, async (_, i) => check(await cli(['run', ...c.job, '--checkpoint', ckpt, '--shard', `${i}/${SHARDS}`, '--quiet']), `shard ${i}`)),
  );
  const shardsMs = performance.now() - t0;
  const merge = check(await cli(['export', path.join(dir, `${c.label}.shard-0-of-${SHARDS}.sqlite`), '--shards', String(SHARDS), '--output', merged, '--quiet']), 'merge');
  const wall = performance.now() - t0;
  const identical = readFileSync(single).equals(readFileSync(merged));
  const cpu = shards.reduce((a, r) => a + r.cpuMs, 0);
  notes.push(
    `${c.label}: \`batchlabel run ${c.job.map((a) => (a.startsWith('/') ? path.basename(a) : a)).join(' ')}\`, ${fmtInt(c.rows)} rows. One process ${fmtMs(one.wallMs)} (${fmtInt(one.cpuMs)} ms CPU); ${SHARDS} shards side by side ${fmtMs(shardsMs)} (slowest ${fmtMs(Math.max(...shards.map((r) => r.wallMs)))}, ${fmtInt(cpu)} ms CPU in all), merge ${fmtMs(merge.wallMs)}; merged export ${identical ? 'byte-identical to' : 'DIFFERS from'} the single-process one.`,
  );
  return [
    { measure: `${c.label}: rows/s, 4 shards + merge`, figure: fmtInt(perSecond(c.rows, wall)), baseline: `${fmtInt(perSecond(c.rows, one.wallMs))} (1 process)`, ratio: fmtRatio(one.wallMs / wall), target: '' },
    { measure: `${c.label}: wall time, 4 shards + merge`, figure: fmtMs(wall), baseline: `${fmtMs(one.wallMs)} (1 process)`, ratio: '', target: '' },
    { measure: `${c.label}: CPU, 4 shards`, figure: `${fmtInt(cpu)} ms`, baseline: `${fmtInt(one.cpuMs)} ms (1 process)`, ratio: fmtRatio(cpu / Math.max(1, one.cpuMs)), target: '' },
    { measure: `${c.label}: merge = one process's export`, figure: identical ? 'byte-identical' : 'differs', baseline: '', ratio: '', target: 'byte-identical', pass: identical },
  ];
}

export async function shardsBench(): Promise<BenchResult> {
  const dir = scratch('shards');
  const latency = envInt('BENCH_SHARD_LATENCY_MS', 50);
  const hfRows = envInt('BENCH_SHARD_HF_ROWS', QUICK ? 1000 : 2000);
  const onnxRows = envInt('BENCH_SHARD_ONNX_ROWS', QUICK ? 2000 : 5000);
  const notes: string[] = [];
  const server = await latencyServer(latency);
  try {
    const hf = await measure(
      { label: `HF, ${latency} ms latency`, job: ['--input', IMDB_CSV, '--endpoint', `${server.url}/models/bench`, '--concurrency', '4', '--limit', String(hfRows)], rows: hfRows },
      dir,
      notes,
    );
    const onnx = await measure({ label: 'ONNX BoW fp32', job: ['--input', IMDB_CSV, '--backend', 'onnx', '--model', BOW, '--onnx-file', 'onnx/model.onnx', '--batch-size', '1', '--limit', String(onnxRows)], rows: onnxRows }, dir, notes);
    notes.push(
      `Each shard labels a quarter of the rows but reads and parses the whole file; "CPU, 4 shards" against one process is that overhead plus 4 model loads. With the HF backend each shard runs its own --concurrency 4, which is what shards on separate machines do.`,
    );
    return { name: 'shards', title: `Scale out: ${SHARDS} shards on one machine vs one process`, rows: [...hf, ...onnx], notes };
  } finally {
    await server.close();
  }
}

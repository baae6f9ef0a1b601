/**
 * How far `plan`'s wall-time estimate is from the real run, on the 25,000 IMDB reviews: once with the
 * shared local model, once against the loopback Hugging Face server (answers delayed by DELAY_MS, as a
 * remote model would be). Plan and run alternate, ROUNDS times, so both see the same machine noise.
 * `node dist/bench/plan-accuracy.js [rounds]`. Prints a table; writes only temporary files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../test/support/cli.js';
import { startHfServer } from '../test/support/hf-server.js';
import { BOW, IMDB_CSV, sharedModel } from '../test/support/onnx-models.js';

const DELAY_MS = 20;
const TOKEN = 'hf_BenchToken0000000000000000';

interface Row {
  setup: string;
  round: number;
  estimate: number;
  low: number;
  high: number;
  actual: number;
}

async function measure(setup: string, round: number, args: string[], env: Record<string, string>, dir: string): Promise<Row> {
  const p = await runCli(['plan', ...args, '--json'], env);
  if (p.code !== 0) throw new Error(p.stderr);
  const e = (JSON.parse(p.stdout) as { estimate: { seconds: number; low: number; high: number } }).estimate;
  const t0 = performance.now();
  const r = await runCli(['run', ...args, '--output', path.join(dir, `${setup}.csv`), '--restart', '--quiet'], env);
  const actual = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(r.stderr);
  return { setup, round, estimate: e.seconds, low: e.low, high: e.high, actual };
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 2);
  const dir = mkdtempSync(path.join(tmpdir(), 'batchlabel-plan-accuracy-'));
  const server = await startHfServer({ token: TOKEN, delayMs: DELAY_MS });
  const rows: Row[] = [];
  try {
    const onnx = ['--backend', 'onnx', '--model', sharedModel(BOW), '--input', IMDB_CSV];
    const hf = ['--model', 'org/sentiment', '--input', IMDB_CSV, '--batch-size', '4', '--concurrency', '8'];
    const hfEnv = { HF_INFERENCE_ENDPOINT: server.url, HF_TOKEN: TOKEN };
    for (let i = 1; i <= rounds; i++) {
      rows.push(await measure('onnx', i, onnx, {}, dir));
      rows.push(await measure('hf-loopback', i, hf, hfEnv, dir));
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('| setup | round | plan estimate (95%) | real run (CLI wall, start to exit) | estimate / real |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(`| ${r.setup} | ${r.round} | ${r.estimate.toFixed(1)} s (${r.low.toFixed(1)}–${r.high.toFixed(1)}) | ${r.actual.toFixed(1)} s | ${(r.estimate / r.actual).toFixed(2)} |`);
  }
}

await main();

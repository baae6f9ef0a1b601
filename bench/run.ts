/**
 * `npm run bench` runs every benchmark; `npm run bench -- <name> [<name>...]` runs some. Each prints a
 * table (figure, baseline measured in the same run, ratio, target, PASS/MISS) and appends it to
 * bench/results/log.md with the machine, the date and the command. See bench/README.md.
 */
import { checkpointBench } from './checkpoint.js';
import { cleanup } from './lib/data.js';
import { commandLine, printResult, record, recordSummary, type BenchResult } from './lib/report.js';
import { memoryBench } from './memory.js';
import { onnxBench } from './onnx.js';
import { parquetBench } from './parquet.js';
import { pipelineBench } from './pipeline.js';
import { rateBench } from './rate.js';
import { resumeBench } from './resume.js';
import { shardsBench } from './shards.js';
import { zeroShotBench } from './zero-shot.js';

const BENCHES: Record<string, () => Promise<BenchResult>> = {
  checkpoint: checkpointBench,
  pipeline: pipelineBench,
  resume: resumeBench,
  memory: memoryBench,
  onnx: onnxBench,
  shards: shardsBench,
  rate: rateBench,
  'zero-shot': zeroShotBench,
  parquet: parquetBench,
};

async function main(): Promise<number> {
  const names = process.argv.slice(2);
  for (const n of names) {
    if (!(n in BENCHES)) {
      process.stderr.write(`unknown benchmark "${n}"; choose from: ${Object.keys(BENCHES).join(', ')}\n`);
      return 2;
    }
  }
  const selected = names.length ? names : Object.keys(BENCHES);
  const command = commandLine(names);
  const started = new Date();
  const t0 = performance.now();
  const results: BenchResult[] = [];
  let failed = false;
  const stop = () => {
    cleanup();
    process.exit(130);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    for (const name of selected) {
      process.stdout.write(`\n## ${name}\n`);
      const benchStarted = new Date();
      try {
        const r = await BENCHES[name]!();
        printResult(r);
        record(r, commandLine([name]) === command ? `\`${command}\`` : `\`${command}\` (this benchmark alone: \`${commandLine([name])}\`)`, benchStarted);
        results.push(r);
      } catch (err) {
        failed = true;
        process.stderr.write(`benchmark ${name} failed: ${(err as Error).stack ?? String(err)}\n`);
      }
    }
  } finally {
    cleanup();
  }
  if (results.length > 1) recordSummary(results, command, started, performance.now() - t0);
  // Exit status: 1 if a benchmark could not run; misses are results, not errors.
  return failed ? 1 : 0;
}

process.exitCode = await main();

/**
 * Where things are and how big the benchmarks run. Every size can be scaled down from the environment:
 *   BENCH_QUICK=1       small sizes and 2 repetitions (a smoke run of the whole suite in a few minutes)
 *   BENCH_ROWS=N        rows of the "million-row" CSV (pipeline --batch-size 64, resume)
 *   BENCH_ROWS_SINGLE=N rows for the one-text-per-request pipeline runs
 *   BENCH_REPS=N        repetitions per system (medians are reported)
 *   BENCH_MEMORY_MB=a,b,c   CSV sizes for the memory benchmark
 *   BENCH_ONNX_ROWS=N   IMDB reviews for the DistilBERT comparison
 *   BENCH_ZERO_SHOT_ROWS=N  IMDB reviews for the zero-shot comparison (4 labels each)
 *   BENCH_DATA_DIR=dir  keep generated data there (reused by later invocations) instead of a temp dir
 *   BENCH_NO_RECORD=1   do not append to bench/results/log.md
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Repository root (this file is dist/bench/lib/env.js once built). */
export const REPO = path.resolve(here, '../../..');
export const DIST = path.join(REPO, 'dist');
/** The batchlabel command as users run it: the launcher, which sets glibc's mmap threshold and execs node on dist/src/cli/main.js. */
export const CLI = path.join(REPO, 'bin/batchlabel');
export const SHARED = path.resolve(REPO, '../shared');
export const IMDB_CSV = path.join(SHARED, 'datasets/imdb-train/imdb_train.csv');
export const DISTILBERT = path.join(SHARED, 'models/distilbert-shape-random-int8');
export const BOW = path.join(SHARED, 'models/selftrained-bow-bigram-sst2-imdb');
/** Each run's tables are appended here (not committed: BENCHMARKS.md keeps the method and the latest table). */
export const RESULTS_LOG = path.join(REPO, 'bench', 'results', 'log.md');

export const QUICK = process.env.BENCH_QUICK === '1';

export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number, got ${JSON.stringify(v)}`);
  return n;
}

export function envList(name: string, fallback: number[]): number[] {
  const v = process.env[name];
  if (!v) return fallback;
  return v.split(',').map((s) => {
    const n = Number(s.trim());
    if (!(n > 0)) throw new Error(`${name} must be a comma-separated list of positive numbers, got ${JSON.stringify(v)}`);
    return n;
  });
}

export const REPS = envInt('BENCH_REPS', QUICK ? 2 : 3);
export const CORES = os.availableParallelism();

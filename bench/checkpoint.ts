/**
 * Benchmark 5 — checkpoint write rate.
 *
 * Results per second committed to SQLite the way the pipeline commits them: every finished row goes through
 * CheckpointWriter.add (which advances the read frontier and commits a transaction per 1,000 rows, frontier
 * included) into Checkpoint.commit. Baseline: a bare better-sqlite3 loop inserting the same rows into the same
 * table, with the same pragmas, in one transaction and without the text index (the dedupe structure). Target (issue 4): ≥ 200,000 rows/s.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { InputRow } from '../src/io/types.js';
import { START } from '../src/io/types.js';
import { Frontier } from '../src/pipeline/frontier.js';
import { CheckpointWriter, DEFAULT_WRITER } from '../src/store/writer.js';
import { Checkpoint, type RowRecord } from '../src/store/checkpoint.js';
import { removeCheckpoint } from './lib/cli.js';
import { QUICK, REPS, envInt } from './lib/env.js';
import { scratch } from './lib/data.js';
import type { BenchResult } from './lib/report.js';
import { fmtInt, fmtRatio, median, perSecond } from './lib/stats.js';

interface Fixture {
  records: RowRecord[];
  inputs: InputRow[];
}

/** What the runner hands the writer for a labeled row: text key, best label and score. */
function fixture(n: number): Fixture {
  const records: RowRecord[] = new Array(n);
  const inputs: InputRow[] = new Array(n);
  let byte = 15;
  for (let i = 0; i < n; i++) {
    const hash = createHash('md5').update(`review text number ${i}`).digest();
    const score = 0.5 + (hash[0]! / 255) * 0.5;
    records[i] = { ordinal: i, status: 'done', hash: hash.toString('latin1'), label: hash[1]! & 1 ? 'POSITIVE' : 'NEGATIVE', score, scores: undefined, truncated: false };
    const len = 600 + (hash[2]! << 3);
    inputs[i] = { ordinal: i, line: i + 2, nextLine: i + 3, byteStart: byte, byteEnd: byte + len, record: [] };
    byte += len;
  }
  return { records, inputs };
}

function pipelineWrite(file: string, f: Fixture): number {
  removeCheckpoint(file);
  const store = Checkpoint.open(file, { create: true });
  try {
    const frontier = new Frontier(START);
    const writer = new CheckpointWriter(store, frontier, DEFAULT_WRITER);
    const t0 = performance.now();
    for (let i = 0; i < f.records.length; i++) {
      frontier.read(f.inputs[i]!);
      writer.add(f.records[i]!);
    }
    writer.flush();
    const ms = performance.now() - t0;
    if (writer.committed.done !== f.records.length) throw new Error(`writer committed ${writer.committed.done} of ${f.records.length}`);
    return ms;
  } finally {
    store.close();
    removeCheckpoint(file);
  }
}

function rawWrite(file: string, f: Fixture): number {
  removeCheckpoint(file);
  // The checkpoint's own schema and pragmas, so the only difference is the code path.
  Checkpoint.open(file, { create: true }).close();
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    const insert = db.prepare('INSERT INTO rows (ordinal, status, label, score, truncated) VALUES (?, ?, ?, ?, ?)');
    const t0 = performance.now();
    db.transaction(() => {
      for (const r of f.records) insert.run(r.ordinal, 1, r.label, r.score, null);
    })();
    return performance.now() - t0;
  } finally {
    db.close();
    removeCheckpoint(file);
  }
}

export async function checkpointBench(): Promise<BenchResult> {
  const n = envInt('BENCH_CHECKPOINT_ROWS', QUICK ? 200_000 : 1_000_000);
  const f = fixture(n);
  const dir = scratch('checkpoint');
  const file = path.join(dir, 'bench.sqlite');
  const pipe: number[] = [];
  const raw: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? ['pipeline', 'raw'] : ['raw', 'pipeline'];
    for (const which of order) {
      const ms = which === 'pipeline' ? pipelineWrite(file, f) : rawWrite(file, f);
      (which === 'pipeline' ? pipe : raw).push(ms);
      process.stdout.write(`  ${which.padEnd(8)} run ${rep + 1}: ${fmtInt(perSecond(n, ms))} rows/s (${(ms / 1000).toFixed(2)} s)\n`);
    }
  }
  const figure = median(pipe.map((ms) => perSecond(n, ms)));
  const baseline = median(raw.map((ms) => perSecond(n, ms)));
  return {
    name: 'checkpoint',
    title: 'Checkpoint write rate',
    rows: [
      {
        measure: `rows/s committed, CheckpointWriter → Checkpoint.commit (${fmtInt(n)} rows)`,
        figure: fmtInt(figure),
        baseline: `${fmtInt(baseline)} (raw better-sqlite3, one transaction, no text index)`,
        ratio: fmtRatio(figure / baseline),
        target: '≥ 200,000 rows/s',
        pass: figure >= 200_000,
      },
    ],
    notes: [
      `In process, on a fresh checkpoint file in the temp directory (WAL, synchronous=NORMAL, text index included). Rows as the runner produces them for a labeled text (16-byte text hash, label, score); the writer commits every ${DEFAULT_WRITER.maxRows} rows with the frontier in the same transaction. Medians of ${REPS} alternating runs.`,
      `Runs (rows/s): pipeline ${pipe.map((ms) => fmtInt(perSecond(n, ms))).join(', ')}; raw ${raw.map((ms) => fmtInt(perSecond(n, ms))).join(', ')}.`,
    ],
  };
}

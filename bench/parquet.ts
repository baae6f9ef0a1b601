/**
 * Benchmark — Parquet.
 *
 * A Parquet file of reviews (zstd, row groups of BENCH_PARQUET_GROUP rows) through to a Parquet export at
 * --batch-size 64 against the instant loopback server, against the same rows as CSV through to a CSV export
 * (today's path, the baseline). Targets: Parquet rows/s ≥ 0.8× CSV's; peak RSS ≤ 2× the largest row
 * group's decoded size + 150 MB at every size, and flat as the file grows.
 *
 * Sizes are rows (BENCH_PARQUET_ROWS, smallest first); the CSV baseline runs at the largest size. The
 * Parquet input is written from the generated reviews CSV (sentences of ../shared/datasets/imdb-train at
 * its review lengths), compressed by the zstd command-line tool page by page (Node 20 has no zstd encoder).
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { runCli, removeCheckpoint } from './lib/cli.js';
import { QUICK, envInt, envList } from './lib/env.js';
import { benchDir, prefixRows, reviewsCsv, scratch, warmPageCache, type GeneratedCsv } from './lib/data.js';
import type { BenchResult, Row } from './lib/report.js';
import { startFastServer } from './lib/server.js';
import { fmtBytes, fmtInt, fmtMs, perSecond } from './lib/stats.js';

const MB = 1024 * 1024;
const FLAT = 25 * MB;

interface ParquetInput {
  path: string;
  rows: number;
  bytes: number;
  /** The largest row group's uncompressed size, from the footer: what one decoded group holds. */
  largestGroup: number;
}

function zstd(input: Uint8Array): Uint8Array {
  return execFileSync('zstd', ['-3', '-c', '-q'], { input, maxBuffer: 1 << 30 });
}

/** The CSV's rows as a zstd Parquet file (id STRING, rating INT32, text STRING). */
async function toParquet(csv: GeneratedCsv, groupRows: number): Promise<ParquetInput> {
  const file = path.join(benchDir(), `${path.basename(csv.path, '.csv')}-g${groupRows}.parquet`);
  if (!existsSync(file)) {
    const t0 = performance.now();
    const tmp = `${file}.tmp`;
    const writer = new ParquetWriter({
      writer: fileWriter(tmp),
      codec: 'ZSTD',
      compressors: { ZSTD: zstd },
      schema: [
        { name: 'root', num_children: 3 },
        { name: 'id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'rating', type: 'INT32', repetition_type: 'REQUIRED' },
        { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
      ],
    });
    let ids: string[] = [];
    let ratings: number[] = [];
    let texts: string[] = [];
    const flush = () => {
      if (!ids.length) return;
      void writer.write({ columnData: [{ name: 'id', data: ids }, { name: 'rating', data: ratings }, { name: 'text', data: texts }], rowGroupSize: ids.length, pageSize: 4 * MB });
      ids = [];
      ratings = [];
      texts = [];
    };
    for await (const r of createReadStream(csv.path).pipe(parse({ columns: true })) as AsyncIterable<{ id: string; rating: string; text: string }>) {
      ids.push(r.id);
      ratings.push(Number(r.rating));
      texts.push(r.text);
      if (ids.length >= groupRows) flush();
    }
    flush();
    await writer.finish();
    execFileSync('mv', [tmp, file]);
    process.stdout.write(`  wrote ${path.basename(file)}: ${fmtBytes(statSync(file).size)} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  const meta = await parquetMetadataAsync(await asyncBufferFromFile(file));
  const largestGroup = Math.max(...meta.row_groups.map((g) => Number(g.total_byte_size)));
  return { path: file, rows: Number(meta.num_rows), bytes: statSync(file).size, largestGroup };
}

export async function parquetBench(): Promise<BenchResult> {
  const sizes = envList('BENCH_PARQUET_ROWS', QUICK ? [50_000, 150_000] : [200_000, 600_000]).sort((a, b) => a - b);
  const groupRows = envInt('BENCH_PARQUET_GROUP', 20_000);
  const big = await reviewsCsv({ rows: sizes.at(-1)! });
  const csvs: GeneratedCsv[] = [];
  for (const n of sizes.slice(0, -1)) csvs.push(await prefixRows(big, n, `parquet-${n}`));
  csvs.push(big);
  const inputs: ParquetInput[] = [];
  for (const c of csvs) inputs.push(await toParquet(c, groupRows));
  const dir = scratch('parquet');
  const server = await startFastServer();
  const endpoint = `${server.url}/models/bench`;
  const run = async (input: string, output: string, rows: number) => {
    const checkpoint = path.join(dir, 'pq.sqlite');
    removeCheckpoint(checkpoint);
    rmSync(output, { force: true });
    await warmPageCache(input);
    const r = await runCli(['--input', input, '--text-column', 'text', '--endpoint', endpoint, '--batch-size', '64', '--output', output, '--checkpoint', checkpoint], { timeoutMs: 60 * 60_000 });
    if (r.summary.rows.labeled !== rows) throw new Error(`labeled ${r.summary.rows.labeled} of ${rows}`);
    removeCheckpoint(checkpoint);
    rmSync(output, { force: true });
    return r;
  };
  const pq: { input: ParquetInput; peak: number; ms: number }[] = [];
  let csv: { peak: number; ms: number };
  try {
    for (const input of inputs) {
      const r = await run(input.path, path.join(dir, 'out.parquet'), input.rows);
      pq.push({ input, peak: r.peakRss, ms: r.wallMs });
      process.stdout.write(`  Parquet ${fmtBytes(input.bytes)} (${fmtInt(input.rows)} rows) → Parquet: ${fmtInt(perSecond(input.rows, r.wallMs))} rows/s, peak RSS ${fmtBytes(r.peakRss)} (${fmtMs(r.wallMs)})\n`);
    }
    const c = await run(big.path, path.join(dir, 'out.csv'), big.rows);
    csv = { peak: c.peakRss, ms: c.wallMs };
    process.stdout.write(`  CSV ${fmtBytes(big.bytes)} (${fmtInt(big.rows)} rows) → CSV: ${fmtInt(perSecond(big.rows, c.wallMs))} rows/s, peak RSS ${fmtBytes(c.peakRss)} (${fmtMs(c.wallMs)})\n`);
  } finally {
    await server.close();
  }
  const last = pq.at(-1)!;
  const pqRate = perSecond(last.input.rows, last.ms);
  const csvRate = perSecond(big.rows, csv.ms);
  const rows: Row[] = [
    {
      measure: `rows/s, Parquet → Parquet, ${fmtInt(last.input.rows)} rows, batch 64`,
      figure: fmtInt(pqRate),
      baseline: `${fmtInt(csvRate)} (CSV → CSV)`,
      ratio: `${(pqRate / csvRate).toFixed(2)}×`,
      target: '≥ 0.8× CSV',
      pass: pqRate >= 0.8 * csvRate,
    },
    ...pq.map((r) => {
      const limit = 2 * r.input.largestGroup + 150 * MB;
      return {
        measure: `peak RSS, ${fmtBytes(r.input.bytes)} Parquet (${fmtInt(r.input.rows)} rows)`,
        figure: fmtBytes(r.peak),
        baseline: `group ${fmtBytes(r.input.largestGroup)}`,
        ratio: '',
        target: `≤ 2× group + 150 MiB = ${fmtBytes(limit)}`,
        pass: r.peak <= limit,
      };
    }),
  ];
  if (pq.length > 1) {
    const growth = last.peak - pq[0]!.peak;
    rows.push({
      measure: `growth ${fmtInt(pq[0]!.input.rows)} → ${fmtInt(last.input.rows)} rows`,
      figure: `${growth >= 0 ? '+' : '−'}${fmtBytes(Math.abs(growth))}`,
      baseline: fmtBytes(pq[0]!.peak),
      ratio: `${(last.peak / pq[0]!.peak).toFixed(2)}×`,
      target: 'flat: ≤ +25 MiB',
      pass: growth <= FLAT,
    });
  }
  return {
    name: 'parquet',
    title: 'Parquet in and out',
    rows,
    notes: [
      `The CLI end to end (run with the streamed Parquet export) at \`--batch-size 64\` against the loopback server; one run per size; peak RSS is VmHWM sampled from /proc. Input: zstd Parquet, row groups of ${fmtInt(groupRows)} rows, built from the generated reviews CSV (${fmtInt(big.rows)} rows, ${fmtBytes(big.bytes)} as CSV); "group" is the largest row group's uncompressed size from the footer.`,
      `CSV baseline: the same rows as CSV through to a scored CSV (peak RSS ${fmtBytes(csv.peak)}). Smaller Parquet sizes: ${pq.slice(0, -1).map((r) => `${fmtInt(r.input.rows)} rows ${fmtInt(perSecond(r.input.rows, r.ms))} rows/s`).join(', ') || 'none'}.`,
    ],
  };
}

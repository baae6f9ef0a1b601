/**
 * Benchmark — Parquet.
 *
 * A Parquet file of reviews (zstd) through to a Parquet export at --batch-size 64 against the instant
 * loopback server, against the same rows as CSV through to a CSV export (the baseline). Targets: Parquet
 * rows/s ≥ 0.8× CSV's; peak RSS ≤ 2× the largest row group's decoded size + 150 MB at every size, and flat
 * as the file grows.
 *
 * Sizes are rows (BENCH_PARQUET_ROWS, smallest first; the issue's size is 2M rows, ~1 GB); the CSV baseline
 * runs at the largest size, in the same repetition (BENCH_REPS, medians; the largest peak). Row groups end at
 * BENCH_PARQUET_GROUP_MB (10^6 bytes) of uncompressed data: 100 MB is what the Hub's files hold, `datasets`
 * writing row groups of up to config.MAX_ROW_GROUP_SIZE = "100MB" and the Hub's Parquet conversion copying
 * files whose row groups are at most 100 MB (PARQUET_AND_INFO_MAX_ROW_GROUP_BYTE_SIZE_FOR_COPY). The
 * Parquet input (pages of 1 MiB, as pyarrow and `datasets` write them) is written from the generated reviews CSV (every text unique, made of sentences of
 * ../shared/datasets/imdb-train at its review lengths), compressed by libzstd at level 3 (the zstd tool's
 * default) page by page.
 */
import { createReadStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { compress } from 'zstd-napi';
import { runCli, removeCheckpoint } from './lib/cli.js';
import { QUICK, REPS, envInt, envList } from './lib/env.js';
import { benchDir, prefixRows, reviewsCsv, scratch, warmPageCache, type GeneratedCsv } from './lib/data.js';
import type { BenchResult, Row } from './lib/report.js';
import { startFastServer } from './lib/server.js';
import { fmtBytes, fmtInt, fmtMs, median, perSecond } from './lib/stats.js';

const MB = 1024 * 1024;
const FLAT = 25 * MB;
/** Data pages of 1 MiB, as pyarrow writes them (data_page_size) and `datasets` bounds them (content-defined chunks of at most 1 MiB). */
const PAGE_BYTES = MB;

interface ParquetInput {
  path: string;
  rows: number;
  bytes: number;
  /** The largest row group's uncompressed size, from the footer: what one decoded group holds. */
  largestGroup: number;
}

function zstd(input: Uint8Array): Uint8Array {
  return compress(input, { compressionLevel: 3 });
}

/** The CSV's rows as a zstd Parquet file (id STRING, rating INT32, text STRING), row groups of up to `groupBytes` uncompressed. */
export async function toParquet(csv: GeneratedCsv, groupBytes: number): Promise<ParquetInput> {
  const file = path.join(benchDir(), `${path.basename(csv.path, '.csv')}-g${groupBytes / 1e6}MB-p1MiB.parquet`);
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
    let bytes = 0;
    const flush = () => {
      if (!ids.length) return;
      void writer.write({ columnData: [{ name: 'id', data: ids }, { name: 'rating', data: ratings }, { name: 'text', data: texts }], rowGroupSize: ids.length, pageSize: PAGE_BYTES });
      ids = [];
      ratings = [];
      texts = [];
      bytes = 0;
    };
    for await (const r of createReadStream(csv.path).pipe(parse({ columns: true })) as AsyncIterable<{ id: string; rating: string; text: string }>) {
      ids.push(r.id);
      ratings.push(Number(r.rating));
      texts.push(r.text);
      // As the footer counts a row: each value's bytes and a 4-byte length per string.
      bytes += Buffer.byteLength(r.id) + Buffer.byteLength(r.text) + 12;
      if (bytes >= groupBytes) flush();
    }
    flush();
    await writer.finish();
    renameSync(tmp, file);
    process.stdout.write(`  wrote ${path.basename(file)}: ${fmtBytes(statSync(file).size)} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  const meta = await parquetMetadataAsync(await asyncBufferFromFile(file));
  const largestGroup = Math.max(...meta.row_groups.map((g) => Number(g.total_byte_size)));
  return { path: file, rows: Number(meta.num_rows), bytes: statSync(file).size, largestGroup };
}

export async function parquetBench(): Promise<BenchResult> {
  const sizes = envList('BENCH_PARQUET_ROWS', QUICK ? [50_000, 150_000] : [500_000, 2_000_000]).sort((a, b) => a - b);
  const groupBytes = envInt('BENCH_PARQUET_GROUP_MB', QUICK ? 25 : 100) * 1e6;
  const big = await reviewsCsv({ rows: sizes.at(-1)! });
  const csvs: GeneratedCsv[] = [];
  for (const n of sizes.slice(0, -1)) csvs.push(await prefixRows(big, n, `parquet-${n}`));
  csvs.push(big);
  const inputs: ParquetInput[] = [];
  for (const c of csvs) inputs.push(await toParquet(c, groupBytes));
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
  const pq = inputs.map((input) => ({ input, peaks: [] as number[], times: [] as number[] }));
  const csv = { peaks: [] as number[], times: [] as number[] };
  try {
    for (let rep = 1; rep <= REPS; rep++) {
      for (const p of pq) {
        const r = await run(p.input.path, path.join(dir, 'out.parquet'), p.input.rows);
        p.peaks.push(r.peakRss);
        p.times.push(r.wallMs);
        process.stdout.write(`  [${rep}/${REPS}] Parquet ${fmtBytes(p.input.bytes)} (${fmtInt(p.input.rows)} rows) → Parquet: ${fmtInt(perSecond(p.input.rows, r.wallMs))} rows/s, peak RSS ${fmtBytes(r.peakRss)} (${fmtMs(r.wallMs)})\n`);
      }
      const c = await run(big.path, path.join(dir, 'out.csv'), big.rows);
      csv.peaks.push(c.peakRss);
      csv.times.push(c.wallMs);
      process.stdout.write(`  [${rep}/${REPS}] CSV ${fmtBytes(big.bytes)} (${fmtInt(big.rows)} rows) → CSV: ${fmtInt(perSecond(big.rows, c.wallMs))} rows/s, peak RSS ${fmtBytes(c.peakRss)} (${fmtMs(c.wallMs)})\n`);
    }
  } finally {
    await server.close();
  }
  const last = pq.at(-1)!;
  const peak = (p: { peaks: number[] }) => Math.max(...p.peaks);
  const pqRate = perSecond(last.input.rows, median(last.times));
  const csvRate = perSecond(big.rows, median(csv.times));
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
      const limit = 2 * r.input.largestGroup + 150e6;
      return {
        measure: `peak RSS, ${fmtBytes(r.input.bytes)} Parquet (${fmtInt(r.input.rows)} rows)`,
        figure: fmtBytes(peak(r)),
        baseline: `group ${fmtBytes(r.input.largestGroup)}`,
        ratio: '',
        target: `≤ 2× group + 150 MB = ${fmtBytes(limit)}`,
        pass: peak(r) <= limit,
      };
    }),
  ];
  if (pq.length > 1) {
    const growth = peak(last) - peak(pq[0]!);
    rows.push({
      measure: `growth ${fmtInt(pq[0]!.input.rows)} → ${fmtInt(last.input.rows)} rows`,
      figure: `${growth >= 0 ? '+' : '−'}${fmtBytes(Math.abs(growth))}`,
      baseline: fmtBytes(peak(pq[0]!)),
      ratio: `${(peak(last) / peak(pq[0]!)).toFixed(2)}×`,
      target: 'flat: ≤ +25 MiB',
      pass: growth <= FLAT,
    });
  }
  return {
    name: 'parquet',
    title: 'Parquet in and out',
    rows,
    notes: [
      `The CLI end to end (run with the streamed Parquet export) at \`--batch-size 64\` against the loopback server; ${REPS} repetitions, each running every size then the CSV baseline; rates are medians, peak RSS (VmHWM sampled from /proc) the largest. Input: zstd Parquet, row groups of up to ${groupBytes / 1e6} MB uncompressed, built from the generated reviews CSV (${fmtInt(big.rows)} rows, ${fmtBytes(big.bytes)} as CSV); "group" is the largest row group's uncompressed size from the footer.`,
      `CSV baseline: the same rows as CSV through to a scored CSV (peak RSS ${fmtBytes(peak(csv))}). Parquet rates at every size: ${pq.map((r) => `${fmtInt(r.input.rows)} rows ${fmtInt(perSecond(r.input.rows, median(r.times)))} rows/s`).join(', ')}.`,
    ],
  };
}

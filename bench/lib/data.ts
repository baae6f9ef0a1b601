/**
 * Generated input for the remote-path benchmarks: a CSV of unique review texts whose lengths follow the
 * real IMDB reviews in ../shared/datasets/imdb-train (mean ~1,330 characters, median ~980), written from
 * that dataset's own sentences so the bytes look like real reviews (quotes, commas, HTML breaks, the odd
 * non-ASCII character). Deterministic for a seed; every text is unique, so batchlabel's dedupe of identical
 * texts never saves a request the raw baseline has to make.
 *
 * Files are generated once per invocation into a temporary directory (or BENCH_DATA_DIR, where they are
 * kept and reused) and deleted at the end.
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { IMDB_CSV } from './env.js';
import { seeded } from './stats.js';

const VERSION = 2;

export interface GeneratedCsv {
  path: string;
  rows: number;
  bytes: number;
  /** Byte offset where data row i starts (rows + 1 entries: the last is the file size). */
  rowStart: Float64Array;
  /** With `withTexts`: the texts, each as u32le byte length + UTF-8 bytes, for baselines that must not parse CSV. */
  textsPath?: string;
  meanChars: number;
}

interface Pool {
  sentences: string[];
  lengths: number[];
}

let pool: Pool | undefined;

async function loadPool(): Promise<Pool> {
  if (pool) return pool;
  const sentences: string[] = [];
  const lengths: number[] = [];
  const parser = createReadStream(IMDB_CSV).pipe(parse({ columns: true, bom: true }));
  for await (const r of parser as AsyncIterable<{ text: string }>) {
    lengths.push(r.text.length);
    for (const s of r.text.split(/(?<=[.!?])\s+/)) if (s.length > 0) sentences.push(s);
  }
  pool = { sentences, lengths };
  return pool;
}

let dataDir: string | undefined;
const keep = process.env.BENCH_DATA_DIR !== undefined && process.env.BENCH_DATA_DIR !== '';

export function benchDir(): string {
  if (dataDir) return dataDir;
  if (keep) {
    dataDir = path.resolve(process.env.BENCH_DATA_DIR!);
    mkdirSync(dataDir, { recursive: true });
  } else {
    dataDir = mkdtempSync(path.join(tmpdir(), 'batchlabel-bench-'));
  }
  return dataDir;
}

/** A fresh scratch directory inside the data directory (checkpoints, outputs); removed by cleanup(). */
export function scratch(name: string): string {
  const dir = path.join(benchDir(), 'scratch', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function cleanup(): void {
  if (!dataDir) return;
  if (keep) rmSync(path.join(dataDir, 'scratch'), { recursive: true, force: true });
  else rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
}

function quote(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export interface GenerateOptions {
  /** Exactly this many data rows, or */
  rows?: number;
  /** rows until the file reaches this many bytes. */
  bytes?: number;
  withTexts?: boolean;
  seed?: number;
}

/** Generates (or reuses) a reviews CSV: header `id,rating,text`, LF line ends. */
export async function reviewsCsv(opts: GenerateOptions): Promise<GeneratedCsv> {
  const seed = opts.seed ?? 20260101;
  const key = opts.rows !== undefined ? `r${opts.rows}` : `b${opts.bytes}`;
  const base = path.join(benchDir(), `reviews-${key}-s${seed}${opts.withTexts ? '-t' : ''}`);
  const file = `${base}.csv`;
  const metaFile = `${base}.json`;
  if (existsSync(metaFile) && existsSync(file)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as { version: number; rows: number; bytes: number; meanChars: number };
    if (meta.version === VERSION) {
      return { path: file, rows: meta.rows, bytes: meta.bytes, rowStart: new Float64Array(readFileSync(`${base}.idx`).buffer.slice(0)), meanChars: meta.meanChars, ...(opts.withTexts ? { textsPath: `${base}.texts` } : {}) };
    }
  }
  const t0 = performance.now();
  const { sentences, lengths } = await loadPool();
  const rand = seeded(seed);
  const seen = new Set<string>();
  const maxRows = opts.rows ?? Infinity;
  const maxBytes = opts.bytes ?? Infinity;
  const fd = openSync(file, 'w');
  const td = opts.withTexts ? openSync(`${base}.texts`, 'w') : undefined;
  let starts = new Float64Array(1 << 16);
  let out = 'id,rating,text\n';
  let outBytes = 0; // bytes in `out` after the header flush
  let bytes = 0;
  let rows = 0;
  let chars = 0;
  const texts: Buffer[] = [];
  let textBytes = 0;
  const flush = () => {
    const buf = Buffer.from(out, 'utf8');
    writeSync(fd, buf);
    bytes += buf.length;
    out = '';
    outBytes = 0;
    if (td !== undefined && texts.length) {
      writeSync(td, Buffer.concat(texts, textBytes));
      texts.length = 0;
      textBytes = 0;
    }
  };
  flush();
  while (rows < maxRows && bytes + outBytes < maxBytes) {
    const target = lengths[Math.floor(rand() * lengths.length)]!;
    let text = '';
    while (text.length < target) {
      const s = sentences[Math.floor(rand() * sentences.length)]!;
      text = text ? `${text} ${s}` : s;
    }
    const h = createHash('md5').update(text).digest('base64');
    if (seen.has(h)) continue;
    seen.add(h);
    const rating = 1 + Math.floor(rand() * 10);
    if (rows + 1 >= starts.length) {
      const bigger = new Float64Array(starts.length * 2);
      bigger.set(starts);
      starts = bigger;
    }
    starts[rows] = bytes + outBytes;
    const line = `r${String(rows).padStart(8, '0')},${rating},${quote(text)}\n`;
    out += line;
    outBytes += Buffer.byteLength(line);
    chars += text.length;
    if (td !== undefined) {
      const b = Buffer.from(text, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      texts.push(len, b);
      textBytes += 4 + b.length;
    }
    rows++;
    if (out.length > 1 << 20) flush();
  }
  flush();
  closeSync(fd);
  if (td !== undefined) closeSync(td);
  starts[rows] = bytes;
  const rowStart = starts.slice(0, rows + 1);
  writeFileSync(`${base}.idx`, Buffer.from(rowStart.buffer));
  const meanChars = chars / Math.max(1, rows);
  writeFileSync(metaFile, JSON.stringify({ version: VERSION, rows, bytes, meanChars }));
  process.stdout.write(`  generated ${path.basename(file)}: ${rows.toLocaleString('en-US')} rows, ${(bytes / 2 ** 20).toFixed(0)} MiB, mean ${Math.round(meanChars)} chars/text, in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return { path: file, rows, bytes, rowStart, meanChars, ...(opts.withTexts ? { textsPath: `${base}.texts` } : {}) };
}

/** The first rows of `src` up to about `bytes` bytes, as a CSV of its own (same header, same rows). */
export async function prefixOf(src: GeneratedCsv, bytes: number, name: string): Promise<GeneratedCsv> {
  let rows = 0;
  while (rows < src.rows && src.rowStart[rows + 1]! <= bytes) rows++;
  const end = src.rowStart[rows]!;
  const file = path.join(benchDir(), `${name}.csv`);
  if (end === src.bytes) copyFileSync(src.path, file);
  else await pipeline(createReadStream(src.path, { start: 0, end: end - 1 }), createWriteStream(file));
  return { path: file, rows, bytes: end, rowStart: src.rowStart.slice(0, rows + 1), meanChars: src.meanChars };
}

/** A CSV holding `src`'s header and its rows from `from` on (the "remaining 1%" of a job, from scratch). */
export async function suffixOf(src: GeneratedCsv, from: number, name: string): Promise<GeneratedCsv> {
  const file = path.join(benchDir(), `${name}.csv`);
  const headerEnd = src.rowStart[0]!;
  const start = src.rowStart[from]!;
  const fd = openSync(file, 'w');
  const head = Buffer.alloc(headerEnd);
  const rfd = openSync(src.path, 'r');
  readSync(rfd, head, 0, headerEnd, 0);
  closeSync(rfd);
  writeSync(fd, head);
  closeSync(fd);
  await pipeline(createReadStream(src.path, { start }), createWriteStream(file, { flags: 'a' }));
  const rowStart = src.rowStart.slice(from).map((b) => b - start + headerEnd);
  return { path: file, rows: src.rows - from, bytes: headerEnd + src.bytes - start, rowStart, meanChars: src.meanChars };
}

/** Reads every byte once so the first timed run does not pay for a cold page cache. */
export async function warmPageCache(file: string): Promise<void> {
  for await (const _ of createReadStream(file, { highWaterMark: 4 << 20 })) {
    // discard
  }
}

/** The first `rows` data rows of `src` (with its header) as a CSV of its own. */
export async function prefixRows(src: GeneratedCsv, rows: number, name: string): Promise<GeneratedCsv> {
  if (rows >= src.rows) return src;
  return prefixOf(src, src.rowStart[rows]!, name);
}

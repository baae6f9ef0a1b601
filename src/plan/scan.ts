/**
 * One pass over the whole input at reading speed: rows, bad rows, distinct texts, text lengths, and a
 * uniform sample of texts for what costs more than reading (tokenizing, the timed probe). Memory stays
 * flat: a fixed histogram, a bounded set of text keys then a HyperLogLog sketch, a bounded sample.
 */
import { hashText } from '../job/fingerprint.js';
import type { JobSettings } from '../job/settings.js';
import { openInput } from '../io/index.js';
import { DistinctCounter } from './distinct.js';
import { LengthHistogram, type LengthSummary } from './histogram.js';

export interface BadRowExample {
  line: number;
  reason: string;
}

export interface InputScan {
  rows: number;
  /** Rows whose text is empty or only white space. */
  emptyRows: number;
  /** Rows that cannot be read as a row (wrong field count, bad JSON, no text field). */
  badRows: number;
  badExamples: BadRowExample[];
  /** Distinct texts among the rows that have one: what the run classifies (identical texts once). */
  uniqueTexts: number;
  /** False once there were too many distinct texts to count exactly (then ±~1%). */
  uniqueExact: boolean;
  chars: LengthSummary | null;
  bytes: number;
  readMs: number;
  /** A uniform random sample of the rows' texts (seeded: the same input gives the same sample). */
  sample: string[];
}

export interface ScanOptions {
  /** Texts kept in the sample. @default 2000 */
  sampleSize?: number;
  /** Longest text kept whole in the sample; longer ones are cut (they are surely truncated by any model). @default 100000 */
  sampleChars?: number;
}

/** A small seeded generator (mulberry32), so a plan of the same input samples the same rows. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function scanInput(settings: JobSettings, opts: ScanOptions = {}): Promise<InputScan> {
  const started = Date.now();
  const sampleSize = opts.sampleSize ?? 2000;
  const sampleChars = opts.sampleChars ?? 100_000;
  const random = seeded(20261201);
  const distinct = new DistinctCounter();
  const chars = new LengthHistogram();
  const scan: InputScan = { rows: 0, emptyRows: 0, badRows: 0, badExamples: [], uniqueTexts: 0, uniqueExact: true, chars: null, bytes: 0, readMs: 0, sample: [] };
  let withText = 0;
  const source = await openInput(settings);
  try {
    for await (const row of source.rows) {
      if (settings.limit !== undefined && row.ordinal >= settings.limit) break;
      scan.rows++;
      const text = row.text ?? row.textBytes?.toString('utf8');
      if (text === undefined) {
        if (row.error?.startsWith('empty text')) scan.emptyRows++;
        else scan.badRows++;
        if (scan.badExamples.length < 5) scan.badExamples.push({ line: row.line, reason: row.error ?? 'no text' });
        continue;
      }
      distinct.add(hashText(row.textBytes ?? text));
      chars.add(text.length);
      // Reservoir sampling (Algorithm R): every row with a text equally likely to be in the sample.
      withText++;
      const kept = text.length > sampleChars ? text.slice(0, sampleChars) : text;
      if (scan.sample.length < sampleSize) scan.sample.push(kept);
      else {
        const j = Math.floor(random() * withText);
        if (j < sampleSize) scan.sample[j] = kept;
      }
    }
    scan.bytes = source.bytesRead();
  } finally {
    source.close();
  }
  scan.uniqueTexts = distinct.count();
  scan.uniqueExact = distinct.exact;
  scan.chars = chars.summary();
  scan.readMs = Date.now() - started;
  return scan;
}

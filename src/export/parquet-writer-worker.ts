/**
 * The Parquet export's encoder, on a thread of its own: encoding and compressing a row group of reviews
 * (UTF-8 encoding, dictionary trial, statistics, compression) cost ~2 s of CPU per 60,000 rows on the run's
 * thread, which then sent no requests. The run's thread hands over each row group's columns and goes on.
 *
 * Messages in: { type: 'group', columns } (one row group; a string column may come packed as UTF-8 bytes,
 * see packText), { type: 'finish' }. Out: { type: 'written', spent } after each group (spent: the packed
 * buffers, handed back for reuse once nothing of the group refers to them), { type: 'finished' }, or
 * { type: 'error', message }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SchemaElement } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { OUTPUT_CODECS, outputCompressors } from '../io/parquet/codecs.js';
import type { ParquetCompression } from '../job/options.js';
import { CompactFooter } from './parquet-footer.js';
import { unpackText, type PackedText } from './parquet-out.js';

interface Init {
  tmp: string;
  compression: ParquetCompression;
  schema: SchemaElement[];
  names: string[];
}

const { tmp, compression, schema, names } = workerData as Init;
const port = parentPort!;
let writer: ParquetWriter | undefined;
let footer: CompactFooter | undefined;

/** Bytes of a string column's min and max written to the footer: a review's first 16 bytes, not all of it, in every group. */
const STATISTICS_BYTES = 16;

/**
 * Data pages of at most this many bytes of values. The writer builds a page in a buffer that starts at 1 kB
 * and doubles; at its default of 1 MiB that is 256 kB, 512 kB, 1 MiB and 2 MiB buffers a page, above
 * glibc's 128 KiB mmap threshold (which the batchlabel command fixes), so each is a fresh mmap faulted in
 * and unmapped: the 2M-row Parquet export took ~25% longer with the threshold fixed (measured). Pages of
 * 56 KiB end in buffers of 64 kB, which malloc reuses. Readers take pages of any size (8 kB–1 MB is the
 * format's advice).
 */
const OUTPUT_PAGE_BYTES = 56 * 1024;

/**
 * No page index (offset index) in the footer, as pyarrow writes by default: the writer keeps each page's
 * location until the file is complete, one object a page of every column, which at 56 KiB pages grew the
 * encoder's heap and external memory by ~12 MiB over 2M reviews (per-thread process.memoryUsage(), first
 * fifth of the run against the last). Readers find the pages from the column chunks' offsets.
 */
const OFFSET_INDEX = false;

/** Values of a packed column looked at to tell whether a dictionary could pay. */
const TRIAL_VALUES = 64;

/**
 * 'PLAIN' for a packed (string) column whose values look distinct, else undefined (the writer tries a
 * dictionary). The writer's own trial hashes up to 1,000 values per chunk in JavaScript: a third of every
 * review at 4 MB groups, ~1 s of this thread per 500,000 reviews (--cpu-prof), to find what TRIAL_VALUES
 * evenly spread values tell as well: unique texts. A column mostly repeating a few values still gets the
 * writer's full trial.
 */
function textEncoding(values: (Uint8Array | null)[]): 'PLAIN' | undefined {
  const n = Math.min(values.length, TRIAL_VALUES);
  if (n < TRIAL_VALUES) return undefined;
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const v = values[Math.floor((i * (values.length - 1)) / (n - 1))];
    if (v) seen.add(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1'));
  }
  return seen.size === n ? 'PLAIN' : undefined;
}

function unpackedColumn(data: (Uint8Array | null)[]): { data: (Uint8Array | null)[]; encoding?: 'PLAIN' } {
  const encoding = textEncoding(data);
  return encoding ? { data, encoding } : { data };
}

port.on('message', (msg: { type: 'group'; columns: (unknown[] | PackedText)[] } | { type: 'finish' }) => {
  try {
    writer ??= new ParquetWriter({ writer: fileWriter(tmp), schema, codec: OUTPUT_CODECS[compression], compressors: outputCompressors(), statisticsTruncateLength: STATISTICS_BYTES, createdBy: 'batchlabel' });
    footer ??= new CompactFooter(writer);
    if (msg.type === 'group') {
      const columns = msg.columns.map((c) => (Array.isArray(c) ? { data: c } : unpackedColumn(unpackText(c))));
      const rows = columns[0]?.data.length ?? 0;
      // Sync: the group's pages are encoded (copied into the file writer's buffer) before write() returns.
      void writer.write({ columnData: names.map((name, i) => ({ name, offsetIndex: OFFSET_INDEX, ...columns[i]! })), rowGroupSize: rows, pageSize: OUTPUT_PAGE_BYTES });
      // Serialized, the group's statistics no longer view the packed bytes; handing them over detaches any view left.
      footer.take();
      const spent = msg.columns.flatMap((c) => (Array.isArray(c) ? [] : [c.bytes]));
      port.postMessage({ type: 'written', spent }, spent);
    } else {
      void footer.finish();
      port.postMessage({ type: 'finished' });
    }
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).message });
  }
});

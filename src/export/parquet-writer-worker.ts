/**
 * The Parquet export's encoder, on a thread of its own: encoding and compressing a row group of reviews
 * (UTF-8 encoding, dictionary trial, statistics, snappy) cost ~2 s of CPU per 60,000 rows on the run's
 * thread, which then sent no requests. The run's thread hands over each row group's columns and goes on.
 *
 * Messages in: { type: 'group', columns } (one row group; a string column may come packed as UTF-8 bytes,
 * see packText), { type: 'finish' }. Out: { type: 'written' }
 * after each group, { type: 'finished' }, or { type: 'error', message }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SchemaElement } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { OUTPUT_CODEC, outputCompressors } from '../io/parquet/codecs.js';
import { unpackText, type PackedText } from './parquet-out.js';

interface Init {
  tmp: string;
  schema: SchemaElement[];
  names: string[];
}

const { tmp, schema, names } = workerData as Init;
const port = parentPort!;
let writer: ParquetWriter | undefined;

/**
 * The footer keeps each column chunk's min and max until the file is complete; a packed column's are views
 * of the group's whole buffer (~4 MB), so they are copied out, or every group's buffer would stay alive
 * (~750 MB at 500,000 reviews, measured with process.memoryUsage()).
 */
function ownStatistics(w: ParquetWriter): void {
  for (const chunk of w.row_groups.at(-1)?.columns ?? []) {
    const stats = chunk.meta_data?.statistics;
    if (!stats) continue;
    if (stats.min_value instanceof Uint8Array) stats.min_value = stats.min_value.slice();
    if (stats.max_value instanceof Uint8Array) stats.max_value = stats.max_value.slice();
  }
}

port.on('message', (msg: { type: 'group'; columns: (unknown[] | PackedText)[] } | { type: 'finish' }) => {
  try {
    writer ??= new ParquetWriter({ writer: fileWriter(tmp), schema, codec: OUTPUT_CODEC, compressors: outputCompressors, createdBy: 'batchlabel' });
    if (msg.type === 'group') {
      const columns = msg.columns.map((c) => (Array.isArray(c) ? c : unpackText(c)));
      const rows = columns[0]?.length ?? 0;
      // Sync: the file writer flushes each row group to the file before write() returns.
      void writer.write({ columnData: names.map((name, i) => ({ name, data: columns[i]! })), rowGroupSize: rows });
      ownStatistics(writer);
      port.postMessage({ type: 'written' });
    } else {
      void writer.finish();
      port.postMessage({ type: 'finished' });
    }
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).message });
  }
});

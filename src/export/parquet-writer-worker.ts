/**
 * The Parquet export's encoder, on a thread of its own: encoding and compressing a row group of reviews
 * (UTF-8 encoding, dictionary trial, statistics, snappy) cost ~2 s of CPU per 60,000 rows on the run's
 * thread, which then sent no requests. The run's thread hands over each row group's columns and goes on.
 *
 * Messages in: { type: 'group', columns } (one row group), { type: 'finish' }. Out: { type: 'written' }
 * after each group, { type: 'finished' }, or { type: 'error', message }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SchemaElement } from 'hyparquet';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { OUTPUT_CODEC, outputCompressors } from '../io/parquet/codecs.js';

interface Init {
  tmp: string;
  schema: SchemaElement[];
  names: string[];
}

const { tmp, schema, names } = workerData as Init;
const port = parentPort!;
let writer: ParquetWriter | undefined;

port.on('message', (msg: { type: 'group'; columns: unknown[][] } | { type: 'finish' }) => {
  try {
    writer ??= new ParquetWriter({ writer: fileWriter(tmp), schema, codec: OUTPUT_CODEC, compressors: outputCompressors, createdBy: 'batchlabel' });
    if (msg.type === 'group') {
      const rows = msg.columns[0]?.length ?? 0;
      // Sync: the file writer flushes each row group to the file before write() returns.
      void writer.write({ columnData: names.map((name, i) => ({ name, data: msg.columns[i]! })), rowGroupSize: rows });
      port.postMessage({ type: 'written' });
    } else {
      void writer.finish();
      port.postMessage({ type: 'finished' });
    }
  } catch (err) {
    port.postMessage({ type: 'error', message: (err as Error).message });
  }
});

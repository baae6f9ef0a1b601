/**
 * Page decompression on a thread of its own: zstd pages of reviews cost ~3 s of the run's thread per
 * 500,000 rows (of ~17 s, measured with --cpu-prof), the thread that sends the requests. The reader hands
 * over each page's compressed bytes a page ahead of decoding it and goes on.
 *
 * Messages in: { id, codec, bytes, size } (bytes transferred). Out: { id, page } (transferred) or
 * { id, error }.
 */
import { parentPort } from 'node:worker_threads';
import type { CompressionCodec } from 'hyparquet';
import { parquetDecompressors } from './codecs.js';

const port = parentPort!;

port.on('message', (msg: { id: number; codec: CompressionCodec; bytes: Uint8Array; size: number }) => {
  void (async () => {
    try {
      const decompress = (await parquetDecompressors())[msg.codec];
      if (!decompress) throw new Error(`unsupported compression codec ${msg.codec}`);
      const page = decompress(msg.bytes, msg.size);
      port.postMessage({ id: msg.id, page }, [page.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id: msg.id, error: (err as Error).message });
    }
  })();
});

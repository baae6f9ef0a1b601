/**
 * Page decompression on a thread of its own: zstd pages of reviews cost ~3 s of the run's thread per
 * 500,000 rows (of ~17 s, measured with --cpu-prof, WebAssembly zstd), the thread that sends the requests.
 * The reader hands over each page's compressed bytes a page ahead of decoding it and goes on.
 *
 * Messages in: { id, codec, bytes, length, size } (bytes: an ArrayBuffer, transferred, whose first `length`
 * bytes are the page's). Out: { id, page, carrier } or { id, error, carrier }, carrier being `bytes` handed
 * back for the next page (both transferred).
 */
import { parentPort } from 'node:worker_threads';
import type { CompressionCodec } from 'hyparquet';
import { parquetDecompressors } from './codecs.js';

const port = parentPort!;

/** The page in an ArrayBuffer of its own, which can move to the reader (a codec may return a view of a shared pool). */
function own(page: Uint8Array, input: ArrayBuffer): Uint8Array {
  const whole = page.byteOffset === 0 && page.byteLength === page.buffer.byteLength && page.buffer instanceof ArrayBuffer;
  return whole && page.buffer !== input ? page : page.slice();
}

port.on('message', (msg: { id: number; codec: CompressionCodec; bytes: ArrayBuffer; length: number; size: number }) => {
  try {
    const decompress = parquetDecompressors()[msg.codec];
    if (!decompress) throw new Error(`unsupported compression codec ${msg.codec}`);
    const page = own(decompress(new Uint8Array(msg.bytes, 0, msg.length), msg.size), msg.bytes);
    port.postMessage({ id: msg.id, page, carrier: msg.bytes }, [page.buffer as ArrayBuffer, msg.bytes]);
  } catch (err) {
    port.postMessage({ id: msg.id, error: (err as Error).message, carrier: msg.bytes }, [msg.bytes]);
  }
});

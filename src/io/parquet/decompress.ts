/** The page decompression thread (decompress-worker.ts), seen from the reader: one for the process, started on first use. */
import { Worker } from 'node:worker_threads';
import type { CompressionCodec } from 'hyparquet';

let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, { resolve(page: Uint8Array): void; reject(err: Error): void }>();

function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./decompress-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 8 } });
  w.on('message', (msg: { id: number; page?: Uint8Array; error?: string }) => {
    const w8 = waiting.get(msg.id);
    if (!w8) return;
    waiting.delete(msg.id);
    if (waiting.size === 0) w.unref();
    if (msg.page) w8.resolve(msg.page);
    else w8.reject(new Error(msg.error ?? 'page decompression failed'));
  });
  const fail = (err: Error) => {
    worker = undefined;
    for (const w8 of waiting.values()) w8.reject(err);
    waiting.clear();
  };
  w.on('error', fail);
  w.on('exit', () => fail(new Error('the page decompression thread stopped')));
  w.unref();
  worker = w;
  return w;
}

/** `bytes` (moved to the thread: the caller gives up the buffer) decompressed to `size` bytes. */
export function decompressElsewhere(codec: CompressionCodec, bytes: Uint8Array, size: number): Promise<Uint8Array> {
  const w = thread();
  const id = nextId++;
  // Referenced only while a page is awaited: an idle reader does not keep the process alive.
  if (waiting.size === 0) w.ref();
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    w.postMessage({ id, codec, bytes, size }, [bytes.buffer as ArrayBuffer]);
  });
}

/** The page decompression thread (decompress-worker.ts), seen from the reader: one for the process, started on first use. */
import { Worker } from 'node:worker_threads';
import type { CompressionCodec } from 'hyparquet';

let worker: Worker | undefined;
let nextId = 0;
const waiting = new Map<number, { resolve(page: Uint8Array): void; reject(err: Error): void }>();

/**
 * Buffers that carried compressed pages to the thread and came back with the page, reused for the next
 * pages. A buffer per page was garbage on the thread, which allocates too little heap to collect it soon:
 * ~20-40 MiB of compressed pages held there (process.memoryUsage() on the thread).
 */
const carriers: ArrayBuffer[] = [];
/** More than the pages in flight at once (a page ahead per column, for a few columns). */
const MAX_CARRIERS = 8;
const MIN_CARRIER = 64 * 1024;

function carrier(n: number): ArrayBuffer {
  const i = carriers.findIndex((b) => b.byteLength >= n);
  if (i >= 0) return carriers.splice(i, 1)[0]!;
  return new ArrayBuffer(Math.max(n, MIN_CARRIER));
}

function giveBack(b: ArrayBuffer | undefined): void {
  if (b && carriers.length < MAX_CARRIERS) carriers.push(b);
}

function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./decompress-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: 8 } });
  w.on('message', (msg: { id: number; page?: Uint8Array; carrier?: ArrayBuffer; error?: string }) => {
    giveBack(msg.carrier);
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

/** `bytes` (copied: the caller keeps them) decompressed to `size` bytes. */
export function decompressElsewhere(codec: CompressionCodec, bytes: Uint8Array, size: number): Promise<Uint8Array> {
  const w = thread();
  const id = nextId++;
  const sent = carrier(bytes.byteLength);
  new Uint8Array(sent).set(bytes);
  // Referenced only while a page is awaited: an idle reader does not keep the process alive.
  if (waiting.size === 0) w.ref();
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    w.postMessage({ id, codec, bytes: sent, length: bytes.byteLength, size }, [sent]);
  });
}

/**
 * Tokenizing off the main thread. On a small model tokenizing is most of the work, and the main thread
 * also reads the input, checkpoints and exports; a few worker threads tokenize the next windows while the
 * session runs the current one. Each window is split into one chunk per worker (one message each way, the
 * ids in transferred buffers), so a window's latency shrinks with the pool, not only the throughput.
 */
import { Worker } from 'node:worker_threads';
import { BackendFatalError } from '../../errors.js';
import type { Encoded } from './tokenize.js';
import { errorLine, unpackChunk, type EncodedChunk, type EncodeFailure } from './tokenize-wire.js';
import type { TokenizeRequest, TokenizeWorkerData } from './tokenize-worker.js';

export interface TokenizerPool {
  readonly size: number;
  /** One result per text, in order. Rejects with a BackendFatalError if a worker died. */
  encode(texts: readonly string[]): Promise<(Encoded | EncodeFailure)[]>;
  /** The same, each text without special tokens: one side of a pair (TextEncoder.encodeSegment). */
  encodeSegments(texts: readonly string[]): Promise<(Encoded | EncodeFailure)[]>;
  /** Terminates the workers; encode() calls still waiting are rejected. */
  close(): Promise<void>;
}

type Reply = { ready: true } | { id: number; chunk: EncodedChunk };

interface Slot {
  worker: Worker;
  /** Requests sent to this worker and not answered yet, by id. */
  pending: Map<number, { texts: number; resolve: (chunk: EncodedChunk) => void; reject: (err: Error) => void }>;
  /** Texts queued on this worker: new chunks go to the least loaded one. */
  load: number;
}

const WORKER_URL = new URL('./tokenize-worker.js', import.meta.url);

export async function startTokenizerPool(data: TokenizeWorkerData, size: number): Promise<TokenizerPool> {
  let failure: BackendFatalError | undefined;
  let closing = false;
  let nextId = 0;
  const slots: Slot[] = [];

  const fail = (err: BackendFatalError) => {
    failure ??= err;
    for (const s of slots) {
      for (const p of s.pending.values()) p.reject(failure);
      s.pending.clear();
      void s.worker.terminate();
    }
  };

  const ready = Array.from({ length: size }, () => {
    const worker = new Worker(WORKER_URL, { workerData: data });
    const slot: Slot = { worker, pending: new Map(), load: 0 };
    slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: Reply) => {
        if ('ready' in reply) {
          // Idle workers must not keep the process alive: only a worker with requests out holds a ref.
          worker.unref();
          return resolve();
        }
        const p = slot.pending.get(reply.id);
        if (!p) return;
        slot.pending.delete(reply.id);
        slot.load -= p.texts;
        if (slot.pending.size === 0) worker.unref();
        p.resolve(reply.chunk);
      });
      worker.on('error', (err) => {
        const e = new BackendFatalError(`tokenizer thread failed: ${errorLine(err)}`, 'E_TOKENIZER');
        reject(e);
        fail(e);
      });
      worker.on('exit', (code) => {
        if (closing) return;
        const e = new BackendFatalError(`tokenizer thread stopped unexpectedly (exit code ${code})`, 'E_TOKENIZER');
        reject(e);
        fail(e);
      });
    });
  });

  const close = async () => {
    closing = true;
    fail(new BackendFatalError('tokenizer threads closed', 'E_TOKENIZER'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  };

  try {
    await Promise.all(ready);
  } catch (err) {
    await close();
    throw err;
  }

  const send = (texts: string[], segments: boolean) =>
    new Promise<EncodedChunk>((resolve, reject) => {
      if (failure) return reject(failure);
      const slot = slots.reduce((a, b) => (b.load < a.load ? b : a));
      const id = nextId++;
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { texts: texts.length, resolve, reject });
      slot.load += texts.length;
      slot.worker.postMessage({ id, texts, ...(segments ? { segments } : {}) } satisfies TokenizeRequest);
    });

  const encode = async (texts: readonly string[], segments: boolean) => {
    const per = Math.ceil(texts.length / size);
    const parts: Promise<EncodedChunk>[] = [];
    for (let i = 0; i < texts.length; i += per) parts.push(send(texts.slice(i, i + per), segments));
    return (await Promise.all(parts)).flatMap(unpackChunk);
  };

  return {
    size,
    encode: (texts) => encode(texts, false),
    encodeSegments: (texts) => encode(texts, true),
    close,
  };
}

/**
 * Messages between the runner and the executor thread (worker-executor.ts ↔ executor-worker.ts). Calls
 * travel many to a message, their texts' bytes packed in one transferred buffer: a Buffer view posted as
 * it is would clone the whole 64 KiB read buffer it points into.
 */
import { BatchlabelError } from '../errors.js';
import type { Outcome, RetryKind, Text } from '../backends/classifier.js';
import type { JobSettings } from '../job/settings.js';

export interface ExecutorWorkerData {
  settings: JobSettings;
}

/** Runner → thread. */
export type ToWorker =
  | ({ type: 'calls' } & PackedCalls)
  | { type: 'clear' } // drop calls not started, then say 'idle' once the rest are done
  | { type: 'abort' } // cancel calls in flight
  | { type: 'close' };

/** Thread → runner. */
export type WorkerEvent =
  | { type: 'ready'; identity?: Record<string, string> }
  | { type: 'done'; ids: number[]; outcomes: Outcome[][] }
  | { type: 'idle' }
  | { type: 'retry'; kind: RetryKind; waitMs: number }
  | { type: 'status'; text: string | undefined }
  | { type: 'notice'; message: string }
  | { type: 'fatal'; error: WireError }
  | { type: 'closed' };

/** Every message also says the executor's state, so the runner's copy is never stale. */
export type FromWorker = WorkerEvent & { batchSize: number; concurrency: number };

export interface PackedCalls {
  ids: number[];
  /** Texts per call. */
  counts: number[];
  /** One entry per text: the text where it is a string, else null and its bytes are the next span of `bytes`. */
  strings: (string | null)[] | null;
  bytes: ArrayBuffer;
  /** End offset in `bytes` of each byte text, in order. */
  ends: Uint32Array;
}

/** Collects calls for one message. */
export class CallPacker {
  ids: number[] = [];
  private counts: number[] = [];
  private strings: (string | null)[] = [];
  private hasStrings = false;
  private parts: Buffer[] = [];
  private size = 0;
  texts = 0;

  add(id: number, texts: readonly Text[]): void {
    this.ids.push(id);
    this.counts.push(texts.length);
    for (const t of texts) {
      if (typeof t === 'string') {
        this.strings.push(t);
        this.hasStrings = true;
      } else {
        this.strings.push(null);
        this.parts.push(t);
        this.size += t.length;
      }
    }
    this.texts += texts.length;
  }

  /** The message, with the buffers to transfer; the packer is empty again. */
  take(): { calls: PackedCalls; transfer: ArrayBuffer[] } {
    const bytes = new Uint8Array(this.size);
    const ends = new Uint32Array(this.parts.length);
    let at = 0;
    for (let i = 0; i < this.parts.length; i++) {
      bytes.set(this.parts[i]!, at);
      at += this.parts[i]!.length;
      ends[i] = at;
    }
    const calls: PackedCalls = { ids: this.ids, counts: this.counts, strings: this.hasStrings ? this.strings : null, bytes: bytes.buffer, ends };
    this.ids = [];
    this.counts = [];
    this.strings = [];
    this.hasStrings = false;
    this.parts = [];
    this.size = 0;
    this.texts = 0;
    return { calls, transfer: [bytes.buffer, ends.buffer as ArrayBuffer] };
  }
}

/** The calls of a message, each with its texts (byte texts are views of the transferred buffer). */
export function unpackCalls(m: PackedCalls): { id: number; texts: Text[] }[] {
  const out: { id: number; texts: Text[] }[] = [];
  let text = 0;
  let span = 0;
  let start = 0;
  for (let c = 0; c < m.ids.length; c++) {
    const texts: Text[] = [];
    for (let i = 0; i < m.counts[c]!; i++, text++) {
      const s = m.strings?.[text];
      if (typeof s === 'string') {
        texts.push(s);
        continue;
      }
      const end = m.ends[span++]!;
      texts.push(Buffer.from(m.bytes, start, end - start));
      start = end;
    }
    out.push({ id: m.ids[c]!, texts });
  }
  return out;
}

/** An error as it crosses threads: a BatchlabelError keeps its code and exit code, anything else its stack. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  exitCode?: number;
}

export function toWire(err: unknown): WireError {
  if (err instanceof BatchlabelError) return { name: err.name, message: err.message, code: err.code, exitCode: err.exitCode };
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}

/** Back to an error the CLI reports as it would have in one thread: one line for a BatchlabelError. */
export function fromWire(w: WireError): Error {
  if (w.code !== undefined && w.exitCode !== undefined) {
    const e = new BatchlabelError(w.message, w.code, w.exitCode);
    e.name = w.name;
    return e;
  }
  const e = new Error(w.message);
  e.name = w.name;
  if (w.stack) e.stack = w.stack;
  return e;
}

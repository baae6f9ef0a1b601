/**
 * The executor on a thread of its own (executor-worker.ts runs a local executor there). The runner's
 * thread keeps reading, hashing, checkpointing and exporting while that thread sends requests and reads
 * answers; calls go over many to a message, outcomes come back many to a message.
 */
import { Worker } from 'node:worker_threads';
import { BackendFatalError } from '../errors.js';
import type { JobSettings } from '../job/settings.js';
import { CallPacker, fromWire, type ExecutorWorkerData, type FromWorker, type ToWorker } from './executor-wire.js';
import type { Call, Executor, ExecutorContext } from './executor.js';

const WORKER_URL = new URL('./executor-worker.js', import.meta.url);

/** Texts per message to the thread: enough that messages stay rare, few enough that the thread never waits long. */
const TEXTS_PER_MESSAGE = 64;
/**
 * Texts the thread holds beyond those in flight. The runner's thread is busy for milliseconds at a time
 * (a checkpoint commit, a read): the backlog keeps requests going meanwhile (~1.5 MB of reviews).
 */
const BACKLOG_TEXTS = 1024;
/** How long close() waits for the thread to close its connections before ending it. */
const CLOSE_MS = 5000;

export async function openWorkerExecutor(settings: JobSettings, ctx: ExecutorContext): Promise<Executor> {
  const perCall = Math.max(1, settings.batchSize);
  // Calls out (held here, queued there, in flight) before room() says wait.
  const bound = settings.concurrency + Math.max(2 * settings.concurrency, Math.ceil(BACKLOG_TEXTS / perCall));
  let batchSize = perCall;
  let concurrency = settings.concurrency;
  const calls = new Map<number, Call>();
  let nextId = 0;
  const packer = new CallPacker();
  let immediate: NodeJS.Immediate | undefined;
  let roomWait: { at: number; promise: Promise<void>; resolve: () => void } | undefined;
  let idleWaiters: (() => void)[] = [];
  let exited = false;
  let closing = false;

  const worker = new Worker(WORKER_URL, { workerData: { settings } satisfies ExecutorWorkerData });
  const send = (m: ToWorker, transfer?: ArrayBuffer[]) => {
    if (!exited) worker.postMessage(m, transfer);
  };

  /** Wakes the waits whose condition now holds. */
  const settle = () => {
    if (roomWait && calls.size <= roomWait.at) {
      roomWait.resolve();
      roomWait = undefined;
    }
    if (calls.size === 0 && idleWaiters.length) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  };
  /** Nothing more will be answered: the thread is gone, or said the rest was dropped. */
  const forgetAll = () => {
    calls.clear();
    settle();
  };

  let ready!: { resolve: (identity: Record<string, string> | undefined) => void; reject: (err: Error) => void; settled: boolean };
  const started = new Promise<Record<string, string> | undefined>((resolve, reject) => (ready = { resolve, reject, settled: false }));
  const fail = (err: Error) => {
    if (!ready.settled) {
      ready.settled = true;
      return ready.reject(err);
    }
    if (!ctx.signal.aborted) ctx.fatal(err);
  };

  worker.on('message', (m: FromWorker) => {
    batchSize = m.batchSize;
    concurrency = m.concurrency;
    switch (m.type) {
      case 'ready':
        ready.settled = true;
        ready.resolve(m.identity);
        break;
      case 'done':
        for (let i = 0; i < m.ids.length; i++) {
          const call = calls.get(m.ids[i]!);
          if (!call) continue;
          calls.delete(m.ids[i]!);
          if (!ctx.signal.aborted) call.done(m.outcomes[i]!);
        }
        settle();
        break;
      case 'idle':
        forgetAll();
        break;
      case 'retry':
        ctx.events.retry?.(m.kind, m.waitMs);
        break;
      case 'status':
        ctx.events.status?.(m.text);
        break;
      case 'notice':
        ctx.events.notice?.(m.message);
        break;
      case 'fatal':
        fail(fromWire(m.error));
        break;
      case 'closed':
        break;
    }
  });
  worker.on('error', (err) => fail(new Error(`the request thread failed: ${err.stack ?? err.message}`)));
  const gone = new Promise<void>((resolve) =>
    worker.on('exit', (code) => {
      exited = true;
      if (!closing) fail(new BackendFatalError(`the request thread stopped unexpectedly (exit code ${code})`, 'E_EXECUTOR'));
      forgetAll();
      resolve();
    }),
  );
  const onAbort = () => send({ type: 'abort' });
  ctx.signal.addEventListener('abort', onAbort, { once: true });

  let identity: Record<string, string> | undefined;
  try {
    identity = await started;
  } catch (err) {
    closing = true;
    ctx.signal.removeEventListener('abort', onAbort);
    await worker.terminate();
    throw err;
  }

  const flush = () => {
    if (immediate) clearImmediate(immediate);
    immediate = undefined;
    if (!packer.ids.length) return;
    const { calls: packed, transfer } = packer.take();
    send({ type: 'calls', ...packed }, transfer);
  };

  return {
    get batchSize() {
      return batchSize;
    },
    get concurrency() {
      return concurrency;
    },
    identity,
    submit(call) {
      if (exited) return;
      const id = nextId++;
      calls.set(id, call);
      packer.add(id, call.texts);
      // Sent when a message's worth is ready, or when this thread next waits on I/O, whichever is first.
      if (packer.texts >= TEXTS_PER_MESSAGE) flush();
      else immediate ??= setImmediate(flush);
    },
    flush,
    room() {
      if (calls.size < bound) return undefined;
      flush();
      if (!roomWait) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        roomWait = { at: Math.floor(bound / 2), promise, resolve };
      }
      return roomWait.promise;
    },
    idle() {
      flush();
      if (calls.size === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    clear() {
      for (const id of packer.take().calls.ids) calls.delete(id);
      if (immediate) clearImmediate(immediate);
      immediate = undefined;
      if (exited) return forgetAll();
      send({ type: 'clear' });
      settle();
    },
    async close() {
      closing = true;
      ctx.signal.removeEventListener('abort', onAbort);
      send({ type: 'close' });
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gone, new Promise<void>((r) => (timer = setTimeout(r, CLOSE_MS)))]);
      clearTimeout(timer);
      if (!exited) await worker.terminate();
    },
  };
}

import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import { createClassifier } from '../backends/index.js';
import type { Classifier, ClassifierEvents, Outcome, Prediction, Text } from '../backends/classifier.js';
import { CheckpointError } from '../errors.js';
import { copiesRawRows, type ExportSummary, type ExportTarget } from '../export/output-file.js';
import { canStreamExport, openExportStream, type ExportStream } from '../export/stream.js';
import { hashText, type TextKey } from '../job/fingerprint.js';
import type { JobSettings } from '../job/settings.js';
import { openInput, type InputRow } from '../readers/index.js';
import type { Checkpoint, RowRecord, StoredResult } from '../store/checkpoint.js';
import { Frontier } from './frontier.js';
import { queueBacklog, queueControl } from './queue-control.js';
import { CheckpointWriter, DEFAULT_WRITER, type WriterOptions } from './writer.js';

/** Live figures of a run, read by the progress line and the final summary. */
export interface RunStats {
  startedAt: number;
  /** Known once the whole input has been read (in this or an earlier run). */
  rowsTotal: number | undefined;
  bytesTotal: number;
  bytesRead: number;
  /** Rows finished by earlier runs. */
  finishedBefore: number;
  /** Rows finished by this run: labeled, failed, and labeled from an identical text's result. */
  done: number;
  failed: number;
  reused: number;
  retries: Record<string, number>;
  readonly concurrency: number;
  status: string | undefined;
}

export interface RunOptions {
  /** Aborted on the first Ctrl-C: stop reading, let in-flight work finish (up to drainMs), commit. */
  stop: AbortSignal;
  drainMs: number;
  retryFailed: boolean;
  events?: { notice?(msg: string): void };
  writer?: WriterOptions;
  /**
   * Write the export as the run goes, when it can (a fresh job without a column per label: see
   * canStreamExport); RunResult.exported says whether it did. Otherwise export after the run.
   */
  exportTo?: ExportTarget;
}

export interface RunResult {
  state: 'completed' | 'interrupted';
  stats: RunStats;
  /** Set when the run wrote the export itself (RunOptions.exportTo). */
  exported?: ExportSummary;
}

/** What a finished row needs of its input row: the rest (record, text) is not kept while it waits. */
type RowRef = Pick<InputRow, 'ordinal' | 'line' | 'byteStart' | 'id'>;

/** Built field by field: spreading InputRow (whose optional fields vary) took the slow generic copy, ~3 µs a row. */
const rowRef = (row: InputRow): RowRef => ({ ordinal: row.ordinal, line: row.line, byteStart: row.byteStart, id: row.id });

interface Pending {
  key: TextKey;
  /** Its bytes where the reader has them: a waiting row then holds no decoded copy (~1.5 kB a review) that outlives young-generation GCs. */
  text: Text;
  rows: RowRef[];
}

/** The open job's handle for a hard exit (second Ctrl-C): commit what is buffered, synchronously. */
export interface RunHandle {
  flushNow(): void;
  /** The live figures, updated as the run goes. */
  stats: RunStats;
}

function keepAllScores(s: JobSettings): boolean {
  return s.allScores || (s.topK ?? 1) > 1;
}

/**
 * Streams the input through a bounded queue into the classifier and checkpoints every result.
 * Reading pauses while the queue is full, so memory is bounded by the queue, not by the file.
 */
export async function runJob(
  settings: JobSettings,
  store: Checkpoint,
  opts: RunOptions,
  handle?: (h: RunHandle) => void,
): Promise<RunResult> {
  const notice = opts.events?.notice ?? (() => {});
  let from = store.frontier();
  if (opts.retryFailed) {
    const r = store.resetFailed();
    if (r.count) notice(`--retry-failed: retrying ${r.count} failed rows.`);
    from = r.from;
  }
  const counts = store.counts();
  const totalMeta = store.getMeta<number>('rows_total');
  const queue = new PQueue({ concurrency: settings.concurrency });
  const stats: RunStats = {
    startedAt: Date.now(),
    // A total counted under another --limit says nothing about this run's total.
    rowsTotal: totalMeta !== undefined && (store.getMeta<number | null>('limit') ?? undefined) === settings.limit ? totalMeta : settings.limit,
    bytesTotal: store.getMeta<{ size: number }>('fingerprint')?.size ?? 0,
    bytesRead: from.byte,
    finishedBefore: counts.done + counts.failed,
    done: 0,
    failed: 0,
    reused: 0,
    retries: {},
    get concurrency() {
      return queue.concurrency; // AIMD moves it
    },
    status: undefined,
  };

  const abort = new AbortController(); // cancels backend work: fatal error, or drain time is up
  // Backends may listen per request in flight (the HF backend listens once, the hub download per file).
  setMaxListeners(settings.concurrency * 4 + 16, abort.signal);
  const events: ClassifierEvents = {
    retry: (kind) => {
      stats.retries[kind] = (stats.retries[kind] ?? 0) + 1;
    },
    status: (text) => {
      stats.status = text;
    },
    notice,
  };

  const control = queueControl(queue, settings.concurrency, abort.signal);
  let classifier: Classifier | undefined;
  const runId = store.startRun();
  const frontier = new Frontier(from);
  const recent = new Map<TextKey, StoredResult>(); // finished but not yet committed: dedupe must see them
  let lastRunUpdate = 0;
  const updateRun = (state: 'running' | 'completed' | 'interrupted' | 'failed') =>
    store.updateRun(runId, {
      endedAt: new Date().toISOString(),
      state,
      rowsDone: stats.done,
      rowsFailed: stats.failed,
      rowsReused: stats.reused,
      wallMs: Date.now() - stats.startedAt,
      retries: stats.retries,
    });
  const writer = new CheckpointWriter(store, frontier, () => ({}), opts.writer ?? DEFAULT_WRITER, () => {
    recent.clear();
    if (Date.now() - lastRunUpdate > 1000) {
      lastRunUpdate = Date.now();
      updateRun('running');
    }
  });
  handle?.({ flushNow: () => writer.flush(), stats });

  const keepAll = keepAllScores(settings);
  const inflight = new Map<TextKey, Pending>();
  let fatal: unknown;

  let stream: ExportStream | undefined;
  const finishDone = (row: RowRef, hash: TextKey, r: StoredResult, reused: boolean) => {
    // A reused result's text is already in the checkpoint's text index under the row that first had it.
    const rec: RowRecord = { ordinal: row.ordinal, status: 'done', hash: reused ? undefined : hash, label: r.label, score: r.score, scores: r.scores, truncated: r.truncated };
    writer.add(rec);
    stream?.finished(rec);
    stats.done++;
    if (reused) stats.reused++;
  };
  const finishFailed = (row: RowRef, failure: Pick<RowRecord, 'errorKind' | 'error'>) => {
    const rec: RowRecord = { ordinal: row.ordinal, status: 'failed', ...failure, line: row.line, byteStart: row.byteStart, rowId: row.id };
    writer.add(rec);
    stream?.finished(rec);
    stats.failed++;
  };

  const complete = (p: Pending, outcome: Outcome) => {
    inflight.delete(p.key);
    if (outcome.ok) {
      const best = outcome.predictions[0];
      if (!best) {
        for (const row of p.rows) finishFailed(row, { errorKind: 'malformed_response', error: 'the model returned no label' });
        return;
      }
      const scores: Prediction[] | undefined = keepAll ? outcome.predictions.slice(0, settings.topK ?? outcome.predictions.length) : undefined;
      const result: StoredResult = { label: best.label, score: best.score, scores, truncated: outcome.truncated === true };
      recent.set(p.key, result);
      p.rows.forEach((row, i) => finishDone(row, p.key, result, i > 0));
    } else {
      for (const row of p.rows) finishFailed(row, { errorKind: outcome.kind, error: outcome.error });
    }
  };

  let batch: Pending[] = [];
  const dispatch = () => {
    if (!batch.length || fatal) return;
    const entries = batch;
    batch = [];
    queue
      .add(async () => {
        if (fatal || abort.signal.aborted) return;
        const outcomes = await classifier!.classify(entries.map((e) => e.text));
        if (outcomes.length !== entries.length) throw new Error(`backend returned ${outcomes.length} outcomes for ${entries.length} texts`);
        if (fatal || abort.signal.aborted) return; // results of a cancelled run are not trusted
        entries.forEach((e, i) => complete(e, outcomes[i]!));
      })
      .catch((err: unknown) => {
        if (fatal === undefined && !abort.signal.aborted) {
          fatal = err;
          abort.abort();
        }
      });
  };

  let wake: (() => void) | undefined; // the current wait of orStopped, below
  const onStop = () => wake?.();
  opts.stop.addEventListener('abort', onStop, { once: true });
  abort.signal.addEventListener('abort', onStop, { once: true });
  const exportTo = opts.exportTo && canStreamExport(settings, from.ordinal, stats.finishedBefore) ? opts.exportTo : undefined;
  // An export copying raw rows needs no decoded fields, and both backends take a text as bytes.
  const copies = exportTo !== undefined && copiesRawRows(settings, exportTo);
  const source = await openInput(settings, from, { raw: copies, lazyText: copies });
  const isFinished = store.finishedFrom(from.ordinal);
  let readAll = true;
  try {
    if (exportTo) stream = openExportStream(settings, exportTo, source.header, source.columns);
    classifier = await createClassifier(settings, { queue: control, events, signal: abort.signal });
    checkIdentity(store, classifier, stats.finishedBefore);
    const maxConcurrency = Math.min(settings.concurrency, classifier.maxConcurrency ?? Infinity);
    control.setConcurrency(maxConcurrency);
    const backlog = queueBacklog(maxConcurrency);
    // Rows read behind one slow row before reading pauses (Frontier.ready): far above a batch, so a pause
    // sends a part-filled batch only behind a row held up for long.
    const maxWaiting = Math.max(16_384, 64 * classifier.batchSize);
    /**
     * `p`, or sooner if the run is stopped. One wait per batch, so it must cost nothing that lasts: not
     * Promise.race against a long-lived "stopped" promise (each race left a reaction on it, 300 MB over
     * a million rows), nor two abort listeners per wait: the run's two (onStop) wake the current wait.
     */
    const orStopped = (p: Promise<unknown>) =>
      new Promise<void>((resolve) => {
        if (opts.stop.aborted || abort.signal.aborted) return resolve();
        const done = () => {
          wake = undefined;
          resolve();
        };
        wake = done;
        p.then(done, done);
      });

    for await (const row of source.rows) {
      if (opts.stop.aborted || fatal) {
        readAll = false;
        break;
      }
      if (settings.limit !== undefined && row.ordinal >= settings.limit) break;
      stats.bytesRead = source.bytesRead();
      frontier.read(row);
      stream?.read(row);
      const held = frontier.ready(maxWaiting);
      if (held) {
        // The row everyone waits for may sit in the part-filled batch, behind rows that finished at once
        // (bad rows, identical texts, rows an earlier run finished): send it, or the wait never ends.
        dispatch();
        await orStopped(held);
      }
      const full = stream?.ready();
      if (full) await orStopped(full);
      if (isFinished(row.ordinal)) {
        frontier.finish(row.ordinal);
        continue;
      }
      const text = row.textBytes ?? row.text;
      if (text === undefined) {
        finishFailed(row, { errorKind: 'bad_row', error: row.error ?? 'no text' });
        continue;
      }
      const key = hashText(text);
      const waiting = inflight.get(key);
      if (waiting) {
        waiting.rows.push(rowRef(row)); // the first row carries the text
        continue;
      }
      const known = recent.get(key) ?? store.lookupDone(key);
      if (known) {
        finishDone(row, key, known, true);
        continue;
      }
      const p: Pending = { key, text, rows: [rowRef(row)] };
      inflight.set(key, p);
      batch.push(p);
      // Read each time: a backend may shrink its batches (an endpoint that refuses lists).
      if (batch.length >= Math.max(1, classifier.batchSize)) {
        dispatch();
        if (queue.size >= backlog.full) await orStopped(queue.onSizeLessThan(backlog.resume));
      }
    }
    stats.bytesRead = source.bytesRead();
    if (readAll && !opts.stop.aborted && !fatal) {
      dispatch();
      // Everything has been read: the total is now known for status, ETA and export.
      stats.rowsTotal = frontier.nextOrdinal;
      store.setMeta({ rows_total: stats.rowsTotal, limit: settings.limit ?? null });
      await orStopped(queue.onIdle());
    }
    // On stop, in-flight requests may finish, but not forever; then they are cancelled and their rows
    // stay pending for the next run. After a fatal error nothing new starts.
    if (opts.stop.aborted || fatal) {
      queue.clear();
      await raceTimeout(queue.onIdle(), opts.drainMs);
      abort.abort();
    }
  } catch (err) {
    await stream?.abort();
    throw err;
  } finally {
    opts.stop.removeEventListener('abort', onStop);
    source.close();
    writer.flush();
    if (!abort.signal.aborted) abort.abort();
    await classifier?.close().catch(() => {});
  }

  if (fatal) {
    await stream?.abort();
    updateRun('failed');
    throw fatal;
  }
  const state = opts.stop.aborted ? 'interrupted' : 'completed';
  updateRun(state);
  if (!stream) return { state, stats };
  if (state === 'interrupted') {
    await stream.abort();
    return { state, stats };
  }
  return { state, stats, exported: await stream.finish() };
}

/** The model that answers must be the one that answered the finished rows (see Classifier.identity). */
function checkIdentity(store: Checkpoint, classifier: Classifier, finishedBefore: number): void {
  const now = classifier.identity;
  if (!now) return;
  const was = store.getMeta<Record<string, string>>('model_identity');
  if (was && finishedBefore > 0) {
    const changed = Object.keys({ ...was, ...now }).filter((k) => was[k] !== now[k]);
    if (changed.length) {
      throw new CheckpointError(
        `${store.path} was labeled by another model: ${changed.map((k) => `${k} ${was[k] ?? '(unset)'} → ${now[k] ?? '(unset)'}`).join('; ')}. Resuming would mix results; pin it (--onnx-file, --revision) or run with --restart.`,
      );
    }
  }
  store.setMeta({ model_identity: now });
}

function raceTimeout(p: Promise<unknown>, ms: number): Promise<unknown> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<void>((r) => (t = setTimeout(r, ms)))]).finally(() => clearTimeout(t));
}

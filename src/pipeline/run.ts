/**
 * The orchestrator: reads the input (Source), sends distinct texts through a bounded queue to the
 * classifier, and hands every finished row to the sinks (the checkpoint writer, the streaming export, the
 * live stats). Each concern is a module of its own: dedupe.ts, batcher.ts, stop.ts, frontier.ts, and the
 * writer in the store.
 */
import PQueue from 'p-queue';
import { createClassifier } from '../backends/index.js';
import type { Classifier, ClassifierContext, ClassifierEvents } from '../backends/classifier.js';
import { allowListeners } from '../core/abort.js';
import type { Outcome, Prediction, ProgressSink } from '../core/types.js';
import { CheckpointError } from '../errors.js';
import { copiesRawRows, writesTextBytes, type ExportSummary, type ExportTarget } from '../export/output-file.js';
import { canStreamExport, openExportStream, type ExportStream } from '../export/stream.js';
import { openInput } from '../io/index.js';
import { hashPair, hashText, type TextKey } from '../job/fingerprint.js';
import type { JobSettings } from '../job/settings.js';
import { keepsAllScores } from '../tasks/index.js';
import type { Checkpoint, RowRecord, StoredResult } from '../store/checkpoint.js';
import { ownsRow, shardRows, shardRowsOf } from '../shard/shard.js';
import { CheckpointWriter, DEFAULT_WRITER, type WriterOptions } from '../store/writer.js';
import { Batcher } from './batcher.js';
import { cutString, cutUtf8 } from './cut.js';
import { Dedupe, type Pending, type RowRef } from './dedupe.js';
import { Frontier } from './frontier.js';
import { queueControl } from './queue-control.js';
import { raceTimeout, StopWatch } from './stop.js';

/** Live figures of a run, read by the progress line and the final summary. */
export interface RunStats {
  startedAt: number;
  /** Known once the whole input has been read (in this or an earlier run). */
  rowsTotal: number | undefined;
  bytesTotal: number;
  bytesRead: number;
  /** Rows read from the input's start (the next ordinal): with bytesRead, the rows per byte so far. */
  rowsRead: number;
  /** Rows finished by earlier runs. */
  finishedBefore: number;
  /** Rows finished by this run: labeled, failed, and labeled from an identical text's result. */
  done: number;
  failed: number;
  /** Rows finished with nothing to label (an empty text, --empty skip). */
  skipped: number;
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
  events?: { notice?(msg: string): void; download?: ProgressSink };
  writer?: WriterOptions;
  /**
   * Write the export as the run goes, when it can (a fresh job without a column per label: see
   * canStreamExport); RunResult.exported says whether it did. Otherwise export after the run.
   */
  exportTo?: ExportTarget;
  /** The classifier to run, instead of the job's backend (tests drive the pipeline with their own). */
  classifier?: (ctx: ClassifierContext) => Promise<Classifier>;
}

export interface RunResult {
  state: 'completed' | 'interrupted';
  stats: RunStats;
  /** Set when the run wrote the export itself (RunOptions.exportTo). */
  exported?: ExportSummary;
}

/** The open job's handle for a hard exit (second Ctrl-C): commit what is buffered, synchronously. */
export interface RunHandle {
  flushNow(): void;
  /** The live figures, updated as the run goes. */
  stats: RunStats;
}

type RunState = 'running' | 'completed' | 'interrupted' | 'failed';

/**
 * Streams the input through a bounded queue into the classifier and checkpoints every result.
 * Reading pauses while the queue is full, so memory is bounded by the queue, not by the file.
 */
export async function runJob(settings: JobSettings, store: Checkpoint, opts: RunOptions, handle?: (h: RunHandle) => void): Promise<RunResult> {
  const notice = opts.events?.notice ?? (() => {});
  let from = store.frontier();
  if (opts.retryFailed) {
    const r = store.resetFailed();
    if (r.count) notice(`--retry-failed: retrying ${r.count} failed rows.`);
    from = r.from;
  }
  // Rows missing below the frontier (a checkpoint written by a version that lost a failed commit's rows):
  // read from the start, so the finished rows are skipped and the missing ones redone.
  if (store.missingBelow(from.ordinal, shardRows(from.ordinal, settings.shard))) {
    notice(`${store.path}: some rows before row ${from.ordinal + 1} were never committed; re-reading the input to redo them.`);
    from = { ordinal: 0, byte: 0, line: 1 };
  }
  const counts = store.counts();
  const totalMeta = store.getMeta('rows_total');
  const queue = new PQueue({ concurrency: settings.concurrency });
  const stats: RunStats = {
    startedAt: Date.now(),
    // A total counted under another --limit says nothing about this run's total.
    rowsTotal: totalMeta !== undefined && (store.getMeta('limit') ?? undefined) === settings.limit ? totalMeta : shardRowsOf(settings.limit, settings.shard), // a shard's total is its share
    bytesTotal: store.getMeta('fingerprint')?.size ?? 0,
    bytesRead: from.byte,
    rowsRead: from.ordinal,
    finishedBefore: counts.done + counts.failed + counts.skipped,
    done: 0,
    failed: 0,
    skipped: 0,
    reused: 0,
    retries: {},
    get concurrency() {
      return control.concurrency; // the backend moves it; tasks parked aside are not counted
    },
    status: undefined,
  };

  const abort = new AbortController(); // cancels backend work: fatal error, or drain time is up
  allowListeners(abort.signal, settings.concurrency);
  let fatal: unknown;
  const fail = (err: unknown) => {
    if (fatal === undefined && !abort.signal.aborted) {
      fatal = err;
      abort.abort();
    }
  };
  /**
   * The revision that answers must be the one that answered the rows of earlier runs (the router's
   * x-sha): a model updated on the Hub mid-job would mix two models' labels. Checked once per new value.
   */
  let revisionSeen: string | undefined;
  const checkRevision = (sha: string) => {
    if (sha === revisionSeen) return;
    revisionSeen = sha;
    const was = store.getMeta('model_revision');
    if (was !== undefined && was !== sha && (stats.finishedBefore > 0 || stats.done > 0)) {
      fail(new CheckpointError(`${store.path} was labeled by revision ${was} of the model, but the endpoint now answers with revision ${sha}. Resuming would mix two models' results; run with --restart to relabel with the new revision.`));
      return;
    }
    if (was !== sha) store.setMeta({ model_revision: sha });
  };
  const events: ClassifierEvents = {
    retry: (kind) => {
      stats.retries[kind] = (stats.retries[kind] ?? 0) + 1;
    },
    status: (text) => {
      stats.status = text;
    },
    notice,
    download: opts.events?.download,
    revision: (sha) => checkRevision(sha),
  };

  const control = queueControl(queue, settings.concurrency, abort.signal);
  let classifier: Classifier | undefined;
  const runId = store.startRun();
  const frontier = new Frontier(from);
  const dedupe = new Dedupe(store);
  let lastRunUpdate = 0;
  const updateRun = (state: RunState) =>
    store.updateRun(runId, {
      endedAt: new Date().toISOString(),
      state,
      rowsDone: stats.done,
      rowsFailed: stats.failed,
      rowsReused: stats.reused,
      wallMs: Date.now() - stats.startedAt,
      retries: stats.retries,
    });
  const afterCommit = () => {
    dedupe.committed();
    if (Date.now() - lastRunUpdate > 1000) {
      lastRunUpdate = Date.now();
      updateRun('running');
    }
  };
  const writer = new CheckpointWriter(store, frontier, opts.writer ?? DEFAULT_WRITER, afterCommit, fail);
  handle?.({ flushNow: () => writer.flush(), stats });

  const keepAll = keepsAllScores(settings);
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

  const finishSkipped = (row: RowRef, error: string) => {
    const rec: RowRecord = { ordinal: row.ordinal, status: 'skipped', errorKind: 'empty', error, line: row.line, byteStart: row.byteStart, rowId: row.id };
    writer.add(rec);
    stream?.finished(rec);
    stats.skipped++;
  };

  // Texts cut to --max-chars before they were sent: their results are marked truncated.
  const cutKeys = new Set<TextKey>();
  // Rows whose text was not valid UTF-8 (labeled with U+FFFD): told once at the first, counted at the end.
  let invalidUtf8 = 0;
  let firstInvalid = '';
  const complete = (p: Pending, outcome: Outcome) => {
    // Most jobs cut no text: then no lookup per row.
    const cut = cutKeys.size > 0 && cutKeys.delete(p.key);
    if (!outcome.ok) {
      dedupe.settle(p, undefined);
      for (const row of p.rows) finishFailed(row, { errorKind: outcome.kind, error: outcome.error });
      return;
    }
    const best = outcome.predictions[0];
    if (!best) {
      dedupe.settle(p, undefined);
      for (const row of p.rows) finishFailed(row, { errorKind: 'malformed_response', error: 'the model returned no label' });
      return;
    }
    const scores: Prediction[] | undefined = keepAll ? outcome.predictions.slice(0, settings.topK ?? outcome.predictions.length) : undefined;
    const result: StoredResult = { label: best.label, score: best.score, scores, truncated: outcome.truncated === true || cut };
    dedupe.settle(p, result);
    p.rows.forEach((row, i) => finishDone(row, p.key, result, i > 0));
  };

  const halted = () => fatal !== undefined || abort.signal.aborted;
  const send = async (entries: Pending[]) => {
    const outcomes = await classifier!.classify(entries.map((e) => e.input));
    if (outcomes.length !== entries.length) throw new Error(`backend returned ${outcomes.length} outcomes for ${entries.length} texts`);
    if (halted()) return; // results of a cancelled run are not trusted
    entries.forEach((e, i) => complete(e, outcomes[i]!));
  };

  const watch = new StopWatch(opts.stop, abort.signal);
  const exportTo = opts.exportTo && !settings.shard && canStreamExport(settings, from.ordinal, stats.finishedBefore) ? opts.exportTo : undefined;
  // An export copying raw rows needs no decoded fields, and both backends take a text as bytes.
  const copies = exportTo !== undefined && copiesRawRows(settings, exportTo);
  const bytesOut = exportTo !== undefined && writesTextBytes(settings, exportTo);
  // Other shards' rows are skipped without decoding their text (owns, below).
  const owns = ownsRow(settings.shard);
  const source = await openInput(settings, from, { raw: copies, lazyText: copies || bytesOut || settings.shard !== undefined, download: opts.events?.download });
  const isFinished = store.finishedFrom(from.ordinal);
  let readAll = true;
  try {
    if (exportTo) stream = openExportStream(settings, exportTo, source.header, source.columns, source.encoding);
    const ctx: ClassifierContext = { queue: control, events, signal: abort.signal };
    classifier = await (opts.classifier ? opts.classifier(ctx) : createClassifier(settings, ctx));
    const model = classifier;
    checkIdentity(store, model, stats.finishedBefore);
    const maxConcurrency = Math.min(settings.concurrency, model.maxConcurrency ?? Infinity);
    control.setConcurrency(maxConcurrency);
    const batcher = new Batcher(queue, () => model.batchSize, maxConcurrency, send, fail, halted);
    // Rows read behind one slow row before reading pauses (Frontier.ready): far above a batch, so a pause
    // sends a part-filled batch only behind a row held up for long.
    const maxWaiting = Math.max(16_384, 64 * model.batchSize);

    for await (const row of source.rows) {
      if (opts.stop.aborted || fatal) {
        readAll = false;
        break;
      }
      if (settings.limit !== undefined && row.ordinal >= settings.limit) break;
      stats.bytesRead = source.bytesRead();
      stats.rowsRead = row.ordinal + 1;
      frontier.read(row);
      stream?.read(row);
      const held = frontier.ready(maxWaiting);
      if (held) {
        // The row everyone waits for may sit in the part-filled batch, behind rows that finished at once
        // (bad rows, identical texts, rows an earlier run finished): send it, or the wait never ends.
        batcher.flush();
        await watch.until(held);
      }
      const full = stream?.ready();
      if (full) await watch.until(full);
      // Another shard's row counts as finished here: the frontier moves over it.
      if (!owns(row.ordinal) || isFinished(row.ordinal)) {
        frontier.finish(row.ordinal);
        continue;
      }
      if (row.invalidUtf8 && invalidUtf8++ === 0) {
        // A Parquet row's byteStart is its row group, and its strings are UTF-8 by the format: no --encoding to suggest.
        const parquet = settings.format === 'parquet';
        firstInvalid = parquet ? `row ${row.line}` : `line ${row.line}, byte ${row.byteStart}`;
        const fix = parquet ? 'The file was written with text in another encoding; fix it where it was made.' : 'If the file is Latin-1 or Windows-1252, pass --encoding windows-1252 (see --help for others).';
        notice(`${settings.input}: the text at ${firstInvalid} is not valid UTF-8; it is labeled with U+FFFD in place of the bytes that cannot be decoded. ${fix}`);
      }
      const text = row.textBytes ?? row.text;
      if (text === undefined && row.empty && settings.empty === 'skip') {
        finishSkipped(row, row.error ?? 'empty text');
        continue;
      }
      if (text === undefined) {
        finishFailed(row, { errorKind: 'bad_row', error: row.error ?? 'no text' });
        continue;
      }
      // The unit of work is the row's input as a whole: a pair is one key, never its first text alone.
      const key = row.textPair !== undefined ? hashPair(text, row.textPair) : hashText(text);
      if (dedupe.join(key, row)) continue;
      const known = dedupe.known(key);
      if (known) {
        finishDone(row, key, known, true);
        continue;
      }
      const sent = typeof text === 'string' ? cutString(text, settings.maxChars) : cutUtf8(text, settings.maxChars);
      const pair = row.textPair === undefined ? undefined : cutString(row.textPair, settings.maxChars);
      if (sent !== text || pair !== row.textPair) cutKeys.add(key);
      const backlogFull = batcher.add(dedupe.start(key, pair !== undefined ? { text: sent, pair } : sent, row));
      if (backlogFull) await watch.until(backlogFull);
    }
    stats.bytesRead = source.bytesRead();
    if (invalidUtf8) notice(`${settings.input}: ${invalidUtf8} row${invalidUtf8 === 1 ? '' : 's'} read in this run had text that is not valid UTF-8 (the first at ${firstInvalid}).`);
    if (readAll && !opts.stop.aborted && !fatal) {
      batcher.flush();
      // Everything has been read: the total is now known for status, ETA and export.
      stats.rowsTotal = shardRowsOf(frontier.nextOrdinal, settings.shard)!; // shard: its share
      store.setMeta({ rows_total: stats.rowsTotal, limit: settings.limit ?? null });
      await watch.until(queue.onIdle());
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
    watch.dispose();
    source.close();
    try {
      writer.flush();
    } catch (err) {
      fail(err);
    }
    if (!abort.signal.aborted) abort.abort();
    await classifier?.close().catch(() => {});
  }

  if (fatal) {
    await stream?.abort();
    if (!writer.failure) updateRun('failed');
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

/** Identity keys added after checkpoints existed: absent from an old checkpoint, they are not compared. */
const LATER_IDENTITY_KEYS = new Set(['content', 'endpoint']);

/** The model that answers must be the one that answered the finished rows (see Classifier.identity). */
function checkIdentity(store: Checkpoint, classifier: Classifier, finishedBefore: number): void {
  const now = classifier.identity;
  if (!now) return;
  const was = store.getMeta('model_identity');
  if (was && finishedBefore > 0) {
    // A key the earlier run did not record (a checkpoint from before it existed, e.g. the content
    // digest) is not compared; every key both recorded must match.
    const changed = Object.keys({ ...was, ...now }).filter((k) => was[k] !== now[k] && !(LATER_IDENTITY_KEYS.has(k) && !(k in was)));
    if (changed.length) {
      throw new CheckpointError(
        `${store.path} was labeled by another model: ${changed.map((k) => `${k} ${was[k] ?? '(unset)'} → ${now[k] ?? '(unset)'}`).join('; ')}. Resuming would mix results; pin it (--onnx-file, --revision) or run with --restart.`,
      );
    }
  }
  store.setMeta({ model_identity: now });
}

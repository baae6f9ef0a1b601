import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { num, rate } from '../core/format.js';
import type { ProgressSink } from '../core/types.js';
import { BatchlabelError, ExitCode, UsageError } from '../errors.js';
import { exportResults } from '../export/export.js';
import type { JobValues, LabelOptions } from '../job/options.js';
import type { JobSettings } from '../job/settings.js';
import { STREAM_OUTPUT_NAME, type ExportTarget } from '../export/output-file.js';
import { drainMs, jobValues, resolveSettings } from '../job/resolve.js';
import { localModelNotice } from '../job/local-paths.js';
import { openJobCheckpoint } from '../pipeline/prepare.js';
import { modelIsMultiLabel } from '../backends/index.js';
import { checkJobPaths } from './preflight.js';
import { describeShard } from '../shard/shard.js';
import { lockJob } from '../store/lock.js';
import { runJob, type RunHandle, type RunStats } from '../pipeline/run.js';

export type { RunStats, RunHandle } from '../pipeline/run.js';

/** How a caller follows and steers a run. Every hook is optional. */
export interface LabelHooks {
  /** Aborting it ends the run as Ctrl-C does: reading stops, requests in flight finish (up to drainTimeout), results are committed, and label() resolves with state 'interrupted' (resumable). */
  signal?: AbortSignal;
  /** Called every `progressIntervalMs` while the run goes, and once at its end, with the live figures. */
  onProgress?(stats: RunStats): void;
  /** How often onProgress is called, ms. @default 1000 */
  progressIntervalMs?: number;
  /** One-time messages worth telling a person ("resuming: 1,200 rows already finished", "onnx: … on cpu"). */
  onNotice?(message: string): void;
  /** Model downloads report their progress here. @default silent */
  downloadProgress?: ProgressSink;
  /** The live run, once it has started: its figures, and flushNow() to commit synchronously before a hard exit. */
  onRun?(run: RunHandle): void;
}

/** What label() resolves to, and what `batchlabel run --json` prints. */
export interface RunSummary {
  state: 'completed' | 'interrupted';
  checkpoint: string;
  rows: {
    /** Rows of the input (or of --limit); null while the input has not been read to its end. */
    total: number | null;
    labeled: number;
    failed: number;
    /** Rows with nothing to label (empty texts, --empty skip): finished, blank in the export, not failures. */
    skipped: number;
    /** Rows finished by this run. */
    thisRun: number;
    /** Rows of this run labeled from an identical text's result. */
    reused: number;
    truncated: number;
  };
  retries: Record<string, number>;
  wallMs: number;
  rowsPerSecond: number;
  /** The export written, when the job has an output and the run completed. */
  output?: string;
  /** Rows written to the output. */
  outputRows?: number;
  /** The Hub commit the export was pushed in (pushToHub). */
  pushed?: string;
  /** Set when the run labeled one shard of the job (the job's export is then the merge's). */
  shard?: { index: number; count: number };
  /** 0 every row labeled, 4 some rows failed, 130 interrupted (see ExitCode). */
  exitCode: number;
}

/** What a job is run with, besides its settings. */
export interface RunControl {
  /** Job file whose settings the options override (JSON, or YAML if it ends in .yaml/.yml). */
  job?: string;
  /** Discard the checkpoint and start over. @default false */
  restart?: boolean;
  /** Re-attempt only the rows that failed. @default false */
  retryFailed?: boolean;
  /** How the job was started, for the dataset card of pushToHub. @default "label() from code" */
  command?: string;
  /**
   * Write the export to this stream (e.g. process.stdout) instead of an `output` file: CSV or JSONL by
   * `outputFormat`, which defaults to the input's format (JSONL for Parquet input). The checkpoint then
   * defaults to `<input>.batchlabel.sqlite`. @default no stream
   */
  outputStream?: ExportTarget['stream'];
}

/** Where the export goes: the stream given, else the job's output file (none for a shard). */
function exportTarget(settings: JobSettings, values: JobValues, stream: RunControl['outputStream']): ExportTarget | undefined {
  if (!stream) return settings.output && settings.outputFormat && !settings.shard ? { output: settings.output, format: settings.outputFormat } : undefined;
  if (settings.output) throw new UsageError('give either an output file or an output stream, not both (pushing to the Hub needs the file: name it with output).');
  if (settings.shard) throw new UsageError("a shard writes no export (the shards' merge does): leave out the output stream.");
  const format = (values.outputFormat as ExportTarget['format'] | undefined) ?? (settings.format === 'parquet' ? 'jsonl' : settings.format);
  if (format === 'parquet') throw new UsageError('Parquet cannot be streamed: write CSV or JSONL to a stream (outputFormat csv or jsonl), or name a .parquet output file.');
  return { output: STREAM_OUTPUT_NAME, format, stream, delimiter: format === 'csv' && settings.format === 'csv' ? settings.delimiter : ',' };
}

/**
 * Runs (or resumes) a labeling job: reads the input, labels every row not labeled yet, checkpoints every
 * result, and writes the export when the job has an `output`. Resolves when the run completes or is
 * stopped through `hooks.signal`; rejects with a BatchlabelError (its `code` says what went wrong; the
 * checkpoint stays valid and resumable) when the run cannot go on.
 */
export async function label(options: LabelOptions & RunControl, hooks: LabelHooks = {}): Promise<RunSummary> {
  const { outputStream, ...jobOptions } = options;
  const values = jobValues(jobOptions);
  let settings = resolveSettings(values);
  const target = exportTarget(settings, values, outputStream);
  const notice = hooks.onNotice ?? (() => {});
  if (values.backend === undefined && settings.backend === 'onnx') notice(localModelNotice(String(settings.model)));
  checkJobPaths(settings);
  // Refused before hours of labeling, not after: pushing needs a token and the network.
  if (settings.pushToHub) (await import('../hub/push.js')).checkPushTarget(settings.pushToHub);
  if (settings.shard) notice(`${describeShard(settings.shard)}: checkpoint ${settings.checkpoint}; the job's export is written by \`batchlabel export … --shards ${settings.shard.count}\`.`);
  mkdirSync(path.dirname(settings.checkpoint), { recursive: true });
  if (target && !target.stream) mkdirSync(path.dirname(target.output), { recursive: true });
  const lock = lockJob(settings.checkpoint);
  let opened: Awaited<ReturnType<typeof openJobCheckpoint>>;
  try {
    const download = hooks.downloadProgress;
    const modelMultiLabel = () => modelIsMultiLabel(settings, { download, signal: hooks.signal });
    opened = await openJobCheckpoint(settings, { restart: options.restart === true, notice, download, modelMultiLabel });
  } catch (err) {
    lock.release();
    throw err;
  }
  const { store, resumed } = opened;
  settings = opened.settings;
  let stats: RunStats | undefined;
  const report = () => {
    if (stats) hooks.onProgress?.(stats);
  };
  const ticker = hooks.onProgress ? setInterval(report, hooks.progressIntervalMs ?? 1000) : undefined;
  ticker?.unref();
  try {
    if (resumed) {
      const { done, failed, skipped } = store.counts();
      if (done + failed + skipped) notice(`resuming: ${num(done + failed + skipped)} rows already finished in ${settings.checkpoint}`);
    }
    const result = await runJob(
      settings,
      store,
      {
        stop: hooks.signal ?? new AbortController().signal,
        drainMs: drainMs(values),
        retryFailed: options.retryFailed === true,
        events: { notice, download: hooks.downloadProgress },
        exportTo: target,
      },
      (h) => {
        stats = h.stats;
        hooks.onRun?.(h);
      },
    );
    stats = result.stats;
    report();
    const s = result.stats;
    const counts = store.counts();
    const wallMs = Date.now() - s.startedAt;
    const summary: RunSummary = {
      state: result.state,
      checkpoint: settings.checkpoint,
      rows: { total: s.rowsTotal ?? null, labeled: counts.done, failed: counts.failed, skipped: counts.skipped, thisRun: s.done + s.failed + s.skipped, reused: s.reused, truncated: counts.truncated },
      retries: s.retries,
      wallMs,
      rowsPerSecond: Math.round(rate(s.done + s.failed, wallMs) * 10) / 10,
      ...(settings.shard ? { shard: { index: settings.shard.index, count: settings.shard.count } } : {}),
      exitCode: ExitCode.interrupted,
    };
    if (result.state === 'interrupted') return summary;
    // A fresh run wrote its export as it went; otherwise the export reads the input again.
    let exported = result.exported;
    if (target) {
      // The export after a resumed run reads the whole input again: a Ctrl-C stops it too.
      exported ??= await exportResults(store, settings, { ...target, partial: false, signal: hooks.signal });
      summary.output = target.output;
      summary.outputRows = exported.rows;
      if (settings.pushToHub) {
        const { pushExport } = await import('../hub/push.js');
        const pushed = await pushExport(store, settings, { output: target.output, summary: exported }, { repoId: settings.pushToHub, private: settings.private, command: options.command ?? 'label() from code', signal: hooks.signal });
        summary.pushed = pushed.commitUrl;
      }
    }
    summary.exitCode = counts.failed > 0 ? ExitCode.someRowsFailed : ExitCode.ok;
    return summary;
  } catch (err) {
    if (err instanceof BatchlabelError && store.isOpen) {
      const { done, failed, skipped } = store.counts();
      err.checkpoint = { path: settings.checkpoint, finishedRows: done + failed + skipped };
    }
    closeQuietly(store);
    throw err;
  } finally {
    if (ticker) clearInterval(ticker);
    try {
      store.close();
    } finally {
      lock.release();
    }
  }
}

/** Closing after a failure: the failure is what the caller needs to hear, not a second one while closing. */
function closeQuietly(store: { close(): void }): void {
  try {
    store.close();
  } catch {
    // the first error is already on its way
  }
}

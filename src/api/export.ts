import path from 'node:path';
import { UsageError } from '../errors.js';
import { exportResults, type ExportSummary, type RowSelection } from '../export/export.js';
import type { JobValues, ParquetCompression } from '../job/options.js';
import { checkParquetCompression, formatFromExtension, PARQUET_OUTPUT, resolveColumns, textEncodingName } from '../job/resolve.js';
import { checkPushTarget, pushExport } from '../hub/push.js';
import { openTarget } from '../store/open-target.js';
import { STREAM_OUTPUT_NAME, type ExportTarget } from '../export/output-file.js';

export type { ExportSummary } from '../export/export.js';

export interface ExportJobOptions {
  /** The job's checkpoint file. One of `checkpoint` and `job` is required. */
  checkpoint?: string;
  /** The job file that names the checkpoint. */
  job?: string;
  /** File to write. @default the job's output */
  output?: string;
  /** Write the export to this stream (e.g. process.stdout) instead of a file: CSV or JSONL, by default in the input's format (JSONL for Parquet input). @default no stream */
  outputStream?: ExportTarget['stream'];
  /** Output format. @default from the output's extension */
  outputFormat?: 'csv' | 'jsonl' | 'parquet';
  /** CSV, JSONL: the text encoding to write (utf-8, utf-16le, windows-1252 …). @default as in the run, else the input's */
  outputEncoding?: string;
  /** Parquet: the page compression. @default as in the run, else "zstd" */
  parquetCompression?: ParquetCompression;
  /** Upload the export with a dataset card to this Hub dataset repo, <owner>/<name>. */
  pushToHub?: string;
  /** With pushToHub: create the repo private. @default false */
  private?: boolean;
  /** How the export was asked for, for the dataset card. @default "exportJob() from code" */
  command?: string;
  /** Export an unfinished job, leaving unlabeled rows blank. @default false */
  partial?: boolean;
  /** Only some rows (a review queue, an audit sample): see RowSelection. @default every row */
  select?: RowSelection;
  /** CSV: prefix added cells that start like a spreadsheet formula with '. @default as in the run */
  escapeFormulas?: boolean;
  /** Rename the added columns. @default as in the run */
  labelColumn?: string;
  scoreColumn?: string;
  scorePrefix?: string;
  truncatedColumn?: string;
  errorColumn?: string;
}

/** Writes the scored file of a job from its checkpoint: the input, row for row, with the predictions added. */
export async function exportJob(options: ExportJobOptions): Promise<ExportSummary & { output: string; pushed?: string }> {
  const target = options.checkpoint ?? options.job;
  if (!target) throw new UsageError('exportJob needs a checkpoint or a job file.');
  const { store, settings: stored } = openTarget(target);
  try {
    const columns: JobValues = {
      labelColumn: options.labelColumn,
      scoreColumn: options.scoreColumn,
      scorePrefix: options.scorePrefix,
      truncatedColumn: options.truncatedColumn,
      errorColumn: options.errorColumn,
    };
    const settings = { ...stored, columns: resolveColumns(columns, stored.columns), ...(options.escapeFormulas !== undefined ? { escapeFormulas: options.escapeFormulas } : {}) };
    const pushTo = options.pushToHub;
    if (options.outputStream) {
      if (pushTo || options.output !== undefined) throw new UsageError('an export to a stream has no file to name or push: leave out output and pushToHub.');
      const format = options.outputFormat ?? (settings.format === 'parquet' ? 'jsonl' : settings.format);
      const encoding = textEncodingName(options.outputEncoding, 'output-encoding', format === 'parquet' ? PARQUET_OUTPUT : undefined);
      const r = await exportResults(store, settings, { output: STREAM_OUTPUT_NAME, format, encoding, stream: options.outputStream, delimiter: format === 'csv' && settings.format === 'csv' ? settings.delimiter : ',', partial: options.partial === true, select: options.select });
      return { ...r, output: STREAM_OUTPUT_NAME };
    }
    if (pushTo) checkPushTarget(pushTo);
    // Pushing needs a file: Parquet named after the repo, unless an output is named.
    const output = options.output !== undefined ? path.resolve(options.output) : (settings.output ?? (pushTo ? path.resolve(`${path.basename(pushTo)}.parquet`) : undefined));
    if (!output) throw new UsageError('no output: pass --output FILE.');
    const format = options.outputFormat ?? formatFromExtension(output, 'output-format');
    const encoding = textEncodingName(options.outputEncoding, 'output-encoding', format === 'parquet' ? PARQUET_OUTPUT : undefined);
    checkParquetCompression(options.parquetCompression, format);
    const r = await exportResults(store, settings, { output, format, encoding, compression: options.parquetCompression, partial: options.partial === true, select: options.select });
    if (!pushTo) return { ...r, output };
    const pushed = await pushExport(store, settings, { output, summary: r }, { repoId: pushTo, private: options.private === true, command: options.command ?? 'exportJob() from code' });
    return { ...r, output, pushed: pushed.commitUrl };
  } finally {
    store.close();
  }
}

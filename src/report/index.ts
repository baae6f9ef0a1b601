/**
 * `report()`: what came out of a job, as one self-contained HTML page (see html.ts) and as data.
 * Never prints, never exits; errors are BatchlabelErrors with a code.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { openTarget } from '../store/open-target.js';
import { ExportError } from '../errors.js';
import type { JobSettings } from '../job/settings.js';
import type { Checkpoint } from '../store/checkpoint.js';
import { gatherReport, type ReportData, type ReportOptions } from './data.js';
import { renderReport } from './html.js';

export type { ReportData, ReportOptions, LowRow, RunSummary } from './data.js';
export { escapeHtml } from './html.js';

export interface ReportFileOptions extends ReportOptions {
  /** Write the page to this file (complete or not at all). @default none: only returned */
  output?: string;
}

export interface ReportResult {
  html: string;
  data: ReportData;
}

/** The report of an open checkpoint. */
export async function buildReport(store: Checkpoint, settings: JobSettings, opts: ReportOptions = {}): Promise<ReportResult> {
  const data = await gatherReport(store, settings, opts);
  return { data, html: await renderReport(data) };
}

/** The report of a job: `target` is its checkpoint (.sqlite) or its job file. */
export async function report(target: string, opts: ReportFileOptions = {}): Promise<ReportResult> {
  const { store, settings } = openTarget(target);
  let result: ReportResult;
  try {
    result = await buildReport(store, settings, opts);
  } finally {
    store.close();
  }
  if (opts.output) await writeWhole(opts.output, result.html);
  return result;
}

/** Under a temporary name, then renamed: an interrupted write never leaves half a page under the name. */
async function writeWhole(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new ExportError(`${file}: cannot write the report (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Pick another --output.`);
  }
}

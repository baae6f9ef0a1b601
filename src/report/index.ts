/**
 * `report()`: what came out of a job, as one self-contained HTML page (see html.ts) and as data.
 * Never prints, never exits; errors are BatchlabelErrors with a code.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { openTarget } from '../store/open-target.js';
import { ExportError } from '../errors.js';
import { damaged, isDamage } from '../store/errors.js';
import { gatherReport, type ReportData, type ReportOptions } from './data.js';
import { renderReport } from './html.js';
import { closeShards, openShards } from '../shard/shards.js';
import { gatherShardsReport } from './shards.js';

export type { ReportData, ReportOptions, LowRow, RunSummary } from './data.js';
export { escapeHtml } from './html.js';

export interface ReportFileOptions extends ReportOptions {
  /** Write the page to this file (complete or not at all). @default none: only returned */
  output?: string;
  /** The job ran as this many shards (`run --shard I/N`): report the whole job and each shard. @default none: one checkpoint */
  shards?: number;
}

export interface ReportResult {
  html: string;
  data: ReportData;
}

/**
 * The report of a job: `target` is its checkpoint (.sqlite) or its job file; with `shards`, the job file,
 * the job's checkpoint path or any shard's checkpoint.
 */
export async function report(target: string, opts: ReportFileOptions = {}): Promise<ReportResult> {
  const data = opts.shards !== undefined ? await gatherShards(target, opts.shards, opts) : await gatherOne(target, opts);
  const result = { data, html: await renderReport(data) };
  if (opts.output) await writeWhole(opts.output, result.html);
  return result;
}

async function gatherOne(target: string, opts: ReportOptions): Promise<ReportData> {
  const { store, settings } = openTarget(target);
  try {
    return await gatherReport(store, settings, opts);
  } catch (err) {
    throw isDamage(err) ? damaged(store.path, (err as Error).message, err) : err;
  } finally {
    store.close();
  }
}

async function gatherShards(target: string, count: number, opts: ReportOptions): Promise<ReportData> {
  const set = await openShards(target, count);
  try {
    return await gatherShardsReport(set, opts);
  } finally {
    closeShards(set);
  }
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

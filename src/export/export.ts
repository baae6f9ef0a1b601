import { createWriteStream, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { CheckpointError, ExportError } from '../errors.js';
import { fingerprintInput, type InputFingerprint } from '../job/fingerprint.js';
import type { JobSettings } from '../job/settings.js';
import { openInput, type InputRow } from '../readers/index.js';
import type { Checkpoint, StoredRow } from '../store/checkpoint.js';
import { addedColumns, checkClash } from './columns.js';
import { csvRecords } from './csv-out.js';

export interface ExportOptions {
  output: string;
  format: 'csv' | 'jsonl';
  /** Export an unfinished job, leaving unlabeled rows blank. */
  partial: boolean;
  /** Export while a run is still labeling the job (see FollowRun). */
  follow?: FollowRun;
}

/**
 * How an export keeps pace with a run that is labeling the same job from another thread: a row is written
 * only once the run's committed frontier has passed it, so what is written is final, as in an export after
 * the run. Checkpoints hold every finished row below the frontier, so the export never guesses.
 */
export interface FollowRun {
  /** True once the run has stopped and committed for good; then a row still beyond the frontier never will be reached. */
  ended(): boolean;
  /** How long to wait before looking at the frontier again, ms. */
  pollMs: number;
}

export interface ExportSummary {
  rows: number;
  labeled: number;
  failed: number;
  unlabeled: number;
}

/**
 * Pages through the checkpoint in ordinal order, in step with the input. With `bound` (the committed
 * frontier of a run in progress) pages stop below it: rows past it may still be written, and a page read
 * now must not be taken later for the whole range.
 */
function resultsInOrder(store: Checkpoint): (ordinal: number, bound: number) => StoredRow | undefined {
  const PAGE = 4096;
  let page: StoredRow[] = [];
  let i = 0;
  /** First ordinal after what `page` covers (a bounded page covers exactly from..covered-1). */
  let covered = 0;
  let exhausted = false;
  return (ordinal, bound) => {
    for (;;) {
      while (i < page.length && page[i]!.ordinal < ordinal) i++;
      if (i < page.length) return page[i]!.ordinal === ordinal ? page[i] : undefined;
      if (ordinal < covered || exhausted) return undefined;
      const from = Math.max(covered, ordinal);
      const limit = Math.min(PAGE, bound - from);
      page = store.page(from, limit);
      i = 0;
      if (bound === Infinity) {
        if (page.length < limit) exhausted = true;
        covered = page.length ? page[page.length - 1]!.ordinal + 1 : from;
      } else {
        // Every row below the frontier is in the checkpoint; a gap would be written as unlabeled.
        if (page.length !== limit) throw new Error(`checkpoint holds ${page.length} of the ${limit} finished rows from ordinal ${from}`);
        covered = from + limit;
      }
    }
  };
}

/** Waits until the run's committed frontier passes `ordinal`; returns the frontier. */
async function frontierPast(store: Checkpoint, ordinal: number, follow: FollowRun): Promise<number> {
  for (;;) {
    const ended = follow.ended(); // read before the frontier: the run's last commit precedes it
    const frontier = store.frontier().ordinal;
    if (frontier > ordinal) return frontier;
    if (ended) throw new ExportError(`the run ended before data row ${ordinal + 1} was finished, so the export is incomplete. Resume the job with \`batchlabel run\`.`);
    await new Promise((r) => setTimeout(r, follow.pollMs));
  }
}

/**
 * Writes the input again, row for row in input order, with the predictions added. The file appears
 * under its name only when complete (written to a temporary name, then renamed).
 */
export async function exportResults(store: Checkpoint, settings: JobSettings, opts: ExportOptions): Promise<ExportSummary> {
  const follow = opts.follow;
  const keepAll = settings.allScores || (settings.topK ?? 1) > 1;
  // Score columns are named after every label seen, known only once the run is over.
  if (follow && keepAll) throw new Error('an export with a column per label cannot follow a run');
  const total = follow ? settings.limit : store.getMeta<number>('rows_total');
  const { done, failed } = follow ? { done: 0, failed: 0 } : store.counts();
  if (!follow && (total === undefined || done + failed < total) && !opts.partial) {
    const of = total === undefined ? '' : ` of ${total}`;
    throw new ExportError(`the job is not finished (${done + failed}${of} rows done). Resume it with \`batchlabel run\`, or export what there is with --partial.`);
  }
  const fp = store.getMeta<InputFingerprint>('fingerprint');
  const now = await fingerprintInput(settings.input);
  if (fp && (fp.size !== now.size || fp.sample !== now.sample)) {
    throw new CheckpointError(`${settings.input} changed since it was labeled (the checkpoint's rows would no longer match its rows). Restore the original input, or label the new one with \`batchlabel run --restart\`.`);
  }

  const added = addedColumns(settings.columns, keepAll ? store.labels() : null);
  const source = await openInput(settings, undefined);
  const lookup = resultsInOrder(store);
  removeStaleTmp(opts.output);
  let bound = follow ? store.frontier().ordinal : Infinity;
  const tmp = exportTmpPath(opts.output);
  // Room for a few 1,000-row chunks, so the next chunk is built while the last one is written.
  const out = createWriteStream(tmp, { highWaterMark: 1 * 1024 * 1024 });
  const summary: ExportSummary = { rows: 0, labeled: 0, failed: 0, unlabeled: 0 };
  const write = async (chunk: string | Buffer) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };

  try {
    const csvOut = opts.format === 'csv';
    const delimiter = /\.tsv$/i.test(opts.output) ? '\t' : ',';
    // JSONL → CSV takes its columns from the first object instead.
    let header: string[] | null = source.header;
    if (header) checkClash(added.names, header, settings.columns, settings.input);
    let pending: unknown[][] = [];
    let wroteHeader = false;
    const flushCsv = async () => {
      if (pending.length) await write(csvRecords(pending, delimiter));
      pending = [];
    };

    for await (const row of source.rows) {
      if (total !== undefined && row.ordinal >= total) break;
      if (follow && row.ordinal >= bound) bound = await frontierPast(store, row.ordinal, follow);
      const result = lookup(row.ordinal, bound);
      summary.rows++;
      if (!result) summary.unlabeled++;
      else if (result.status === 1) summary.labeled++;
      else summary.failed++;
      const values = added.values(result);
      if (csvOut) {
        if (!wroteHeader) {
          header ??= jsonlColumns(row, settings);
          checkClash(added.names, header, settings.columns, settings.input);
          pending.push([...header, ...added.names]);
          wroteHeader = true;
        }
        pending.push([...csvFields(row, header!), ...values]);
        if (pending.length >= 1000) await flushCsv();
      } else {
        await write(jsonlLine(row, header, added.names, values, settings));
      }
    }
    if (csvOut && !wroteHeader && header) pending.push([...header, ...added.names]);
    await flushCsv();
    out.end();
    await once(out, 'finish');
    await rename(tmp, opts.output);
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    throw err;
  } finally {
    source.close();
  }
  return summary;
}

/** Where an export is written until it is complete (same for a worker thread: one process id). */
export function exportTmpPath(output: string, pid = process.pid): string {
  return `${output}.tmp-${pid}`;
}

/**
 * Removes what exports of `output` by processes that no longer run left behind (a killed run writes its
 * export alongside, so a crash leaves a partial file); a live process's file is left alone.
 */
function removeStaleTmp(output: string): void {
  const dir = path.dirname(output);
  const prefix = `${path.basename(output)}.tmp-`;
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(n.slice(prefix.length));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || isRunning(pid)) continue;
    rmSync(path.join(dir, n), { force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

function csvFields(row: InputRow, header: string[]): string[] {
  if (Array.isArray(row.record)) {
    // A row with too few fields is padded so the output stays rectangular; the error column says why.
    return row.record.length >= header.length ? row.record.slice(0, header.length) : [...row.record, ...Array(header.length - row.record.length).fill('')];
  }
  return header.map((h) => {
    const v = row.object?.[h];
    return v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

function jsonlColumns(row: InputRow, settings: JobSettings): string[] {
  if (!row.object) throw new ExportError(`${settings.input}: the first line is not a JSON object, so there are no columns to write as CSV. Export as JSONL instead (--output-format jsonl).`);
  return Object.keys(row.object);
}

/**
 * The input line is kept byte for byte: the added fields are spliced in before its closing brace.
 * A line that is not a JSON object is written as an object holding the line, so no row goes missing.
 */
function jsonlLine(row: InputRow, header: string[] | null, names: string[], values: unknown[], settings: JobSettings): string {
  const fields = names.map((n, i) => `${JSON.stringify(n)}:${JSON.stringify(values[i] ?? null)}`).join(',');
  if (Array.isArray(row.record) && header) {
    // CSV in, JSONL out: one object per row, keyed by the header.
    const obj: Record<string, unknown> = {};
    header.forEach((h, i) => (obj[h] = (row.record as string[])[i] ?? ''));
    const fromCsv = JSON.stringify(obj);
    return `${fromCsv.slice(0, -1)}${header.length ? ',' : ''}${fields}}\n`;
  }
  if (typeof row.record === 'string' && row.object) {
    checkClash(names, Object.keys(row.object), settings.columns, `${settings.input} line ${row.line}`);
    const raw = row.record.trimEnd();
    const body = raw.slice(0, -1).trimEnd();
    const empty = Object.keys(row.object).length === 0;
    return `${body}${empty ? '' : ','}${fields}}\n`;
  }
  return `{${fields},"input":${JSON.stringify(row.record)}}\n`;
}

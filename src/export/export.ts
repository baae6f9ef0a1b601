import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { CheckpointError, ExportError } from '../errors.js';
import { fingerprintInput, type InputFingerprint } from '../job/fingerprint.js';
import type { JobSettings } from '../job/settings.js';
import { openInput, type InputRow } from '../readers/index.js';
import type { Checkpoint, StoredRow } from '../store/checkpoint.js';
import { addedColumns, checkClash } from './columns.js';
import { csvRecords, type CsvRecord } from './csv-out.js';

export interface ExportOptions {
  output: string;
  format: 'csv' | 'jsonl';
  /** Export an unfinished job, leaving unlabeled rows blank. */
  partial: boolean;
}

export interface ExportSummary {
  rows: number;
  labeled: number;
  failed: number;
  unlabeled: number;
}

/** Pages through the checkpoint in ordinal order, in step with the input. */
function resultsInOrder(store: Checkpoint): (ordinal: number) => StoredRow | undefined {
  let page: StoredRow[] = [];
  let i = 0;
  let next = 0;
  let exhausted = false;
  return (ordinal) => {
    for (;;) {
      while (i < page.length && page[i]!.ordinal < ordinal) i++;
      if (i < page.length) return page[i]!.ordinal === ordinal ? page[i] : undefined;
      if (exhausted) return undefined;
      page = store.page(Math.max(next, ordinal), 4096);
      i = 0;
      if (page.length < 4096) exhausted = true;
      if (page.length) next = page[page.length - 1]!.ordinal + 1;
    }
  };
}

/**
 * Writes the input again, row for row in input order, with the predictions added. The file appears
 * under its name only when complete (written to a temporary name, then renamed).
 */
export async function exportResults(store: Checkpoint, settings: JobSettings, opts: ExportOptions): Promise<ExportSummary> {
  const total = store.getMeta<number>('rows_total');
  const { done, failed } = store.counts();
  if ((total === undefined || done + failed < total) && !opts.partial) {
    const of = total === undefined ? '' : ` of ${total}`;
    throw new ExportError(`the job is not finished (${done + failed}${of} rows done). Resume it with \`batchlabel run\`, or export what there is with --partial.`);
  }
  const fp = store.getMeta<InputFingerprint>('fingerprint');
  const now = await fingerprintInput(settings.input);
  if (fp && (fp.size !== now.size || fp.sample !== now.sample)) {
    throw new CheckpointError(`${settings.input} changed since it was labeled (the checkpoint's rows would no longer match its rows). Restore the original input, or label the new one with \`batchlabel run --restart\`.`);
  }

  const keepAll = settings.allScores || (settings.topK ?? 1) > 1;
  const added = addedColumns(settings.columns, keepAll ? store.labels() : null);
  const csvOut = opts.format === 'csv';
  const delimiter = /\.tsv$/i.test(opts.output) ? '\t' : ',';
  // CSV to CSV with the same delimiter: each row's original bytes are copied, the added cells appended.
  const copyRaw = csvOut && settings.format === 'csv' && settings.delimiter === delimiter;
  const source = await openInput(settings, undefined, { raw: copyRaw });
  const lookup = resultsInOrder(store);
  const tmp = `${opts.output}.tmp-${process.pid}`;
  // Room for a few 1,000-row chunks, so the next chunk is built while the last one is written.
  const out = createWriteStream(tmp, { highWaterMark: 8 * 1024 * 1024 });
  const summary: ExportSummary = { rows: 0, labeled: 0, failed: 0, unlabeled: 0 };
  const write = async (chunk: string | Buffer) => {
    if (!out.write(chunk)) await once(out, 'drain');
  };

  try {
    // JSONL → CSV takes its columns from the first object instead.
    let header: string[] | null = source.header;
    if (header) checkClash(added.names, header, settings.columns, settings.input);
    let pending: CsvRecord[] = [];
    let wroteHeader = false;
    const flushCsv = async () => {
      if (pending.length) await write(csvRecords(pending, delimiter));
      pending = [];
    };

    for await (const row of source.rows) {
      if (total !== undefined && row.ordinal >= total) break;
      const result = lookup(row.ordinal);
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
        // A row of the wrong width is written from its fields, padded or cut to the header's width.
        if (row.raw && row.record.length === header!.length) pending.push({ raw: row.raw, more: values });
        else pending.push([...csvFields(row, header!), ...values]);
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

import { CheckpointError, ExportError } from '../errors.js';
import { fingerprintInput, type InputFingerprint } from '../job/fingerprint.js';
import type { JobSettings } from '../job/settings.js';
import { openInput } from '../readers/index.js';
import type { Checkpoint, StoredRow } from '../store/checkpoint.js';
import { addedColumns } from './columns.js';
import { copiesRawRows, openOutputFile, type ExportSummary, type ExportTarget } from './output-file.js';

export type { ExportSummary } from './output-file.js';

export interface ExportOptions extends ExportTarget {
  /** Export an unfinished job, leaving unlabeled rows blank. */
  partial: boolean;
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
  const now = await fingerprintInput(settings.input, settings);
  if (fp && (fp.size !== now.size || fp.sample !== now.sample)) {
    throw new CheckpointError(`${settings.input} changed since it was labeled (the checkpoint's rows would no longer match its rows). Restore the original input, or label the new one with \`batchlabel run --restart\`.`);
  }

  const keepAll = settings.allScores || (settings.topK ?? 1) > 1;
  const added = addedColumns(settings.columns, keepAll ? store.labels() : null);
  // Rows copied as they are need no decoded text: the results come from the checkpoint.
  const copies = copiesRawRows(settings, opts);
  const source = await openInput(settings, undefined, { raw: copies, lazyText: copies });
  try {
    const file = openOutputFile(settings, opts, source.header, added, source.columns);
    const lookup = resultsInOrder(store);
    try {
      for await (const row of source.rows) {
        if (total !== undefined && row.ordinal >= total) break;
        if (!file.add(row, lookup(row.ordinal))) await file.drained();
      }
    } catch (err) {
      await file.abort();
      throw err;
    }
    return await file.finish();
  } finally {
    source.close();
  }
}

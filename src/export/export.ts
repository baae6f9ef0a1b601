import { CheckpointError, ExportError, InterruptedError } from '../errors.js';
import { fingerprintInput } from '../job/fingerprint.js';
import type { JobSettings } from '../job/settings.js';
import { openInput } from '../io/index.js';
import type { Checkpoint, StoredRow } from '../store/checkpoint.js';
import { inOrder } from '../store/in-order.js';
import { sampledOrdinals, type RowSelection } from '../store/queries.js';
import { columnsForJob } from './columns.js';
import { copiesRawRows, openOutputFile, type ExportSummary, type ExportTarget } from './output-file.js';
import { exportCheck, type RowCheck } from './verify.js';
import { knownScoreLabels } from '../tasks/index.js';
import { damaged, isDamage } from '../store/errors.js';

export type { ExportSummary } from './output-file.js';
export type { RowSelection } from '../store/queries.js';

export interface ExportOptions extends ExportTarget {
  /** Export an unfinished job, leaving unlabeled rows blank. */
  partial: boolean;
  /**
   * A review export: only the labeled rows this selects (by label, top score below a bound, a seeded
   * random sample), with the same columns. @default every row
   */
  select?: RowSelection;
}

function selects(sel: RowSelection | undefined): sel is RowSelection {
  return sel !== undefined && (sel.label !== undefined || sel.maxScore !== undefined || sel.sample !== undefined);
}

/**
 * Whether a row's result belongs in a review export. A sample is drawn in the checkpoint first (its n
 * ordinals are all this holds); label and score are checked on each result as it is paged in.
 */
function selectionFilter(store: Checkpoint, sel: RowSelection): { keep: (r: StoredRow | undefined) => boolean; last: number } {
  const ordinals = sel.sample !== undefined ? sampledOrdinals(store.database, { ...sel, sample: sel.sample }) : undefined;
  const picked = ordinals && new Set(ordinals);
  const keep = (r: StoredRow | undefined) =>
    r !== undefined &&
    r.status === 'done' &&
    (sel.label === undefined || r.label === sel.label) &&
    (sel.maxScore === undefined || (r.score !== null && r.score < sel.maxScore)) &&
    (picked === undefined || picked.has(r.ordinal));
  // Past the last sampled row there is nothing left to write: the rest of the input is not read.
  return { keep, last: ordinals ? (ordinals.at(-1) ?? -1) : Infinity };
}

/** Pages through the checkpoint in ordinal order, in step with the input (the ordinals asked must increase). */
export function resultsInOrder(store: Checkpoint): (ordinal: number) => StoredRow | undefined {
  return inOrder((from, limit) => store.page(from, limit), (r) => r.ordinal, 4096);
}

/**
 * Writes the input again, row for row in input order, with the predictions added. The file appears
 * under its name only when complete (written to a temporary name, then renamed).
 */
export async function exportResults(store: Checkpoint, settings: JobSettings, opts: ExportOptions): Promise<ExportSummary> {
  try {
    return await exportChecked(store, settings, opts);
  } catch (err) {
    throw isDamage(err) ? damaged(store.path, (err as Error).message, err) : err;
  }
}

async function exportChecked(store: Checkpoint, settings: JobSettings, opts: ExportOptions): Promise<ExportSummary> {
  const shard = store.getMeta('shard');
  if (shard) throw new ExportError(`${store.path} holds shard ${shard.index} of ${shard.count} of a job, not the whole job: merge the shards with \`batchlabel export JOB --shards ${shard.count} --output FILE\`.`);
  // The job's rows, cut to the current --limit: a run with a smaller limit than the one before it
  // finishes at once (its rows are done), and its export holds its own rows only.
  const counted = store.getMeta('rows_total');
  const total = settings.limit !== undefined && (counted === undefined || settings.limit < counted) ? settings.limit : counted;
  const { done, failed, skipped } = store.counts();
  const finished = done + failed + skipped;
  if ((total === undefined || finished < total) && !opts.partial) {
    const of = total === undefined ? '' : ` of ${total}`;
    throw new ExportError(`the job is not finished (${finished}${of} rows done). Resume it with \`batchlabel run\`, or export what there is with --partial.`);
  }
  const fp = store.getMeta('fingerprint');
  const now = await fingerprintInput(settings.input, settings);
  if (fp && (fp.size !== now.size || fp.sample !== now.sample)) {
    throw new CheckpointError(`${settings.input} changed since it was labeled (the checkpoint's rows would no longer match its rows). Restore the original input, or label the new one with \`batchlabel run --restart\`.`);
  }

  const selection = selects(opts.select) ? selectionFilter(store, opts.select) : undefined;
  return writeExport(settings, opts, () => store.labels(), total, resultsInOrder(store), selection, exportCheck(store, settings.input, knownScoreLabels(settings)));
}

/** Throws once the export is asked to stop (its caller removes the unfinished file). */
function stopped(target: ExportTarget): void {
  if (target.signal?.aborted) throw new InterruptedError(`interrupted: ${target.output} was not written (the checkpoint is complete; export it with \`batchlabel export\`).`);
}

/**
 * The export itself: the input read again from its first row (up to `total` rows, if given), each row
 * written with `lookup(ordinal)`'s result. `seenLabels`: the labels the model answered with, read only for
 * a job with a column per label whose labels are not known up front.
 */
export async function writeExport(
  settings: JobSettings,
  target: ExportTarget,
  seenLabels: () => string[],
  total: number | undefined,
  lookup: (ordinal: number) => StoredRow | undefined,
  /** Only the rows it keeps (a review export); none are read past `last`. */
  selection?: { keep: (r: StoredRow | undefined) => boolean; last: number },
  /** Refuses a row whose input is not the one its result is for (see verify.ts). */
  check?: RowCheck,
): Promise<ExportSummary> {
  const added = columnsForJob(settings, seenLabels);
  // Rows copied as they are need no decoded text: the results come from the checkpoint.
  const copies = copiesRawRows(settings, target);
  const source = await openInput(settings, undefined, { raw: copies, lazyText: copies });
  try {
    const file = openOutputFile(settings, target, source.header, added, source.columns, source.encoding);
    try {
      if (selection) {
        const { keep, last } = selection;
        for await (const row of source.rows) {
          if ((total !== undefined && row.ordinal >= total) || row.ordinal > last) break;
          stopped(target);
          const result = lookup(row.ordinal);
          if (!keep(result)) continue;
          check?.(row, result);
          if (!file.add(row, result)) await file.drained();
        }
        return await file.finish();
      }
      for await (const row of source.rows) {
        if (total !== undefined && row.ordinal >= total) break;
        stopped(target);
        const result = lookup(row.ordinal);
        check?.(row, result);
        if (!file.add(row, result)) await file.drained();
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

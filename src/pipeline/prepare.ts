import type { ProgressSink } from '../core/types.js';
import { CheckpointError } from '../errors.js';
import { fingerprintInput, type InputFingerprint } from '../job/fingerprint.js';
import { resultSettings, storedSettings, type JobSettings } from '../job/settings.js';
import { Checkpoint } from '../store/checkpoint.js';
import { redactUrlsIn } from '../core/redact-url.js';
import { checkShardMeta } from '../shard/shards.js';
import { DEFAULT_THRESHOLD, isZeroShot } from '../tasks/index.js';

/** Checkpoints of older versions stored endpoints with their credentials: never print those. */
function describe(v: unknown): string {
  return v === null || v === undefined ? '(unset)' : redactUrlsIn(JSON.stringify(v));
}

/**
 * Opens the job's checkpoint and makes sure it belongs to this input and these settings: resuming with
 * other data or another model would mix two jobs' results in one export.
 */
export async function openJobCheckpoint(
  asked: JobSettings,
  opts: {
    restart: boolean;
    notice: (msg: string) => void;
    download?: ProgressSink;
    /** Whether the model says it is multi-label; asked only when multiLabel was not given (see withModelMultiLabel). */
    modelMultiLabel?: () => Promise<boolean>;
  },
): Promise<{ store: Checkpoint; fingerprint: InputFingerprint; resumed: boolean; settings: JobSettings }> {
  // A Hub dataset is downloaded here, the first time: its progress goes where the caller asked.
  const fingerprint = await fingerprintInput(asked.input, { split: asked.split, config: asked.config, sink: opts.download });
  const store = Checkpoint.open(asked.checkpoint, { create: true });
  try {
    const before = store.getMeta('fingerprint');
    const settings = await withModelMultiLabel(asked, opts, before && !opts.restart ? store : undefined);
    if (before && opts.restart) {
      const { done, failed, skipped } = store.counts();
      opts.notice(`--restart: discarding ${done + failed + skipped} finished rows in ${settings.checkpoint} and starting over.`);
      store.clear();
    } else if (before) {
      const changes: string[] = [];
      if (before.size !== fingerprint.size) changes.push(`the input changed size (${before.size} → ${fingerprint.size} bytes)`);
      else if (before.sample !== fingerprint.sample) changes.push('the input content changed');
      const was = earlierResultSettings(store);
      const now = resultSettings(settings);
      // Both ways: a key only the earlier job has (its task's, its pair column) is a change too.
      for (const key of new Set([...Object.keys(was), ...Object.keys(now)])) {
        if (JSON.stringify(was[key] ?? null) !== JSON.stringify(now[key] ?? null)) changes.push(`${key} changed (${describe(was[key])} → ${describe(now[key])})`);
      }
      const { done, failed, skipped } = store.counts();
      if (changes.length && done === 0) {
        // Nothing was labeled: the earlier run was a mistake being fixed (a wrong column, endpoint or
        // model), and its failures came from that mistake. There is nothing worth protecting.
        opts.notice(`${settings.checkpoint}: no row was labeled under the earlier settings (${changes.join('; ')}); starting the job afresh${failed ? ` (its ${failed} failed rows discarded)` : ''}.`);
        store.clear();
      } else if (changes.length) {
        throw new CheckpointError(
          `${settings.checkpoint} belongs to another job: ${changes.join('; ')}. Resuming would mix results. Run with --restart to discard its ${done + failed + skipped} finished rows, or pass another --checkpoint.`,
        );
      }
    }
    const resumed = store.getMeta('fingerprint') !== undefined && !opts.restart;
    const shard = checkShardMeta(store, settings, resumed); // shard: one of N tasks of the job
    store.setMeta({
      ...shard,
      fingerprint,
      result_settings: resultSettings(settings),
      settings: storedSettings(settings),
      ...(resumed ? {} : { created_at: new Date().toISOString() }),
    });
    return { store, fingerprint, resumed, settings };
  } catch (err) {
    store.close();
    throw err;
  }
}

/** The result settings a checkpoint was made with. Older ones kept a text-classification --multi-label only in their settings. */
function earlierResultSettings(store: Checkpoint): Record<string, unknown> {
  const was = { ...store.getMeta('result_settings') };
  if (!('multiLabel' in was) && store.getMeta('settings')?.multiLabel === true) was.multiLabel = true;
  return was;
}

/**
 * A model that says it is multi-label gets predicted_labels unless told otherwise (--no-multi-label), as
 * Python's pipeline scores it by its problem_type; except when resuming rows labeled without them, which
 * go on the same way rather than be refused as another job.
 */
async function withModelMultiLabel(settings: JobSettings, opts: { notice: (msg: string) => void; modelMultiLabel?: () => Promise<boolean> }, resuming: Checkpoint | undefined): Promise<JobSettings> {
  if (settings.multiLabel !== undefined || isZeroShot(settings) || !opts.modelMultiLabel || !(await opts.modelMultiLabel())) return settings;
  if (resuming && resuming.counts().done > 0 && earlierResultSettings(resuming).multiLabel !== true) {
    opts.notice(`the model is multi-label (config.json problem_type), but ${settings.checkpoint} was labeled without predicted_labels: resuming the same way (--restart --multi-label to label it again with them).`);
    return { ...settings, multiLabel: false };
  }
  opts.notice(`the model is multi-label (config.json problem_type): predicted_labels lists every label scoring at least ${settings.threshold ?? DEFAULT_THRESHOLD} (--threshold); --no-multi-label keeps only the top label.`);
  return { ...settings, multiLabel: true };
}

import type { ProgressSink } from '../core/types.js';
import { CheckpointError } from '../errors.js';
import { fingerprintInput, type InputFingerprint } from '../job/fingerprint.js';
import { resultSettings, storedSettings, type JobSettings } from '../job/settings.js';
import { Checkpoint } from '../store/checkpoint.js';
import { redactUrlsIn } from '../core/redact-url.js';
import { checkShardMeta } from '../shard/shards.js';

/** Checkpoints of older versions stored endpoints with their credentials: never print those. */
function describe(v: unknown): string {
  return v === null || v === undefined ? '(unset)' : redactUrlsIn(JSON.stringify(v));
}

/**
 * Opens the job's checkpoint and makes sure it belongs to this input and these settings: resuming with
 * other data or another model would mix two jobs' results in one export.
 */
export async function openJobCheckpoint(
  settings: JobSettings,
  opts: { restart: boolean; notice: (msg: string) => void; download?: ProgressSink },
): Promise<{ store: Checkpoint; fingerprint: InputFingerprint; resumed: boolean }> {
  // A Hub dataset is downloaded here, the first time: its progress goes where the caller asked.
  const fingerprint = await fingerprintInput(settings.input, { split: settings.split, config: settings.config, sink: opts.download });
  const store = Checkpoint.open(settings.checkpoint, { create: true });
  try {
    const before = store.getMeta('fingerprint');
    if (before && opts.restart) {
      const { done, failed, skipped } = store.counts();
      opts.notice(`--restart: discarding ${done + failed + skipped} finished rows in ${settings.checkpoint} and starting over.`);
      store.clear();
    } else if (before) {
      const changes: string[] = [];
      if (before.size !== fingerprint.size) changes.push(`the input changed size (${before.size} → ${fingerprint.size} bytes)`);
      else if (before.sample !== fingerprint.sample) changes.push('the input content changed');
      const was = store.getMeta('result_settings') ?? {};
      const now = resultSettings(settings);
      for (const key of Object.keys(now)) {
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
    return { store, fingerprint, resumed };
  } catch (err) {
    store.close();
    throw err;
  }
}

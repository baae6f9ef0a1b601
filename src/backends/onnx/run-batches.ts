import ort from 'onnxruntime-node';
import { InterruptedError } from '../../errors.js';
import type { Logits } from './model.js';
import type { Serial } from './scheduler.js';

export interface BatchRun {
  /** The padded tensors of these rows, built now, while an earlier batch still runs, so the session never waits for JS. */
  feeds(indices: readonly number[]): Record<string, ort.Tensor>;
  run(feeds: Record<string, ort.Tensor>, rows: number): Promise<Logits>;
  /** The logits of `indices`, in order. */
  fill(indices: readonly number[], logits: Logits): void;
  /** Row `index` failed even alone. */
  failed(index: number, err: unknown): void;
  serial: Serial;
  signal?: AbortSignal;
}

/**
 * Runs every batch on the one session, in turn. One bad row must not fail its batch-mates: a batch that
 * fails is run again row by row, and only the rows that fail alone are blamed.
 */
export function runBatches(batches: readonly (readonly number[])[], r: BatchRun): Promise<void> {
  return Promise.all(
    batches.map((indices) => {
      const feeds = r.feeds(indices);
      return r.serial(async () => {
        if (r.signal?.aborted) throw new InterruptedError();
        try {
          r.fill(indices, await r.run(feeds, indices.length));
        } catch (err) {
          if (err instanceof InterruptedError) throw err;
          for (const i of indices) {
            if (r.signal?.aborted) throw new InterruptedError();
            try {
              r.fill([i], await r.run(r.feeds([i]), 1));
            } catch (rowErr) {
              r.failed(i, rowErr);
            }
          }
        }
      });
    }),
  ).then(() => undefined);
}

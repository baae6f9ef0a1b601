/**
 * One session.run at a time, in the order batches were queued.
 *
 * onnxruntime already spreads one run over every core (intra-op threads); two concurrent runs on the
 * same session would only split those cores and thrash the caches. What may overlap with a run is other
 * work: tokenizing (on the tokenizer threads) and padding the next window while this one computes. FIFO
 * order keeps a window's batches together, so the window that started first also finishes first.
 */
export type Serial = <T>(task: () => Promise<T>) => Promise<T>;

export function serialQueue(): Serial {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>) => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

/**
 * Which texts share a model batch. A batch is padded to its longest row, so rows of similar length go
 * together (sorted by token count); a batch stops growing at the row limit or when rows × longest row
 * would exceed the token budget (attention memory and time grow with both, and a batch of 32 reviews of 512
 * tokens gains almost nothing over 8 while using four times the memory).
 */

export interface BatchLimits {
  /** Most rows per model batch (--batch-size). 1 makes every score independent of its neighbours. */
  maxRows: number;
  /** Most padded tokens (rows × longest row) per model batch; a single row may exceed it. */
  maxTokens: number;
}

/** Index lists into `lengths`, one per model batch, shortest rows first. Every index appears exactly once. */
export function planBatches(lengths: readonly number[], limits: BatchLimits): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const i of order) {
    // Sorted ascending, so this row is the longest the batch would have.
    const padded = (current.length + 1) * lengths[i]!;
    if (current.length > 0 && (current.length >= limits.maxRows || padded > limits.maxTokens)) {
      batches.push(current);
      current = [];
    }
    current.push(i);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

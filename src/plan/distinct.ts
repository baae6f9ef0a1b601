/**
 * Counting distinct texts in flat memory: exactly while their keys fit a bounded set, then with a
 * HyperLogLog sketch (2^14 registers: a standard error of 1.04/√16384 ≈ 0.8%) built from the same keys.
 */
import type { TextKey } from '../job/fingerprint.js';

/** Keys held exactly: ~70 bytes each in a Set, so ~14 MB at most. */
const EXACT_LIMIT = 200_000;
const P = 14;
const M = 1 << P;
/** HyperLogLog's bias constant for m ≥ 128. */
const ALPHA = 0.7213 / (1 + 1.079 / M);

export class DistinctCounter {
  private keys: Set<TextKey> | undefined = new Set();
  private readonly registers = new Uint8Array(M);

  get exact(): boolean {
    return this.keys !== undefined;
  }

  /** `key`: hashText's 16 latin1 chars, uniformly distributed bits. */
  add(key: TextKey): void {
    if (this.keys) {
      this.keys.add(key);
      if (this.keys.size > EXACT_LIMIT) this.keys = undefined;
    }
    const hi = ((key.charCodeAt(0) << 24) | (key.charCodeAt(1) << 16) | (key.charCodeAt(2) << 8) | key.charCodeAt(3)) >>> 0;
    const lo = ((key.charCodeAt(4) << 24) | (key.charCodeAt(5) << 16) | (key.charCodeAt(6) << 8) | key.charCodeAt(7)) >>> 0;
    const index = hi >>> (32 - P);
    // Rank: position of the first 1 bit in the 50 bits after the index (hi's low 18, then lo).
    const rest = (hi << P) >>> 0;
    const rank = rest !== 0 ? Math.clz32(rest) + 1 : 32 - P + (lo !== 0 ? Math.clz32(lo) + 1 : 33);
    if (rank > this.registers[index]!) this.registers[index] = rank;
  }

  count(): number {
    if (this.keys) return this.keys.size;
    let sum = 0;
    let zeros = 0;
    for (const r of this.registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const raw = (ALPHA * M * M) / sum;
    // Small-range correction (linear counting), as in the HyperLogLog paper.
    return Math.round(raw <= 2.5 * M && zeros > 0 ? M * Math.log(M / zeros) : raw);
  }
}

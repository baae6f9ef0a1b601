/** Text lengths in a fixed array of counts: exact quantiles for lengths up to 65,535, flat memory. */

export interface LengthSummary {
  count: number;
  min: number;
  mean: number;
  median: number;
  p90: number;
  p99: number;
  max: number;
}

const EXACT = 65_536;

export class LengthHistogram {
  private readonly counts = new Float64Array(EXACT);
  private total = 0;
  private sum = 0;
  private min = Infinity;
  private max = 0;

  add(length: number): void {
    // Longer ones count in total, sum and max only.
    if (length < EXACT) this.counts[length]!++;
    this.total++;
    this.sum += length;
    if (length < this.min) this.min = length;
    if (length > this.max) this.max = length;
  }

  /** The q-quantile (nearest rank); lengths past the exact range report as the maximum. */
  quantile(q: number): number {
    const rank = Math.min(this.total - 1, Math.floor(q * this.total));
    let seen = 0;
    for (let i = 0; i < EXACT; i++) {
      seen += this.counts[i]!;
      if (seen > rank) return i;
    }
    return this.max;
  }

  summary(): LengthSummary | null {
    if (!this.total) return null;
    return { count: this.total, min: this.min, mean: this.sum / this.total, median: this.quantile(0.5), p90: this.quantile(0.9), p99: this.quantile(0.99), max: this.max };
  }
}

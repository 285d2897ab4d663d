/**
 * A cumulative histogram with fixed bucket bounds, updated with plain number increments (no
 * Effect, no allocation): what the engine records on its hot path for the metrics endpoint.
 */

/** Bounds in seconds for latencies and durations: 1 ms to 10 minutes. */
export const SECONDS_BUCKETS: ReadonlyArray<number> = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600]

/** Observations counted per bucket (`counts[i]`: values ≤ `bounds[i]` and > the bound before; the last: the rest), their sum and count. */
export class Histogram {
  readonly counts: Array<number>
  sum = 0
  count = 0

  constructor(readonly bounds: ReadonlyArray<number> = SECONDS_BUCKETS) {
    this.counts = new Array<number>(bounds.length + 1).fill(0)
  }

  /** Counts one value. */
  observe(value: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    this.counts[i]!++
    this.sum += value
    this.count++
  }

  /** The cumulative count of values ≤ each bound, then of all values (`+Inf`). */
  cumulative(): Array<number> {
    let total = 0
    return this.counts.map((c) => (total += c))
  }
}

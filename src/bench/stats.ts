/**
 * The statistics of a benchmark: a latency histogram that holds millions of samples in a few KB
 * (log-linear buckets, relative error below 1 %), exact nearest-rank percentiles for small sample
 * sets, and the median used to combine repeated runs.
 *
 * Hand-written rather than hdr-histogram-js: the same log-linear buckets take under a hundred lines here with
 * no dependency (that package brings an AssemblyScript loader, pako and base64-js), and the bench
 * also needs exact nearest-rank percentiles of small sample sets and medians, which it does not give.
 *
 * @module
 */

/** Sub-buckets per power of two: values are kept to within 1/128 (0.8 %) of their true value. */
const SUB_BUCKETS = 128;
/** Values below this are kept exactly (one bucket per integer). */
const EXACT_BELOW = 2 * SUB_BUCKETS;
/** Largest value the histogram distinguishes (about 71 minutes in microseconds); larger ones are clamped. */
export const HISTOGRAM_MAX_VALUE = 2 ** 32 - 1;
const BUCKETS = EXACT_BELOW + (32 - 8) * SUB_BUCKETS;

/** The bucket of a non-negative integer value. */
export function bucketOf(value: number): number {
  const v = value >= HISTOGRAM_MAX_VALUE ? HISTOGRAM_MAX_VALUE : value < 0 ? 0 : Math.floor(value);
  if (v < EXACT_BELOW) return v;
  const msb = 31 - Math.clz32(v);
  const shift = msb - 7;
  return EXACT_BELOW + (shift - 1) * SUB_BUCKETS + ((v >>> shift) - SUB_BUCKETS);
}

/** The smallest and largest value a bucket holds. */
export function bucketRange(bucket: number): { low: number; high: number } {
  if (bucket < EXACT_BELOW) return { low: bucket, high: bucket };
  const shift = ((bucket - EXACT_BELOW) >> 7) + 1;
  const low = (SUB_BUCKETS + ((bucket - EXACT_BELOW) & (SUB_BUCKETS - 1))) * 2 ** shift;
  return { low, high: low + 2 ** shift - 1 };
}

/** A {@link Histogram}'s samples as plain data. */
export interface HistogramSnapshot {
  readonly counts: Float64Array;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

/**
 * A histogram of non-negative integers (chatkit records microseconds). Percentiles are
 * nearest-rank: the `p`-th percentile is the smallest recorded value such that at least `p` % of
 * the samples are at most it, reported as the upper bound of its bucket (never above the largest
 * sample), so it is never below the exact figure and at most 0.8 % above it.
 */
export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;

  /** Records one sample (negative values count as 0). */
  record(value: number): void {
    const v = Math.max(value, 0);
    this.#counts[bucketOf(v)]!++;
    this.#count++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /** Samples recorded. */
  get count(): number {
    return this.#count;
  }

  /** Largest sample (exact); 0 when empty. */
  get max(): number {
    return this.#max;
  }

  /** Smallest sample (exact); 0 when empty. */
  get min(): number {
    return this.#count === 0 ? 0 : this.#min;
  }

  /** Mean (exact); 0 when empty. */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /** Nearest-rank percentile, `p` in [0, 100]; 0 when empty. */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.#count));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.#counts[bucket]!;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.min, bucketRange(bucket).high));
    }
    return this.#max;
  }

  /** The samples as plain data (to cross a thread: a class instance does not survive structured clone). */
  snapshot(): HistogramSnapshot {
    return { counts: this.#counts.slice(), count: this.#count, sum: this.#sum, min: this.#min, max: this.#max };
  }

  /** A histogram holding a {@link snapshot}'s samples. */
  static fromSnapshot(s: HistogramSnapshot): Histogram {
    const h = new Histogram();
    h.#counts.set(s.counts);
    h.#count = s.count;
    h.#sum = s.sum;
    h.#min = s.min;
    h.#max = s.max;
    return h;
  }

  /** Adds another histogram's samples to this one. */
  merge(other: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.#counts[i]! += other.#counts[i]!;
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#count > 0) {
      this.#min = Math.min(this.#min, other.#min);
      this.#max = Math.max(this.#max, other.#max);
    }
  }
}

/**
 * Exact nearest-rank percentile of `values` (any order; not modified): the smallest value such that
 * at least `p` % of the values are at most it. NaN for an empty list.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** The median (the mean of the two middle values for an even count); NaN for an empty list. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Token-length statistics of encoded sentence pairs: median, 90th percentile, maximum, and how many
 * encodings `max_seq_length` truncates. Used by the `data` command to choose `--max_seq_length`.
 *
 * @example
 * ```ts
 * tokenStats([10, 20, 30, 200], { maxSeqLength: 128 });
 * // { count: 4, p50: 25, p90: 149, max: 200, truncated: 1 }
 * ```
 *
 * @module
 */

/** Summary of a list of token lengths. */
export interface TokenStats {
  readonly count: number;
  /** Median length (linear interpolation, as `numpy.percentile`). */
  readonly p50: number;
  /** 90th-percentile length (linear interpolation). */
  readonly p90: number;
  readonly max: number;
  /** How many lengths exceed `maxSeqLength`. */
  readonly truncated: number;
}

/** Options of {@linkcode tokenStats}. */
export interface TokenStatsOptions {
  /** Lengths above this are counted as truncated. */
  readonly maxSeqLength: number;
}

/**
 * The `q`-th quantile (`0 <= q <= 1`) of ascending `sorted` values with `numpy.percentile`'s default
 * linear interpolation between the two nearest ranks, rounded to 6 decimals.
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError("quantile of an empty list");
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile q must be in [0, 1], got ${q}`);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const value = sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  return Math.round(value * 1e6) / 1e6; // 149, not 149.00000000000003
}

/**
 * Statistics of untruncated token `lengths`. Pass the full lengths (before truncation) so that
 * `max` and the percentiles say what `maxSeqLength` cuts off.
 */
export function tokenStats(lengths: readonly number[], options: TokenStatsOptions): TokenStats {
  if (lengths.length === 0) throw new RangeError("tokenStats needs at least one length");
  const sorted = Float64Array.from(lengths).sort();
  const values = Array.from(sorted);
  return {
    count: values.length,
    p50: quantile(values, 0.5),
    p90: quantile(values, 0.9),
    max: values[values.length - 1],
    truncated: values.filter((n) => n > options.maxSeqLength).length,
  };
}

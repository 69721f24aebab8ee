/**
 * Upper bounds, in ms, of the latency ranges that rollups count calls in (see
 * `HistoryBucket.latencyHistogram`): a histogram has one entry per bound plus one for the
 * latencies above the last bound. Part of the stored format: every store and release uses
 * these bounds, so histograms of any two buckets can be added up.
 */
export const LATENCY_HISTOGRAM_BOUNDS_MS: readonly number[] = Object.freeze([
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000,
]);

/** Number of entries in a latency histogram: one per bound plus the open range above the last. */
export const LATENCY_HISTOGRAM_SIZE = LATENCY_HISTOGRAM_BOUNDS_MS.length + 1;

/** The histogram entry a latency falls in: the first bound it does not exceed, else the last entry. */
export function latencyHistogramIndex(latencyMs: number): number {
  const bounds = LATENCY_HISTOGRAM_BOUNDS_MS;
  for (let index = 0; index < bounds.length; index += 1)
    if (latencyMs <= (bounds[index] as number)) return index;
  return bounds.length;
}

/**
 * Estimates a latency percentile from a histogram over {@link LATENCY_HISTOGRAM_BOUNDS_MS}:
 * the nearest rank (`ceil(percent · n / 100)`, as `aggregateInvocations` ranks raw calls) is
 * found in its range, and its value interpolated linearly between the range's bounds, which are
 * first narrowed to the calls' known `minMs` and `maxMs`. Exact when every call of the range has
 * the same latency (e.g. min = max); otherwise off by at most the width of one range. `null` for
 * an empty histogram.
 *
 * @example
 * ```ts
 * const [bucket] = await storage.invocationHistory?.({ toolName: 'add', bucketMs: 3_600_000 }) ?? [];
 * const p95 = bucket && estimateLatencyPercentile(bucket.latencyHistogram, 95, bucket.latencyMinMs, bucket.latencyMaxMs);
 * ```
 */
export function estimateLatencyPercentile(
  histogram: readonly number[],
  percent: number,
  minMs: number,
  maxMs: number,
): number | null {
  let total = 0;
  for (const count of histogram) total += count;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((percent * total) / 100));
  let before = 0;
  for (let index = 0; index < histogram.length; index += 1) {
    const count = histogram[index] as number;
    if (count === 0 || before + count < rank) {
      before += count;
      continue;
    }
    const lowerBound = index === 0 ? 0 : (LATENCY_HISTOGRAM_BOUNDS_MS[index - 1] as number);
    const upperBound = LATENCY_HISTOGRAM_BOUNDS_MS[index] ?? maxMs;
    const lower = Math.min(Math.max(lowerBound, minMs), maxMs);
    const upper = Math.max(Math.min(upperBound, maxMs), lower);
    return lower + ((upper - lower) * (rank - before)) / count;
  }
  return maxMs;
}

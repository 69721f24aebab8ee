import { RECENT_ERRORS_LIMIT } from './aggregate-invocations.ts';
import { addAggregate, type BucketAggregate, emptyAggregate } from './history-buckets.ts';
import { estimateLatencyPercentile } from './latency-histogram.ts';
import type { HistoryBucket, WindowAggregate } from './records.ts';

/** The fields of a bucket {@link summarizeHistory} adds up. */
export type SummarizableBucket = Pick<
  HistoryBucket,
  | 'start'
  | 'calls'
  | 'successes'
  | 'latencySumMs'
  | 'latencyMinMs'
  | 'latencyMaxMs'
  | 'latencyHistogram'
  | 'errorCodes'
>;

/**
 * Adds history buckets (any versions, any times) up into one {@link WindowAggregate}, so they
 * can be scored like a window of calls: exact counts, mean, min and max; p50 and p95 estimated
 * from the latency histogram (`estimateLatencyPercentile`); `firstAt`/`lastAt` the starts of
 * the first and last bucket (bucket precision). `recentErrors` lists the error codes, the most
 * frequent first (at most `RECENT_ERRORS_LIMIT`): rollups keep codes, not messages.
 *
 * @example
 * ```ts
 * const buckets = (await storage.invocationHistory?.({ toolName: 'add', version: 2 })) ?? [];
 * const { invocations, successes, latencyMs } = summarizeHistory(buckets); // latencyMs?.p95 ≈
 * ```
 */
export function summarizeHistory(buckets: readonly SummarizableBucket[]): WindowAggregate {
  const total = emptyAggregate();
  let firstAt = Number.POSITIVE_INFINITY;
  let lastAt = Number.NEGATIVE_INFINITY;
  for (const bucket of buckets) {
    if (bucket.calls === 0) continue;
    addAggregate(total, bucket);
    firstAt = Math.min(firstAt, bucket.start);
    lastAt = Math.max(lastAt, bucket.start);
  }
  return aggregateOf(total, firstAt, lastAt);
}

/** A {@link WindowAggregate} of an aggregate whose calls started between `firstAt` and `lastAt`. */
export function aggregateOf(total: BucketAggregate, firstAt: number, lastAt: number): WindowAggregate {
  if (total.calls === 0)
    return { invocations: 0, successes: 0, latencyMs: null, recentErrors: [], firstAt: null, lastAt: null };
  const percentile = (percent: number) =>
    estimateLatencyPercentile(total.latencyHistogram, percent, total.latencyMinMs, total.latencyMaxMs) ??
    total.latencyMaxMs;
  return {
    invocations: total.calls,
    successes: total.successes,
    latencyMs: {
      avg: total.latencySumMs / total.calls,
      min: total.latencyMinMs,
      max: total.latencyMaxMs,
      p50: percentile(50),
      p95: percentile(95),
    },
    recentErrors: [...total.errorCodes]
      .sort(([codeA, countA], [codeB, countB]) => countB - countA || (codeA < codeB ? -1 : 1))
      .slice(0, RECENT_ERRORS_LIMIT)
      .map(([code]) => code),
    firstAt,
    lastAt,
  };
}

/**
 * Independent reference computations for tests: written from the definitions, not from the
 * library's code, so a test that compares the two can catch a wrong implementation.
 */

import type { HistoryBucket } from '../storage/records.ts';

/** Nearest-rank percentile by its definition: the smallest rank r with r / n ≥ percent / 100. */
export function nearestRank(values: readonly number[], percent: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  let rank = 1;
  while (rank * 100 < percent * sorted.length) rank += 1;
  return sorted[rank - 1] as number;
}

/** A small deterministic random number generator (an LCG) returning numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The fields {@link expectAggregateOf} needs of each record. */
export interface ReferenceInvocation {
  startedAt: number;
  latencyMs: number;
  success: boolean;
  errorMessage?: string | undefined;
}

/** What a window aggregate must say about `recordsNewestFirst`, computed from the definitions. */
export interface ReferenceAggregate {
  invocations: number;
  successes: number;
  latencyMs: { min: number; max: number; avg: number; p50: number; p95: number } | null;
  recentErrors: (string | undefined)[];
  firstAt: number | null;
  lastAt: number | null;
}

/** The aggregate of a window (newest record first), independently of the library's code. */
export function referenceAggregate(recordsNewestFirst: readonly ReferenceInvocation[]): ReferenceAggregate {
  const latencies = recordsNewestFirst.map((record) => record.latencyMs);
  const starts = recordsNewestFirst.map((record) => record.startedAt);
  const empty = recordsNewestFirst.length === 0;
  return {
    invocations: recordsNewestFirst.length,
    successes: recordsNewestFirst.filter((record) => record.success).length,
    latencyMs: empty
      ? null
      : {
          min: Math.min(...latencies),
          max: Math.max(...latencies),
          avg: latencies.reduce((sum, latency) => sum + latency, 0) / latencies.length,
          p50: nearestRank(latencies, 50),
          p95: nearestRank(latencies, 95),
        },
    recentErrors: recordsNewestFirst
      .filter((record) => !record.success)
      .slice(0, 5)
      .map((record) => record.errorMessage),
    firstAt: empty ? null : Math.min(...starts),
    lastAt: empty ? null : Math.max(...starts),
  };
}

/** The fields {@link referenceHistory} needs of each record. */
export interface ReferenceCall {
  version: number;
  startedAt: number;
  latencyMs: number;
  success: boolean;
  errorCode?: string;
}

/** A bucket of {@link referenceHistory}: the fields of `HistoryBucket` without `rolledUpCalls`. */
export type ReferenceBucket = Omit<HistoryBucket, 'rolledUpCalls'>;

/**
 * A tool's calls bucketed by definition: per version and per `floor(startedAt / bucketMs)`,
 * counts, latency sum/min/max, the histogram over `bounds` (entry i counts latencies above
 * bound i − 1 up to bound i, the last one those above every bound) and failures per error code
 * (`ERROR` without one); oldest bucket first, then by version.
 */
export function referenceHistory(
  calls: readonly ReferenceCall[],
  bucketMs: number,
  bounds: readonly number[],
): ReferenceBucket[] {
  const buckets = new Map<string, ReferenceBucket>();
  for (const call of calls) {
    const start = Math.floor(call.startedAt / bucketMs) * bucketMs;
    const key = `${call.version}@${start}`;
    let bucket = buckets.get(key);
    if (!bucket) {
      bucket = {
        version: call.version,
        start,
        widthMs: bucketMs,
        calls: 0,
        successes: 0,
        latencySumMs: 0,
        latencyMinMs: call.latencyMs,
        latencyMaxMs: call.latencyMs,
        latencyHistogram: new Array<number>(bounds.length + 1).fill(0),
        errorCodes: {},
      };
      buckets.set(key, bucket);
    }
    bucket.calls += 1;
    bucket.latencySumMs += call.latencyMs;
    bucket.latencyMinMs = Math.min(bucket.latencyMinMs, call.latencyMs);
    bucket.latencyMaxMs = Math.max(bucket.latencyMaxMs, call.latencyMs);
    const range = bounds.findIndex((bound) => call.latencyMs <= bound);
    const index = range === -1 ? bounds.length : range;
    bucket.latencyHistogram[index] = (bucket.latencyHistogram[index] as number) + 1;
    if (call.success) bucket.successes += 1;
    else {
      const code = call.errorCode === undefined || call.errorCode === '' ? 'ERROR' : call.errorCode;
      bucket.errorCodes[code] = (bucket.errorCodes[code] ?? 0) + 1;
    }
  }
  return [...buckets.values()].sort((a, b) => a.start - b.start || a.version - b.version);
}

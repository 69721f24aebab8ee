import type { InvocationRecord, WindowAggregate } from './records.ts';

/** How many error messages a {@link WindowAggregate} keeps in `recentErrors`. */
export const RECENT_ERRORS_LIMIT = 5;

/** What an app said about a call's answer (`agent.feedback`): it was wrong, or it was correct. */
export type CallFeedback = 'wrong' | 'correct';

/**
 * The fields of an invocation that {@link aggregateInvocations} reads, plus what a process knows
 * about a call beyond its stored row: its call id and the app's feedback on it (neither is
 * stored with the invocation; `aggregateInvocations` ignores both).
 */
export type AggregatableInvocation = Pick<
  InvocationRecord,
  'startedAt' | 'latencyMs' | 'success' | 'errorCode' | 'errorMessage'
> & {
  /** The call's id (`<toolName>@<version>:<uuid>`), when this process made the call. */
  callId?: string;
  /** The app's feedback on the call's answer, when it gave some (`agent.feedback`). */
  feedback?: CallFeedback;
};

/**
 * Aggregates a window of invocations given newest first (the order of
 * `StorageAdapter.recentInvocations`): counts, latency min/max/avg and nearest-rank p50/p95,
 * the messages of the most recent failures (newest first, at most {@link RECENT_ERRORS_LIMIT}),
 * and the window's time span. Pure; O(n log n) in the window size.
 *
 * Every adapter aggregates through this function, so all of them agree to the last digit,
 * and `PerformanceMemory` uses it to merge buffered records into a summary.
 *
 * A failure's entry in `recentErrors` is its `errorMessage`, else its `errorCode`, else
 * `'unknown error'`. Percentiles use the nearest-rank method: the value at index
 * `ceil(p · n) − 1` of the latencies sorted ascending.
 *
 * @example
 * ```ts
 * const window = await storage.recentInvocations({ toolName: 'add', version: 2, limit: 20 });
 * const { invocations, successes, latencyMs } = aggregateInvocations(window);
 * ```
 */
export function aggregateInvocations(recordsNewestFirst: readonly AggregatableInvocation[]): WindowAggregate {
  const count = recordsNewestFirst.length;
  if (count === 0) {
    return { invocations: 0, successes: 0, latencyMs: null, recentErrors: [], firstAt: null, lastAt: null };
  }
  // A typed array sorts numerically without a comparator, several times faster than Array#sort.
  const latencies = new Float64Array(count);
  const recentErrors: string[] = [];
  let successes = 0;
  let sum = 0;
  let firstAt = Number.POSITIVE_INFINITY;
  let lastAt = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < count; index += 1) {
    const record = recordsNewestFirst[index] as AggregatableInvocation;
    latencies[index] = record.latencyMs;
    sum += record.latencyMs;
    if (record.startedAt < firstAt) firstAt = record.startedAt;
    if (record.startedAt > lastAt) lastAt = record.startedAt;
    if (record.success) successes += 1;
    else if (recentErrors.length < RECENT_ERRORS_LIMIT) recentErrors.push(errorText(record));
  }
  latencies.sort();
  return {
    invocations: count,
    successes,
    latencyMs: {
      avg: sum / count,
      min: latencies[0] as number,
      max: latencies[count - 1] as number,
      p50: nearestRank(latencies, 50),
      p95: nearestRank(latencies, 95),
    },
    recentErrors,
    firstAt,
    lastAt,
  };
}

/**
 * The nearest-rank percentile of a non-empty ascending list. `percent` is an integer so that
 * `ceil(percent · n / 100)` is computed exactly (0.95 · n in floating point can land just
 * above an integer and pick the next rank).
 */
function nearestRank(sortedAscending: Float64Array, percent: number): number {
  const rank = Math.max(1, Math.ceil((percent * sortedAscending.length) / 100));
  return sortedAscending[rank - 1] as number;
}

function errorText(record: AggregatableInvocation): string {
  if (record.errorMessage) return record.errorMessage;
  if (record.errorCode) return record.errorCode;
  return 'unknown error';
}

import { partitionPoint } from '../core/partition-point.ts';
import { addCall, type BucketAggregate, emptyAggregate } from '../storage/history-buckets.ts';
import { LATENCY_HISTOGRAM_SIZE } from '../storage/latency-histogram.ts';
import type { HistoryBucket, StoredInvocation } from '../storage/records.ts';

/** One entry of a tool's timeline: a call that was read, or history calls that were not. */
export type TimelineEntry =
  | { readonly kind: 'call'; readonly at: number; readonly call: StoredInvocation }
  | {
      readonly kind: 'history';
      /** Start of the bucket the calls started in. */
      readonly at: number;
      readonly version: number;
      readonly aggregate: BucketAggregate;
    };

/** A tool's calls in order: {@link TimelineEntry}s, and where each sits on the call-order axis. */
export interface Timeline {
  /** Oldest first; history before calls that started at the same time. */
  readonly entries: readonly TimelineEntry[];
  /** Calls known from history only (every entry of kind `history`, added up). */
  readonly historyCalls: number;
  /** Calls of the timeline that started before `at` (a position on the call-order axis). */
  callsBefore(at: number): number;
  /** Position on the axis right after the call read at index `index` (oldest first, from 0). */
  afterCallRead(index: number): number;
  /** Whether history calls started strictly between two times (a pause that was not idle). */
  historyBetween(from: number, to: number): boolean;
}

/**
 * Merges the calls read (oldest first) with a tool's history buckets into one timeline: each
 * bucket contributes what it counts beyond the calls read of its version that started inside it
 * (rows pruned into rollups, and stored rows older than those read). Its min and max stay the
 * bucket's own, a bound on the calls left. Without buckets the timeline is the calls read.
 */
export function historyTimeline(
  callsOldestFirst: readonly StoredInvocation[],
  buckets: readonly HistoryBucket[],
): Timeline {
  const remainders = buckets.map((bucket) => ({ bucket, read: emptyAggregate() }));
  const byVersion = new Map<number, typeof remainders>();
  for (const remainder of remainders) {
    let list = byVersion.get(remainder.bucket.version);
    if (!list) {
      list = [];
      byVersion.set(remainder.bucket.version, list);
    }
    list.push(remainder);
  }
  for (const call of callsOldestFirst) {
    const list = byVersion.get(call.version);
    const holder = list && containing(list, call.startedAt);
    if (holder) addCall(holder.read, call);
  }
  const entries: TimelineEntry[] = [];
  let historyCalls = 0;
  for (const { bucket, read } of remainders) {
    const calls = bucket.calls - read.calls;
    if (calls <= 0) continue;
    const histogram = new Array<number>(LATENCY_HISTOGRAM_SIZE);
    for (let index = 0; index < LATENCY_HISTOGRAM_SIZE; index += 1)
      histogram[index] = Math.max(
        0,
        (bucket.latencyHistogram[index] ?? 0) - (read.latencyHistogram[index] ?? 0),
      );
    const errorCodes = new Map<string, number>();
    for (const [code, count] of Object.entries(bucket.errorCodes)) {
      const left = count - (read.errorCodes.get(code) ?? 0);
      if (left > 0) errorCodes.set(code, left);
    }
    entries.push({
      kind: 'history',
      at: bucket.start,
      version: bucket.version,
      aggregate: {
        calls,
        successes: Math.max(0, bucket.successes - read.successes),
        latencySumMs: Math.max(0, bucket.latencySumMs - read.latencySumMs),
        latencyMinMs: bucket.latencyMinMs,
        latencyMaxMs: bucket.latencyMaxMs,
        latencyHistogram: histogram,
        errorCodes,
      },
    });
    historyCalls += calls;
  }
  const historyTimes = entries.map((entry) => entry.at).sort((a, b) => a - b);
  for (const call of callsOldestFirst) entries.push({ kind: 'call', at: call.startedAt, call });
  // Stable: calls keep their order; history goes first at equal times.
  entries.sort((a, b) => a.at - b.at || (a.kind === b.kind ? 0 : a.kind === 'history' ? -1 : 1));

  const times = entries.map((entry) => entry.at);
  const cumulative: number[] = [];
  const afterRead: number[] = [];
  let position = 0;
  for (const entry of entries) {
    position += entry.kind === 'call' ? 1 : entry.aggregate.calls;
    cumulative.push(position);
    if (entry.kind === 'call') afterRead.push(position);
  }
  return {
    entries,
    historyCalls,
    callsBefore(at) {
      const index = partitionPoint(times.length, (position) => (times[position] as number) < at);
      return index === 0 ? 0 : (cumulative[index - 1] as number);
    },
    afterCallRead: (index) => afterRead[index] ?? position,
    historyBetween(from, to) {
      const next =
        historyTimes[partitionPoint(historyTimes.length, (index) => (historyTimes[index] as number) <= from)];
      return next !== undefined && next < to;
    },
  };
}

/** The bucket of a version's list (by start, disjoint) holding a call that started at `time`. */
function containing<T extends { bucket: HistoryBucket }>(list: readonly T[], time: number): T | undefined {
  const candidate = list[partitionPoint(list.length, (index) => (list[index] as T).bucket.start <= time) - 1];
  return candidate && time < candidate.bucket.start + candidate.bucket.widthMs ? candidate : undefined;
}

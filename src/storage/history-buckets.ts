import { partitionPoint } from '../core/partition-point.ts';
import { LATENCY_HISTOGRAM_SIZE, latencyHistogramIndex } from './latency-histogram.ts';
import type { HistoryBucket, HistoryQuery, InvocationRecord } from './records.ts';
import { bucketStart, MINUTE_MS } from './rollup-tiers.ts';

/**
 * The shared half of `invocationHistory`: every adapter reads its rollups and its stored rows
 * (aggregated per minute) as {@link SourceBucket}s, and {@link mergeHistory} puts them on the
 * query's grid, so all adapters answer alike.
 */

/** Counts, latency and errors of a set of calls, in the form adapters add up. */
export interface BucketAggregate {
  calls: number;
  successes: number;
  latencySumMs: number;
  latencyMinMs: number;
  latencyMaxMs: number;
  /** Calls per range of `LATENCY_HISTOGRAM_BOUNDS_MS` (`LATENCY_HISTOGRAM_SIZE` entries). */
  latencyHistogram: number[];
  /** Failures per error code (a Map: a code is any string, `__proto__` included). */
  errorCodes: Map<string, number>;
}

/** The calls of one version in one bucket as an adapter reads them: a rollup, or rows of a minute. */
export interface SourceBucket extends BucketAggregate {
  version: number;
  /** Start, epoch ms, a multiple of `widthMs`. */
  start: number;
  widthMs: number;
  /** From a rollup (the rows were pruned) rather than stored rows. */
  rolledUp: boolean;
}

/** A query's grid and range, defaults applied: buckets whose start is in [from, to). */
export interface HistoryRange {
  readonly bucketMs: number;
  /** `since` rounded down to the grid; `-Infinity` without it. */
  readonly from: number;
  /** `until` rounded up to the grid; `Infinity` without it. */
  readonly to: number;
}

/** The error code a failure is counted under: its own, or `ERROR` when it has none. */
export function errorCodeOf(code: string | null | undefined): string {
  return code === undefined || code === null || code === '' ? 'ERROR' : code;
}

/** An aggregate of no calls. */
export function emptyAggregate(): BucketAggregate {
  return {
    calls: 0,
    successes: 0,
    latencySumMs: 0,
    latencyMinMs: Number.POSITIVE_INFINITY,
    latencyMaxMs: Number.NEGATIVE_INFINITY,
    latencyHistogram: new Array<number>(LATENCY_HISTOGRAM_SIZE).fill(0),
    errorCodes: new Map(),
  };
}

/** Adds one call to `target`. */
export function addCall(
  target: BucketAggregate,
  call: Pick<InvocationRecord, 'latencyMs' | 'success' | 'errorCode'>,
): void {
  target.calls += 1;
  if (call.success) target.successes += 1;
  else {
    const code = errorCodeOf(call.errorCode);
    target.errorCodes.set(code, (target.errorCodes.get(code) ?? 0) + 1);
  }
  target.latencySumMs += call.latencyMs;
  if (call.latencyMs < target.latencyMinMs) target.latencyMinMs = call.latencyMs;
  if (call.latencyMs > target.latencyMaxMs) target.latencyMaxMs = call.latencyMs;
  const index = latencyHistogramIndex(call.latencyMs);
  target.latencyHistogram[index] = (target.latencyHistogram[index] as number) + 1;
}

/** Adds every call of `source` to `target`. */
export function addAggregate(
  target: BucketAggregate,
  source: Omit<BucketAggregate, 'errorCodes'> & {
    /** A Map, or a `HistoryBucket`'s record of codes. */
    readonly errorCodes: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  },
): void {
  target.calls += source.calls;
  target.successes += source.successes;
  target.latencySumMs += source.latencySumMs;
  if (source.latencyMinMs < target.latencyMinMs) target.latencyMinMs = source.latencyMinMs;
  if (source.latencyMaxMs > target.latencyMaxMs) target.latencyMaxMs = source.latencyMaxMs;
  for (let index = 0; index < LATENCY_HISTOGRAM_SIZE; index += 1)
    target.latencyHistogram[index] =
      (target.latencyHistogram[index] as number) + (source.latencyHistogram[index] ?? 0);
  const codes = source.errorCodes instanceof Map ? source.errorCodes : Object.entries(source.errorCodes);
  for (const [code, count] of codes) target.errorCodes.set(code, (target.errorCodes.get(code) ?? 0) + count);
}

/**
 * What a row of the SQL adapters' history statement holds, in its `kind` column: a rollup's
 * aggregates, a rollup's failures of one error code, the aggregates of stored rows of one
 * (version, minute), or their failures of one code.
 */
export const HISTORY_ROW_KINDS = {
  rollup: 'r',
  rollupErrors: 'x',
  rows: 's',
  rowErrors: 'e',
} as const;

/**
 * Source buckets from the rows of a SQL history statement. Columns: `kind`, `version`,
 * `width_ms`, `bucket_start`, then for aggregates `calls`, `successes`, `latency_sum`,
 * `latency_min`, `latency_max`, `h0`…, and for failures `error_code`, `failures` (numbers may
 * come as numeric strings, as PostgreSQL sends bigints).
 */
export function sourcesFromRows(rows: Iterable<Record<string, unknown>>): SourceBucket[] {
  const buckets = new Map<string, SourceBucket>();
  const failures: Record<string, unknown>[] = [];
  const keyOf = (row: Record<string, unknown>, rolledUp: boolean) =>
    `${rolledUp}/${row.version}/${Number(row.width_ms)}/${Number(row.bucket_start)}`;
  for (const row of rows) {
    if (row.kind === HISTORY_ROW_KINDS.rollupErrors || row.kind === HISTORY_ROW_KINDS.rowErrors) {
      failures.push(row);
      continue;
    }
    const rolledUp = row.kind === HISTORY_ROW_KINDS.rollup;
    const histogram = new Array<number>(LATENCY_HISTOGRAM_SIZE);
    for (let index = 0; index < LATENCY_HISTOGRAM_SIZE; index += 1)
      histogram[index] = Number(row[`h${index}`]);
    buckets.set(keyOf(row, rolledUp), {
      version: Number(row.version),
      start: Number(row.bucket_start),
      widthMs: Number(row.width_ms),
      rolledUp,
      calls: Number(row.calls),
      successes: Number(row.successes),
      latencySumMs: Number(row.latency_sum),
      latencyMinMs: Number(row.latency_min),
      latencyMaxMs: Number(row.latency_max),
      latencyHistogram: histogram,
      errorCodes: new Map(),
    });
  }
  for (const row of failures) {
    const bucket = buckets.get(keyOf(row, row.kind === HISTORY_ROW_KINDS.rollupErrors));
    bucket?.errorCodes.set(String(row.error_code), Number(row.failures));
  }
  return [...buckets.values()];
}

/** The grid and range of a (checked) query. */
export function historyRange(query: HistoryQuery): HistoryRange {
  const bucketMs = query.bucketMs ?? MINUTE_MS;
  return {
    bucketMs,
    from: query.since === undefined ? Number.NEGATIVE_INFINITY : bucketStart(query.since, bucketMs),
    to: query.until === undefined ? Number.POSITIVE_INFINITY : Math.ceil(query.until / bucketMs) * bucketMs,
  };
}

interface Target extends BucketAggregate {
  readonly version: number;
  readonly start: number;
  readonly widthMs: number;
  rolledUpCalls: number;
}

/**
 * Puts source buckets on a grid of `bucketMs`: each source goes into the grid bucket that holds
 * it, except a source the grid cannot hold (wider than `bucketMs`, or across a grid line), which
 * stays a bucket of its own width and takes in every narrower source of its version that starts
 * inside it. Oldest first, then by version.
 */
export function mergeHistory(sources: Iterable<SourceBucket>, bucketMs: number): HistoryBucket[] {
  const byVersion = new Map<number, { coarse: SourceBucket[]; fine: SourceBucket[] }>();
  for (const source of sources) {
    if (source.calls === 0) continue;
    let group = byVersion.get(source.version);
    if (!group) {
      group = { coarse: [], fine: [] };
      byVersion.set(source.version, group);
    }
    const fits =
      source.widthMs <= bucketMs &&
      bucketStart(source.start, bucketMs) === bucketStart(source.start + source.widthMs - 1, bucketMs);
    (fits ? group.fine : group.coarse).push(source);
  }
  const buckets: Target[] = [];
  for (const [version, { coarse, fine }] of byVersion) {
    // Widest first, so a narrower coarse rollup inside a wider one (left by a clock that went
    // back between two prunes) is taken in by it.
    coarse.sort((a, b) => b.widthMs - a.widthMs || a.start - b.start);
    const own: Target[] = []; // by start, disjoint
    for (const source of coarse) {
      const into = containing(own, source.start);
      if (into) add(into, source);
      else {
        const target = newTarget(version, source.start, source.widthMs);
        add(target, source);
        own.splice(insertionPoint(own, source.start), 0, target);
      }
    }
    const grid = new Map<number, Target>();
    for (const source of fine) {
      const inside = containing(own, source.start);
      if (inside) {
        add(inside, source);
        continue;
      }
      const start = bucketStart(source.start, bucketMs);
      let target = grid.get(start);
      if (!target) {
        target = newTarget(version, start, bucketMs);
        grid.set(start, target);
      }
      add(target, source);
    }
    buckets.push(...own, ...grid.values());
  }
  buckets.sort((a, b) => a.start - b.start || a.version - b.version);
  return buckets.map(toHistoryBucket);
}

function newTarget(version: number, start: number, widthMs: number): Target {
  return { version, start, widthMs, rolledUpCalls: 0, ...emptyAggregate() };
}

function add(target: Target, source: SourceBucket): void {
  addAggregate(target, source);
  if (source.rolledUp) target.rolledUpCalls += source.calls;
}

function contains(target: Target, time: number): boolean {
  return time >= target.start && time < target.start + target.widthMs;
}

/** Index of the first bucket of `sorted` (by start) that starts after `time`. */
function insertionPoint(sorted: readonly Target[], time: number): number {
  return partitionPoint(sorted.length, (index) => (sorted[index] as Target).start <= time);
}

/** The bucket of `sorted` (by start, disjoint) that contains `time`. */
function containing(sorted: readonly Target[], time: number): Target | undefined {
  const candidate = sorted[insertionPoint(sorted, time) - 1];
  return candidate && contains(candidate, time) ? candidate : undefined;
}

function toHistoryBucket(target: Target): HistoryBucket {
  return {
    version: target.version,
    start: target.start,
    widthMs: target.widthMs,
    calls: target.calls,
    successes: target.successes,
    latencySumMs: target.latencySumMs,
    latencyMinMs: target.latencyMinMs,
    latencyMaxMs: target.latencyMaxMs,
    latencyHistogram: [...target.latencyHistogram],
    // fromEntries defines own properties, so even a code named `__proto__` is a plain key.
    errorCodes: Object.fromEntries([...target.errorCodes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    rolledUpCalls: target.rolledUpCalls,
  };
}

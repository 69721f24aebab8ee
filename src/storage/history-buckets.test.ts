import { describe, expect, it } from 'vitest';
import { addCall, emptyAggregate, historyRange, mergeHistory, type SourceBucket } from './history-buckets.ts';

const HOUR = 3_600_000;
const DAY = 86_400_000;

function source(
  version: number,
  start: number,
  widthMs: number,
  latencies: readonly number[],
  rolledUp = true,
): SourceBucket {
  const bucket: SourceBucket = { version, start, widthMs, rolledUp, ...emptyAggregate() };
  for (const latencyMs of latencies)
    addCall(bucket, { latencyMs, success: latencyMs < 100, errorCode: 'SLOW' });
  return bucket;
}

const shape = (buckets: ReturnType<typeof mergeHistory>) =>
  buckets.map(({ version, start, widthMs, calls, rolledUpCalls }) => [
    version,
    start,
    widthMs,
    calls,
    rolledUpCalls,
  ]);

describe('mergeHistory', () => {
  it('adds sources up on the grid, per version, oldest first', () => {
    const merged = mergeHistory(
      [
        source(2, 120_000, 60_000, [5]),
        source(1, 60_000, 60_000, [1, 2]),
        source(1, 120_000, 60_000, [300], false),
        source(1, 600_000, 60_000, []),
      ],
      300_000,
    );
    expect(shape(merged)).toEqual([
      [1, 0, 300_000, 3, 2],
      [2, 0, 300_000, 1, 1],
    ]);
    expect(merged[0]).toMatchObject({
      successes: 2,
      latencySumMs: 303,
      latencyMinMs: 1,
      latencyMaxMs: 300,
      errorCodes: { SLOW: 1 },
    });
    expect(merged[0]?.latencyHistogram.slice(0, 9)).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 1]);
  });

  it('keeps a rollup coarser than the grid at its own width, taking in what starts inside it', () => {
    const merged = mergeHistory(
      [
        source(1, 10 * HOUR, HOUR, [1, 1]),
        // Stored rows of a minute inside that hour, and one after it.
        source(1, 10 * HOUR + 5 * 60_000, 60_000, [1], false),
        source(1, 11 * HOUR, 60_000, [1], false),
        // A day rollup, and an hour inside it left by a clock that went back between two prunes.
        source(1, DAY, DAY, [1]),
        source(1, DAY + HOUR, HOUR, [1]),
      ],
      60_000,
    );
    expect(shape(merged)).toEqual([
      [1, 10 * HOUR, HOUR, 3, 2],
      [1, 11 * HOUR, 60_000, 1, 0],
      [1, DAY, DAY, 2, 2],
    ]);
    // On a grid that holds them, the same sources simply add up.
    expect(
      shape(
        mergeHistory(
          [source(1, 10 * HOUR, HOUR, [1]), source(1, 10 * HOUR + 60_000, 60_000, [1], false)],
          DAY,
        ),
      ),
    ).toEqual([[1, 0, DAY, 2, 1]]);
  });

  it('keeps a rollup across a grid line at its own width (a grid that does not divide an hour)', () => {
    const seven = 7 * 60_000;
    const merged = mergeHistory(
      [source(1, HOUR, HOUR, [1]), source(1, 2 * HOUR + 60_000, 60_000, [1], false)],
      seven,
    );
    expect(shape(merged)).toEqual([
      [1, HOUR, HOUR, 1, 1],
      // 2:01 falls in the grid bucket 1:58–2:05, which starts inside the hour rollup.
      [1, Math.floor((2 * HOUR + 60_000) / seven) * seven, seven, 1, 0],
    ]);
  });

  it('returns error codes as plain keys, any string included', () => {
    const bucket = source(1, 0, 60_000, []);
    addCall(bucket, { latencyMs: 1, success: false, errorCode: '__proto__' });
    addCall(bucket, { latencyMs: 1, success: false });
    const [merged] = mergeHistory([bucket], 60_000);
    expect(Object.keys(merged?.errorCodes ?? {})).toEqual(['ERROR', '__proto__']);
    expect(JSON.parse(JSON.stringify(merged?.errorCodes))).toEqual({ ERROR: 1, ['__proto__']: 1 });
  });

  it('widens a query range to whole buckets', () => {
    expect(historyRange({ toolName: 't' })).toEqual({ bucketMs: 60_000, from: -Infinity, to: Infinity });
    expect(historyRange({ toolName: 't', since: 90_000, until: 90_001, bucketMs: 60_000 })).toEqual({
      bucketMs: 60_000,
      from: 60_000,
      to: 120_000,
    });
    expect(historyRange({ toolName: 't', since: -1, until: HOUR, bucketMs: HOUR })).toEqual({
      bucketMs: HOUR,
      from: -HOUR,
      to: HOUR,
    });
  });
});

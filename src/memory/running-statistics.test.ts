import { describe, expect, it } from 'vitest';
import type { InvocationRecord } from '../storage/records.ts';
import { seededRandom } from '../testing/reference-math.ts';
import { MAX_ERROR_CODES, RunningStatistics } from './running-statistics.ts';

function call(startedAt: number, overrides: Partial<InvocationRecord> = {}): InvocationRecord {
  return {
    toolName: 'fetch_rate',
    version: 1,
    startedAt,
    latencyMs: 10,
    success: true,
    inputHash: `h${startedAt}`,
    ...overrides,
  };
}

/** The window newest first, as `[startedAt, inputHash]` pairs (the hash tells equal start times apart). */
function windowOf(statistics: RunningStatistics): Array<[number, string]> {
  const size = statistics.snapshot().recent.length;
  return (statistics.newest(size, undefined) ?? []).map((record) => [record.startedAt, record.inputHash]);
}

describe('RunningStatistics', () => {
  it('counts calls, successes, failures by code, latency totals and the time span', () => {
    const statistics = new RunningStatistics('fetch_rate', 1, 100, 5);
    statistics.add(call(300, { latencyMs: 4 }));
    statistics.add(call(100, { latencyMs: 2, success: false, errorCode: 'TIMEOUT', errorMessage: 'slow' }));
    statistics.add(call(200, { latencyMs: 6, success: false, errorCode: 'TIMEOUT' }));
    statistics.add(call(400, { latencyMs: 8, success: false })); // no code: ERROR
    statistics.add(call(500, { latencyMs: 0, success: false, errorCode: '' })); // empty code: ERROR
    const snapshot = statistics.snapshot();
    expect(snapshot).toMatchObject({
      toolName: 'fetch_rate',
      version: 1,
      trackedSince: 5,
      calls: 5,
      successes: 1,
      failures: 4,
      errorCodes: { TIMEOUT: 2, ERROR: 2 },
      firstCallAt: 100,
      lastCallAt: 500,
      seeded: false,
    });
    expect(snapshot.latencyMs).toEqual({ count: 5, sum: 20, sumOfSquares: 120, min: 0, max: 8, mean: 4 });
    // Newest first by start time, with the fields decisions read.
    expect(snapshot.recent.map((entry) => entry.startedAt)).toEqual([500, 400, 300, 200, 100]);
    expect(snapshot.recent[4]).toEqual({
      startedAt: 100,
      latencyMs: 2,
      success: false,
      errorCode: 'TIMEOUT',
      errorMessage: 'slow',
    });
    expect(
      Object.isFrozen(snapshot) && Object.isFrozen(snapshot.recent) && Object.isFrozen(snapshot.recent[0]),
    ).toBe(true);
  });

  it('reports an empty version without numbers', () => {
    const snapshot = new RunningStatistics('t', 2, 100, 7).snapshot();
    expect(snapshot).toMatchObject({ calls: 0, latencyMs: null, firstCallAt: null, lastCallAt: null });
    expect(snapshot.recent).toEqual([]);
    expect(snapshot.errorCodes).toEqual({});
  });

  it(`keeps at most ${MAX_ERROR_CODES} distinct error codes and counts the rest as OTHER`, () => {
    const statistics = new RunningStatistics('t', 1, 10, 0);
    for (let index = 0; index < MAX_ERROR_CODES + 5; index += 1) {
      statistics.add(call(index, { success: false, errorCode: `CODE_${index}` }));
    }
    statistics.add(call(100, { success: false, errorCode: 'CODE_0' })); // a kept code still counts
    const { errorCodes, failures } = statistics.snapshot();
    expect(Object.keys(errorCodes)).toHaveLength(MAX_ERROR_CODES + 1);
    expect(errorCodes.OTHER).toBe(5);
    expect(errorCodes.CODE_0).toBe(2);
    expect(Object.values(errorCodes).reduce((sum, count) => sum + count, 0)).toBe(failures);
  });

  it('keeps the newest `capacity` calls by start time, then arrival, whatever order they arrive in', () => {
    const capacity = 5;
    const statistics = new RunningStatistics('t', 1, capacity, 0);
    // A reference: every call sorted the way storage orders them, (startedAt, arrival) ascending.
    const all: InvocationRecord[] = [];
    const starts = [10, 20, 30, 25, 40, 40, 5, 50, 45, 45, 60, 12, 60, 70, 65, 80, 80, 80, 1, 79];
    starts.forEach((startedAt, arrival) => {
      const record = call(startedAt, { inputHash: `arrival ${arrival}` });
      statistics.add(record);
      all.push(record);
      const expected = [...all]
        .map((entry, index) => ({ entry, index }))
        .sort((a, b) => a.entry.startedAt - b.entry.startedAt || a.index - b.index)
        .map(({ entry }) => [entry.startedAt, entry.inputHash] as [number, string])
        .reverse()
        .slice(0, capacity);
      expect(windowOf(statistics)).toEqual(expected);
    });
    expect(statistics.snapshot().recent).toHaveLength(capacity);
    expect(statistics.snapshot().calls).toBe(starts.length); // the counters keep everything
  });

  it('matches a sorted reference over random arrivals, removals and ties', () => {
    const random = seededRandom(7);
    const answers = { asked: 0, given: 0 };
    for (const capacity of [1, 2, 7, 32]) {
      const statistics = new RunningStatistics('t', 1, capacity, 0);
      let reference: InvocationRecord[] = []; // every live record, (startedAt, arrival) ascending
      let clock = 1_000;
      for (let step = 0; step < 1_000; step += 1) {
        if (random() < 0.1 && reference.length > 0) {
          // A buffered record dropped: gone from storage and from the window alike.
          const victim = reference[Math.floor(random() * reference.length)] as InvocationRecord;
          statistics.remove(victim);
          reference = reference.filter((record) => record !== victim);
        } else {
          clock += Math.floor(random() * 3);
          // Mostly in order; some calls started a while before calls that finished first.
          const startedAt = random() < 0.3 ? clock - Math.floor(random() * 20) : clock;
          const record = call(startedAt, { inputHash: `step ${step}` });
          statistics.add(record);
          const at = reference.findLastIndex((entry) => entry.startedAt <= startedAt) + 1;
          reference.splice(at, 0, record);
        }
        // Whatever the window answers is the true answer; and it answers most reads it can.
        const limit = 1 + Math.floor(random() * (capacity + 2));
        const since = random() < 0.3 ? clock - Math.floor(random() * 30) : undefined;
        const answer = statistics.newest(limit, since);
        answers.asked += 1;
        if (answer === undefined) continue;
        answers.given += 1;
        const truth = reference
          .filter((record) => since === undefined || record.startedAt >= since)
          .slice(-limit)
          .reverse();
        expect(answer.map((record) => record.inputHash)).toEqual(truth.map((record) => record.inputHash));
      }
    }
    expect(answers.given).toBeGreaterThan(answers.asked / 2);
  });

  it('answers a read only when the window holds the whole answer', () => {
    const statistics = new RunningStatistics('t', 1, 3, 0);
    statistics.seed([], true); // nothing stored
    for (const startedAt of [10, 20, 30]) statistics.add(call(startedAt));
    // Complete: every call of the version is in the window, so any limit is exact.
    expect(statistics.newest(10, undefined)?.map((record) => record.startedAt)).toEqual([30, 20, 10]);
    statistics.add(call(40)); // evicts 10: no longer complete
    expect(statistics.newest(3, undefined)?.map((record) => record.startedAt)).toEqual([40, 30, 20]);
    expect(statistics.newest(2, undefined)?.map((record) => record.startedAt)).toEqual([40, 30]);
    expect(statistics.newest(4, undefined)).toBeUndefined();
    // `since` at or before the evicted call's start: it could match.
    expect(statistics.newest(10, 10)).toBeUndefined();
    // `since` after it: everything outside the window started before `since`.
    expect(statistics.newest(10, 11)?.map((record) => record.startedAt)).toEqual([40, 30, 20]);
    expect(statistics.newest(10, 21)?.map((record) => record.startedAt)).toEqual([40, 30]);
    // A late call that started before the evicted one stays out: the window would not be the
    // newest calls any more.
    statistics.add(call(5));
    expect(statistics.newest(3, undefined)?.map((record) => record.startedAt)).toEqual([40, 30, 20]);
  });

  it('is incomplete after a seed that filled the window, complete after one that did not', () => {
    const full = new RunningStatistics('t', 1, 2, 0);
    full.seed([call(30), call(20), call(10)], false);
    expect(full.newest(2, undefined)?.map((record) => record.startedAt)).toEqual([30, 20]);
    expect(full.newest(3, undefined)).toBeUndefined();
    const partial = new RunningStatistics('t', 1, 5, 0);
    partial.seed([call(20), call(10)], true);
    expect(partial.newest(100, undefined)?.map((record) => record.startedAt)).toEqual([20, 10]);
    expect(partial.seeded).toBe(true);
  });

  it('removes a record by identity and drops calls that started before a time', () => {
    const statistics = new RunningStatistics('t', 1, 4, 0);
    const records = [10, 20, 30, 40, 50, 60].map((startedAt) => call(startedAt));
    for (const record of records) statistics.add(record); // the ring has wrapped: 30..60
    expect(statistics.remove(records[0] as InvocationRecord)).toBe(false); // evicted already
    expect(statistics.remove(records[3] as InvocationRecord)).toBe(true);
    expect(windowOf(statistics).map(([startedAt]) => startedAt)).toEqual([60, 50, 30]);
    statistics.add(call(55));
    expect(windowOf(statistics).map(([startedAt]) => startedAt)).toEqual([60, 55, 50, 30]);
    const kept = records[2] as InvocationRecord; // still buffered: a prune could not delete it
    statistics.dropBefore(56, new Set([kept]));
    expect(windowOf(statistics).map(([startedAt]) => startedAt)).toEqual([60, 30]);
  });

  it('keeps no window with capacity 0 but still counts', () => {
    const statistics = new RunningStatistics('t', 1, 0, 0);
    statistics.add(call(10));
    expect(statistics.snapshot()).toMatchObject({ calls: 1, recent: [] });
  });
});

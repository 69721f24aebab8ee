import type { WindowAggregate } from '../storage/records.ts';
import { type ReferenceInvocation, referenceAggregate } from './reference-math.ts';
import { vitestApi } from './vitest-api.ts';

/**
 * Asserts that `actual` is the aggregate of `recordsNewestFirst` as {@link referenceAggregate}
 * computes it: exact counts, extremes, percentiles, errors and times; the average to
 * `avgDigits` decimal digits (sums in another order round differently).
 */
export function expectAggregateOf(
  actual: Pick<
    WindowAggregate,
    'invocations' | 'successes' | 'latencyMs' | 'recentErrors' | 'firstAt' | 'lastAt'
  >,
  recordsNewestFirst: readonly ReferenceInvocation[],
  avgDigits = 6,
): void {
  const { expect } = vitestApi('expectAggregateOf');
  const expected = referenceAggregate(recordsNewestFirst);
  const { latencyMs, invocations, successes, recentErrors, firstAt, lastAt } = actual;
  const { latencyMs: expectedLatency, ...expectedRest } = expected;
  expect({ invocations, successes, recentErrors: [...recentErrors], firstAt, lastAt }).toEqual(expectedRest);
  if (expectedLatency === null) {
    expect(latencyMs).toBeNull();
    return;
  }
  const { avg, ...exact } = expectedLatency;
  expect({ ...latencyMs, avg: undefined }).toEqual({ ...exact, avg: undefined });
  expect(latencyMs?.avg).toBeCloseTo(avg, avgDigits);
}

import { describe, expect, it } from 'vitest';
import { expectAggregateOf } from '../testing/expect-aggregate.ts';
import { seededRandom } from '../testing/reference-math.ts';
import { type AggregatableInvocation, aggregateInvocations } from './aggregate-invocations.ts';

describe('aggregateInvocations', () => {
  it('returns an empty aggregate for an empty window', () => {
    expect(aggregateInvocations([])).toEqual({
      invocations: 0,
      successes: 0,
      latencyMs: null,
      recentErrors: [],
      firstAt: null,
      lastAt: null,
    });
  });

  it('aggregates a small window exactly', () => {
    const window: AggregatableInvocation[] = [
      { startedAt: 50, latencyMs: 5, success: false, errorMessage: 'newest failure' },
      { startedAt: 40, latencyMs: 1, success: true },
      { startedAt: 30, latencyMs: 4, success: false, errorCode: 'TIMEOUT' },
      { startedAt: 20, latencyMs: 2, success: true },
      { startedAt: 10, latencyMs: 3, success: false },
    ];
    expect(aggregateInvocations(window)).toEqual({
      invocations: 5,
      successes: 2,
      latencyMs: { avg: 3, min: 1, max: 5, p50: 3, p95: 5 },
      recentErrors: ['newest failure', 'TIMEOUT', 'unknown error'],
      firstAt: 10,
      lastAt: 50,
    });
  });

  it('uses nearest rank at the boundaries: n = 1, 2, 20 and 100', () => {
    const of = (latencies: number[]) =>
      aggregateInvocations(
        latencies.map((latencyMs, index) => ({ startedAt: -index, latencyMs, success: true })),
      ).latencyMs;
    expect(of([7])).toEqual({ avg: 7, min: 7, max: 7, p50: 7, p95: 7 });
    // ceil(0.5 · 2) = 1 → the lower of two values; ceil(0.95 · 2) = 2 → the higher.
    expect(of([9, 1])).toMatchObject({ p50: 1, p95: 9 });
    const twenty = Array.from({ length: 20 }, (_, index) => 20 - index); // 20..1
    expect(of(twenty)).toMatchObject({ p50: 10, p95: 19, min: 1, max: 20 });
    const hundred = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(of(hundred)).toMatchObject({ p50: 50, p95: 95 });
  });

  it('keeps the five most recent error messages, newest first', () => {
    const window = Array.from({ length: 12 }, (_, index) => ({
      startedAt: 100 - index,
      latencyMs: 1,
      success: index % 2 === 1,
      errorMessage: `error ${index}`,
    }));
    expect(aggregateInvocations(window).recentErrors).toEqual([
      'error 0',
      'error 2',
      'error 4',
      'error 6',
      'error 8',
    ]);
  });

  it('matches an independent computation on random windows', () => {
    const random = seededRandom(42);
    for (let round = 0; round < 200; round += 1) {
      const size = 1 + Math.floor(random() * 300);
      const window = Array.from({ length: size }, (_, index) => ({
        startedAt: 1_000_000 - index * Math.floor(random() * 3),
        latencyMs: Math.round(random() * 10_000) / 10,
        success: random() < 0.7,
        errorMessage: `failure ${index}`,
      }));
      expectAggregateOf(aggregateInvocations(window), window, 9);
    }
  });
});

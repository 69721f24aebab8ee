import { describe, expect, it } from 'vitest';
import { nearestRank } from '../testing/reference-math.ts';
import {
  estimateLatencyPercentile,
  LATENCY_HISTOGRAM_BOUNDS_MS,
  LATENCY_HISTOGRAM_SIZE,
  latencyHistogramIndex,
} from './latency-histogram.ts';

function histogramOf(latencies: readonly number[]): number[] {
  const histogram = new Array<number>(LATENCY_HISTOGRAM_SIZE).fill(0);
  for (const latency of latencies) {
    const index = latencyHistogramIndex(latency);
    histogram[index] = (histogram[index] as number) + 1;
  }
  return histogram;
}

describe('latency histogram', () => {
  it('puts a latency in the first range whose upper bound it does not exceed', () => {
    expect(LATENCY_HISTOGRAM_BOUNDS_MS).toEqual([
      1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000,
    ]);
    expect(Object.isFrozen(LATENCY_HISTOGRAM_BOUNDS_MS)).toBe(true);
    expect([0, 1, 1.01, 2, 2.5, 30_000, 30_000.5, 1e9].map(latencyHistogramIndex)).toEqual([
      0, 0, 1, 1, 2, 13, 14, 14,
    ]);
  });

  it('estimates percentiles within the range of the true nearest-rank value', () => {
    const latencies = Array.from({ length: 500 }, (_, index) => ((index * 7919) % 997) * 3.5);
    const histogram = histogramOf(latencies);
    const min = Math.min(...latencies);
    const max = Math.max(...latencies);
    for (const percent of [1, 50, 90, 95, 99, 100]) {
      const exact = nearestRank(latencies, percent);
      const estimate = estimateLatencyPercentile(histogram, percent, min, max) as number;
      // Same range as the exact value: between its range's bounds (narrowed to min/max).
      const range = latencyHistogramIndex(exact);
      const lower = range === 0 ? min : Math.max(min, LATENCY_HISTOGRAM_BOUNDS_MS[range - 1] as number);
      const upper = Math.min(max, LATENCY_HISTOGRAM_BOUNDS_MS[range] ?? max);
      expect(estimate).toBeGreaterThanOrEqual(lower);
      expect(estimate).toBeLessThanOrEqual(upper);
    }
  });

  it('is exact when a range holds one value, and null for no calls', () => {
    expect(estimateLatencyPercentile(histogramOf([42, 42, 42]), 95, 42, 42)).toBe(42);
    // Everything above the last bound: the estimate stays within [min, max].
    expect(estimateLatencyPercentile(histogramOf([40_000, 50_000]), 50, 40_000, 50_000)).toBe(45_000);
    expect(estimateLatencyPercentile(histogramOf([40_000, 50_000]), 100, 40_000, 50_000)).toBe(50_000);
    expect(estimateLatencyPercentile(histogramOf([]), 50, 0, 0)).toBeNull();
  });
});

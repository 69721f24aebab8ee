import { describe, expect, it } from 'vitest';
import { binomialAtLeast, binomialAtMost, regularizedBeta } from './binomial-tail.ts';

/** P(X ≤ k) by summing the terms with BigInt binomial coefficients and p = a/b exactly. */
function exactAtMost(k: number, n: number, numerator: number, denominator: number): number {
  const choose = (m: bigint, r: bigint) => {
    let result = 1n;
    for (let index = 1n; index <= r; index += 1n) result = (result * (m - r + index)) / index;
    return result;
  };
  let sum = 0n;
  const a = BigInt(numerator);
  const b = BigInt(denominator);
  for (let i = 0; i <= k; i += 1) {
    sum += choose(BigInt(n), BigInt(i)) * a ** BigInt(i) * (b - a) ** BigInt(n - i);
  }
  // Scale to keep 17 significant digits through the division.
  const scale = 10n ** 30n;
  return Number((sum * scale) / b ** BigInt(n)) / 1e30;
}

describe('binomial tails', () => {
  it('match exact sums for every k of small n at several rates', () => {
    for (const [numerator, denominator] of [
      [1, 2],
      [4, 5],
      [1, 20],
      [9, 10],
    ] as const) {
      for (const n of [1, 2, 5, 20, 40, 100]) {
        for (let k = 0; k <= n; k += 1) {
          const exact = exactAtMost(k, n, numerator, denominator);
          const p = numerator / denominator;
          expect(binomialAtMost(k, n, p)).toBeCloseTo(exact, 12);
          if (k < n) expect(binomialAtLeast(k + 1, n, p)).toBeCloseTo(1 - exact, 12);
        }
      }
    }
  });

  it('keeps tiny far tails (no 1 − x rounding to 0)', () => {
    // P(X ≥ 40 | 40, 0.05) = 0.05^40.
    expect(binomialAtLeast(40, 40, 0.05) / 0.05 ** 40).toBeCloseTo(1, 8);
    expect(binomialAtMost(0, 40, 0.95) / 0.05 ** 40).toBeCloseTo(1, 8);
  });

  it('handles the edges: k outside 0..n, rates 0 and 1', () => {
    expect(binomialAtMost(-1, 10, 0.5)).toBe(0);
    expect(binomialAtMost(10, 10, 0.5)).toBe(1);
    expect(binomialAtLeast(0, 10, 0.5)).toBe(1);
    expect(binomialAtLeast(11, 10, 0.5)).toBe(0);
    expect(binomialAtMost(3, 10, 0)).toBe(1);
    expect(binomialAtMost(3, 10, 1)).toBe(0);
    expect(binomialAtLeast(3, 10, 0)).toBe(0);
    expect(binomialAtLeast(3, 10, 1)).toBe(1);
  });

  it('stays finite and in [0, 1] for a million trials', () => {
    const middle = binomialAtMost(800_000, 1_000_000, 0.8);
    expect(middle).toBeGreaterThan(0.49);
    expect(middle).toBeLessThan(0.51);
    expect(binomialAtMost(790_000, 1_000_000, 0.8)).toBeLessThan(1e-100);
    expect(binomialAtMost(790_000, 1_000_000, 0.8)).toBeGreaterThanOrEqual(0);
  });

  it('computes the incomplete beta function at its known values', () => {
    // I_x(1, 1) = x; I_x(a, 1) = x^a; I_½(a, a) = ½.
    expect(regularizedBeta(0.3, 1, 1)).toBeCloseTo(0.3, 14);
    expect(regularizedBeta(0.6, 3, 1)).toBeCloseTo(0.216, 14);
    expect(regularizedBeta(0.5, 7.5, 7.5)).toBeCloseTo(0.5, 14);
    expect(regularizedBeta(0, 2, 3)).toBe(0);
    expect(regularizedBeta(1, 2, 3)).toBe(1);
  });
});

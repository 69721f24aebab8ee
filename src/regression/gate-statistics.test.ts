import { describe, expect, it } from 'vitest';
import {
  binomialLowerTail,
  binomialUpperTail,
  errorEvidence,
  type GateLook,
  latencyEvidence,
  lookSchedule,
  type PairedRun,
} from './gate-statistics.ts';

/** P(X ≥ k) for X ~ Binomial(n, ½) by exact integer arithmetic: Σ C(n, i) / 2ⁿ. */
function exactUpperTail(n: number, k: number): number {
  let choose = 1n;
  let sum = 0n;
  for (let i = 0; i <= n; i += 1) {
    if (i >= k) sum += choose;
    choose = (choose * BigInt(n - i)) / BigInt(i + 1);
  }
  // Scale before dividing so the quotient keeps ~15 significant digits.
  const scale = 10n ** 18n;
  return Number((sum * scale) / 2n ** BigInt(n)) / 1e18;
}

const margin = { latencyMargin: 0.5, latencyMarginMs: 5 };
const firstLook: GateLook = { alpha: 0.05, look: 1, looks: 3, repeats: 3 };

/** `count` pairs where both sides answered, with these latencies. */
function pairs(count: number, candidateMs: number, baselineMs = 10): PairedRun[] {
  return Array.from({ length: count }, () => ({
    candidateMs,
    baselineMs,
    candidateFailed: false,
    baselineFailed: false,
  }));
}

describe('binomial tails', () => {
  it('match exact integer arithmetic for every n up to 60 and every k', () => {
    for (let n = 0; n <= 60; n += 1) {
      for (let k = -1; k <= n + 1; k += 1) {
        const exact = exactUpperTail(n, k);
        expect(Math.abs(binomialUpperTail(n, k) - exact)).toBeLessThanOrEqual(1e-12 + exact * 1e-12);
        expect(Math.abs(binomialLowerTail(n, k) - exactUpperTail(n, n - k))).toBeLessThanOrEqual(1e-12);
      }
    }
  });

  it('stay exact in the far tail of a large sample, where a normal approximation is far off', () => {
    // P(X ≥ 900) of 1000 fair tosses is about 1e-168; it must not round to 0 or 1.
    const p = binomialUpperTail(1000, 900);
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(1e-150);
    expect(binomialUpperTail(100_000, 50_000)).toBeCloseTo(0.5 + exactMiddle(100_000) / 2, 6);
  });

  it('refuses a negative or fractional n', () => {
    expect(() => binomialUpperTail(-1, 0)).toThrow(RangeError);
    expect(() => binomialUpperTail(2.5, 1)).toThrow(RangeError);
  });
});

/** P(X = n/2) for even n, through logs (checked against the tail's symmetry above). */
function exactMiddle(n: number): number {
  let log = 0;
  for (let j = 1; j <= n / 2; j += 1) log += Math.log((n / 2 + j) / j);
  return Math.exp(log - n * Math.LN2);
}

describe('lookSchedule', () => {
  it('doubles the repeats from repeats up to maxRepeats', () => {
    expect(lookSchedule(3, 12)).toEqual([3, 6, 12]);
    expect(lookSchedule(1, 12)).toEqual([1, 2, 4, 8, 12]);
    expect(lookSchedule(5, 12)).toEqual([5, 10, 12]);
    expect(lookSchedule(4, 4)).toEqual([4]);
  });
});

describe('latencyEvidence', () => {
  it('all pairs equal: not slower once there are enough of them, undecided with too few', () => {
    const many = latencyEvidence(pairs(12, 10), margin, firstLook);
    expect(many).toMatchObject({ decision: 'not-worse', pairs: 12, exceeding: 0, alphaPerLook: 0.05 / 3 });
    expect(many.pValueNotWorse).toBeCloseTo(1 / 4096, 12);
    expect(many.summary).toMatch(/^latency: not slower\. .* in 0 of 12 paired runs/);
    // 0 of 5 has p = 1/32 > 0.05/3: five runs cannot show it, however equal they are.
    expect(latencyEvidence(pairs(5, 10), margin, firstLook)).toMatchObject({
      decision: 'undecided',
      pairs: 5,
    });
    // With a single look the whole alpha is spent on it: 0 of 5 (p = 0.031) is enough.
    expect(latencyEvidence(pairs(5, 10), margin, { ...firstLook, looks: 1 }).decision).toBe('not-worse');
  });

  it('a single outlier pair does not make a candidate slower', () => {
    const runs = [...pairs(11, 10), ...pairs(1, 500)];
    const evidence = latencyEvidence(runs, margin, firstLook);
    expect(evidence).toMatchObject({ decision: 'not-worse', exceeding: 1, pairs: 12 });
    expect(evidence.pValueNotWorse).toBeCloseTo(13 / 4096, 12);
  });

  it('ties (exactly half exceed) stay undecided, at any sample size', () => {
    for (const count of [6, 24, 200]) {
      const runs = [...pairs(count / 2, 10), ...pairs(count / 2, 40)];
      const evidence = latencyEvidence(runs, margin, { ...firstLook, look: 3 });
      expect(evidence.decision).toBe('undecided');
      expect(evidence.exceeding).toBe(count / 2);
      expect(evidence.summary).toMatch(/neither "slower" \(p = [\d.]+\) nor "not slower"/);
    }
  });

  it('exceeding exactly the margin is within it; beyond it in every pair is slower', () => {
    // 10·1.5 + 5 = 20 ms allowed.
    expect(latencyEvidence(pairs(12, 20), margin, firstLook)).toMatchObject({
      decision: 'not-worse',
      exceeding: 0,
    });
    const slower = latencyEvidence(pairs(12, 20.01), margin, firstLook);
    expect(slower).toMatchObject({ decision: 'worse', exceeding: 12 });
    expect(slower.summary).toMatch(/^latency: slower\. .*baseline·1\.5 \+ 5 ms in 12 of 12/);
  });

  it('leaves out pairs where a side failed, and is not applied when the candidate failed fewer', () => {
    const baselineFailing = pairs(6, 100).map((pair, index) => ({ ...pair, baselineFailed: index < 2 }));
    const evidence = latencyEvidence(baselineFailing, margin, firstLook);
    expect(evidence).toMatchObject({ decision: 'not-worse', waived: true, pairs: 4, notCompared: 2 });
    expect(evidence.summary).toMatch(/^latency: not applied\. The candidate failed fewer paired runs \(0\)/);
  });

  it('all runs failed on both sides: nothing to compare', () => {
    const failing = pairs(6, 10).map((pair) => ({ ...pair, candidateFailed: true, baselineFailed: true }));
    expect(latencyEvidence(failing, margin, firstLook)).toMatchObject({
      decision: 'not-worse',
      waived: false,
      pairs: 0,
      notCompared: 6,
      summary: expect.stringMatching(/^latency: nothing to compare/),
    });
  });
});

describe('errorEvidence', () => {
  it('no discordant pairs: not more errors, also when every run failed on both sides', () => {
    expect(errorEvidence(pairs(12, 10), firstLook)).toMatchObject({ decision: 'not-worse', pValueWorse: 1 });
    const failing = pairs(6, 10).map((pair) => ({ ...pair, candidateFailed: true, baselineFailed: true }));
    expect(errorEvidence(failing, firstLook)).toMatchObject({
      decision: 'not-worse',
      bothFailed: 6,
      candidateOnly: 0,
      baselineOnly: 0,
    });
  });

  it('significantly more candidate-only failures is worse; a few is undecided', () => {
    const run = (candidateOnly: number, baselineOnly: number) =>
      errorEvidence(
        [
          ...pairs(candidateOnly, 10).map((pair) => ({ ...pair, candidateFailed: true })),
          ...pairs(baselineOnly, 10).map((pair) => ({ ...pair, baselineFailed: true })),
          ...pairs(10, 10),
        ],
        firstLook,
      );
    const worse = run(7, 0);
    expect(worse).toMatchObject({ decision: 'worse', candidateOnly: 7, pairs: 17 });
    expect(worse.pValueWorse).toBeCloseTo(1 / 128, 12);
    expect(worse.summary).toMatch(
      /^errors: more errors\. In 17 paired runs .* only the candidate failed in 7/,
    );
    expect(run(3, 0)).toMatchObject({ decision: 'undecided' });
    expect(run(0, 3)).toMatchObject({ decision: 'not-worse', baselineOnly: 3 });
    expect(run(2, 2)).toMatchObject({ decision: 'not-worse' });
  });
});

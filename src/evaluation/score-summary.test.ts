import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { MemorySummary } from '../memory/performance-memory.ts';
import { nearestRank } from '../testing/reference-math.ts';
import { resolveEvaluatorOptions } from './evaluator-options.ts';
import { scoreSummary as scoreWithPolicy } from './score-summary.ts';

/** These cases pin the `'window'` policy (0.1's default): the article's score plus its thresholds. */
const scoreSummary = (
  summary: Parameters<typeof scoreWithPolicy>[0],
  options: Parameters<typeof scoreWithPolicy>[1] = {},
  baseline: Parameters<typeof scoreWithPolicy>[2] = null,
) => scoreWithPolicy(summary, { policy: 'window', ...options }, baseline);

/**
 * A summary built from its definition (not from the library's aggregation): `latencies` in
 * call order, the first `failures` of them failed.
 */
function summaryOf(latencies: number[], failures = 0, errors: string[] = []): MemorySummary {
  const invocations = latencies.length;
  const successes = invocations - failures;
  return {
    toolName: 'fetch_rate',
    version: 1,
    invocations,
    successes,
    failures,
    successRate: invocations === 0 ? 0 : successes / invocations,
    latencyMs:
      invocations === 0
        ? null
        : {
            avg: latencies.reduce((sum, value) => sum + value, 0) / invocations,
            min: Math.min(...latencies),
            max: Math.max(...latencies),
            p50: nearestRank(latencies, 50),
            p95: nearestRank(latencies, 95),
          },
    recentErrors: errors,
    firstAt: invocations === 0 ? null : 1,
    lastAt: invocations === 0 ? null : invocations,
  };
}

const repeat = (value: number, times: number): number[] => Array.from({ length: times }, () => value);

describe('scoreSummary: the article’s numbers with the default options', () => {
  it('scores a healthy, steady tool 1 with no reasons', () => {
    // 20 successes at 500 ms: success 1; latency 1 (500 ≤ 1000); consistency 1 − 0/(3·500) = 1.
    // score = 0.5·1 + 0.3·1 + 0.2·1 = 1.
    const result = scoreSummary(summaryOf(repeat(500, 20)));
    expect(result).toEqual({
      score: 1,
      components: { successRate: 1, latency: 1, consistency: 1 },
      needsRewrite: false,
      reasons: [],
      evidence: [],
    });
  });

  it('scores 50% failures of a fast, steady tool 0.75 (above the threshold) but flags LOW_SUCCESS', () => {
    // success 0.5; latency 1; consistency 1 → 0.5·0.5 + 0.3 + 0.2 = 0.75 ≥ 0.6: the article never
    // rewrites it. minSuccessRate 0.8 does.
    const result = scoreSummary(summaryOf(repeat(200, 20), 10, ['HTTP 503']));
    expect(result.score).toBe(0.75);
    expect(result.components).toEqual({ successRate: 0.5, latency: 1, consistency: 1 });
    expect(result.needsRewrite).toBe(true);
    expect(result.reasons).toEqual([
      {
        code: 'LOW_SUCCESS',
        message: 'success rate 0.50 (10 of 20 calls) is below the minimum 0.80; latest error: HTTP 503',
      },
    ]);
  });

  it('needs 80% failures before the article’s score alone drops below 0.6', () => {
    // 4 of 20 succeed: 0.5·0.2 + 0.3 + 0.2 = 0.6, not below 0.6 → no LOW_SCORE.
    const atEighty = scoreSummary(summaryOf(repeat(200, 20), 16));
    expect(atEighty.score).toBeCloseTo(0.6, 12);
    expect(atEighty.reasons.map((reason) => reason.code)).toEqual(['LOW_SUCCESS']);
    // 3 of 20 succeed: 0.5·0.15 + 0.5 = 0.575 → LOW_SCORE too.
    const atEightyFive = scoreSummary(summaryOf(repeat(200, 20), 17));
    expect(atEightyFive.score).toBeCloseTo(0.575, 12);
    expect(atEightyFive.reasons.map((reason) => reason.code)).toEqual(['LOW_SCORE', 'LOW_SUCCESS']);
    expect(atEightyFive.reasons[0]?.message).toBe(
      'score 0.57 is below the threshold 0.60 (success 0.15 × 0.5 + latency 1.00 × 0.3 + consistency 1.00 × 0.2)',
    );
  });

  it('maps an average of 3000 ms to a latency component of 0.5 and reports SLOW only', () => {
    // latency = 1 − (3000 − 1000)/(5000 − 1000) = 0.5; score = 0.5 + 0.3·0.5 + 0.2 = 0.85.
    const result = scoreSummary(summaryOf(repeat(3000, 20)));
    expect(result.components.latency).toBe(0.5);
    expect(result.score).toBeCloseTo(0.85, 12);
    expect(result.needsRewrite).toBe(false);
    expect(result.reasons).toEqual([
      {
        code: 'SLOW',
        message: 'average latency 3000 ms is above the target 1000 ms (latency component 0.50; 0 at 5000 ms)',
      },
    ]);
  });

  it('clamps the latency component to 0 at and beyond the maximum', () => {
    expect(scoreSummary(summaryOf(repeat(5000, 5))).components.latency).toBe(0);
    expect(scoreSummary(summaryOf(repeat(9000, 5))).components.latency).toBe(0);
    // 1000 ms exactly is on target.
    expect(scoreSummary(summaryOf(repeat(1000, 5))).components.latency).toBe(1);
  });

  it('computes the spread consistency as the article does', () => {
    // 10 × 100 ms and 10 × 700 ms: avg 400, spread 600 → 1 − 600/(3·400) = 0.5 (not below 0.5).
    // score = 0.5 + 0.3 + 0.2·0.5 = 0.9.
    const result = scoreSummary(summaryOf([...repeat(100, 10), ...repeat(700, 10)]));
    expect(result.components.consistency).toBe(0.5);
    expect(result.score).toBeCloseTo(0.9, 12);
    expect(result.reasons).toEqual([]);
  });

  it('combines a low score, low success and slowness in the fixed reason order', () => {
    // 8 of 20 succeed at 3000 ms: 0.5·0.4 + 0.3·0.5 + 0.2 = 0.55.
    const result = scoreSummary(summaryOf(repeat(3000, 20), 12));
    expect(result.score).toBeCloseTo(0.55, 12);
    expect(result.needsRewrite).toBe(true);
    expect(result.reasons.map((reason) => reason.code)).toEqual(['LOW_SCORE', 'LOW_SUCCESS', 'SLOW']);
    expect(result.reasons[1]?.message).toBe('success rate 0.40 (8 of 20 calls) is below the minimum 0.80');
  });

  it('returns score 1 and INSUFFICIENT_DATA below minInvocations, whatever the calls did', () => {
    const result = scoreSummary(summaryOf([9000, 9000], 2));
    expect(result).toEqual({
      score: 1,
      components: { successRate: 1, latency: 1, consistency: 1 },
      needsRewrite: false,
      reasons: [
        {
          code: 'INSUFFICIENT_DATA',
          message: 'only 2 calls in the window (at least 3 needed); scored 1, not rewritten',
        },
      ],
      evidence: [],
    });
    expect(scoreSummary(summaryOf([])).reasons[0]?.message).toBe(
      'only 0 calls in the window (at least 3 needed); scored 1, not rewritten',
    );
    // Three calls are enough.
    expect(scoreSummary(summaryOf([100, 100, 100], 3)).needsRewrite).toBe(true);
  });

  it('prints enough digits that a value just below a limit never reads as equal to it', () => {
    // success 0.7998 with weights 1/0/0: score 0.7998 < threshold 0.8.
    const summary = { ...summaryOf(repeat(100, 20)), successRate: 0.7998 };
    const result = scoreSummary(summary, {
      weights: { successRate: 1, latency: 0, consistency: 0 },
      threshold: 0.8,
    });
    expect(result.reasons[0]?.message).toMatch(/^score 0\.7998 is below the threshold 0\.8000 /);
    expect(result.reasons[1]?.message).toMatch(
      /^success rate 0\.7998 \(20 of 20 calls\) is below the minimum 0\.8000/,
    );
  });
});

describe('scoreSummary: percentile consistency', () => {
  // 19 calls at 100 ms and one at 1000 ms. Spread: avg 145, (1000 − 100)/(3·145) = 2.07 → 0.
  // Percentile: p50 = 100, p95 = the 19th of 20 sorted = 100 → 1 − 0/300 = 1.
  const oneOutlier = [...repeat(100, 19), 1000];

  it('lets one outlier zero the article’s spread consistency', () => {
    const result = scoreSummary(summaryOf(oneOutlier));
    expect(result.components.consistency).toBe(0);
    expect(result.score).toBeCloseTo(0.8, 12);
    expect(result.reasons).toEqual([
      {
        code: 'INCONSISTENT',
        message:
          'latency ranged from 100 ms to 1000 ms around an average of 145 ms (consistency component 0.00, below 0.50)',
      },
    ]);
  });

  it('ignores that outlier with consistency: percentile', () => {
    const result = scoreSummary(summaryOf(oneOutlier), { consistency: 'percentile' });
    expect(result.components.consistency).toBe(1);
    expect(result.score).toBe(1);
    expect(result.reasons).toEqual([]);
  });

  it('still reports a real tail: p95 = 4 × p50 gives 0', () => {
    // 10 × 100 and 10 × 400: p50 = 100, p95 = 400 → 1 − 300/(3·100) = 0.
    const result = scoreSummary(summaryOf([...repeat(100, 10), ...repeat(400, 10)]), {
      consistency: 'percentile',
    });
    expect(result.components.consistency).toBe(0);
    expect(result.reasons.at(-1)).toEqual({
      code: 'INCONSISTENT',
      message: 'p95 latency 400 ms is 4× the median 100 ms (consistency component 0.00, below 0.50)',
    });
  });

  it('gives 2/3 when p95 is twice the median, and 1 for a zero median', () => {
    const doubled = scoreSummary(summaryOf([...repeat(100, 15), ...repeat(200, 5)]), {
      consistency: 'percentile',
    });
    expect(doubled.components.consistency).toBeCloseTo(2 / 3, 12);
    expect(scoreSummary(summaryOf(repeat(0, 5)), { consistency: 'percentile' }).components.consistency).toBe(
      1,
    );
    expect(scoreSummary(summaryOf(repeat(0, 5))).components.consistency).toBe(1);
  });
});

describe('scoreSummary: DEGRADED against a baseline', () => {
  it('flags a success drop of 0.2 even when the score and success rate pass', () => {
    // Baseline 20 of 20; current 16 of 20 = 0.8 (not below 0.8), score 0.9. 1.0 − 0.8 = 0.2 (in
    // floating point 0.19999999999999996, which must still count).
    const result = scoreSummary(summaryOf(repeat(100, 20), 4), {}, summaryOf(repeat(100, 20)));
    expect(result.score).toBeCloseTo(0.9, 12);
    expect(result.needsRewrite).toBe(true);
    expect(result.reasons).toEqual([
      {
        code: 'DEGRADED',
        message:
          'success rate fell from 1.00 (20 of 20 calls) to 0.80 (16 of 20 calls), a drop of 0.20 (limit 0.20), compared with the 20 calls before the current window',
      },
    ]);
  });

  it('flags a median latency at twice the baseline and at least 100 ms more', () => {
    const result = scoreSummary(summaryOf(repeat(400, 20)), {}, summaryOf(repeat(100, 20)));
    expect(result.score).toBe(1);
    expect(result.needsRewrite).toBe(true);
    expect(result.reasons[0]?.message).toBe(
      'median latency rose from 100 ms to 400 ms (4×; limit 2× and +100 ms), compared with the 20 calls before the current window',
    );
  });

  it('does not flag tiny absolute increases, small drops, or a short baseline', () => {
    expect(scoreSummary(summaryOf(repeat(3, 20)), {}, summaryOf(repeat(1, 20))).reasons).toEqual([]);
    expect(scoreSummary(summaryOf(repeat(100, 20), 3), {}, summaryOf(repeat(100, 20))).reasons).toEqual([]);
    // 9 baseline calls < minBaselineInvocations (10).
    expect(scoreSummary(summaryOf(repeat(100, 20), 4), {}, summaryOf(repeat(100, 9))).reasons).toEqual([]);
    // degradation: false turns it off.
    expect(
      scoreSummary(summaryOf(repeat(100, 20), 4), { degradation: false }, summaryOf(repeat(100, 20))).reasons,
    ).toEqual([]);
  });

  it('reports both findings in one DEGRADED reason', () => {
    const result = scoreSummary(summaryOf(repeat(500, 20), 5), {}, summaryOf(repeat(100, 20)));
    const degraded = result.reasons.filter((reason) => reason.code === 'DEGRADED');
    expect(degraded).toHaveLength(1);
    expect(degraded[0]?.message).toContain('a drop of 0.25');
    expect(degraded[0]?.message).toContain('median latency rose from 100 ms to 500 ms (5×');
    expect(result.reasons.map((reason) => reason.code)).toEqual(['LOW_SUCCESS', 'DEGRADED']);
  });
});

describe('evaluator options', () => {
  it('resolves the article’s defaults, frozen', () => {
    const options = resolveEvaluatorOptions();
    expect(options).toMatchObject({
      weights: { successRate: 0.5, latency: 0.3, consistency: 0.2 },
      targetLatencyMs: 1000,
      maxLatencyMs: 5000,
      threshold: 0.6,
      minSuccessRate: 0.8,
      minInvocations: 3,
      window: 20,
      consistency: 'spread',
      degradation: {
        minBaselineInvocations: 10,
        successDrop: 0.2,
        latencyFactor: 2,
        minLatencyIncreaseMs: 100,
      },
    });
    expect(Object.isFrozen(options)).toBe(true);
    expect(Object.isFrozen(options.weights)).toBe(true);
    expect(Object.isFrozen(options.degradation)).toBe(true);
  });

  it('fills missing weights from the defaults and does not mutate the caller’s object', () => {
    const input = { weights: { successRate: 0.7, latency: 0.1 } };
    const options = resolveEvaluatorOptions(input);
    expect(options.weights).toEqual({ successRate: 0.7, latency: 0.1, consistency: 0.2 });
    expect(input).toEqual({ weights: { successRate: 0.7, latency: 0.1 } });
    // The weights change the score: 0.7·0.5 + 0.1 + 0.2 = 0.65.
    expect(scoreSummary(summaryOf(repeat(100, 20), 10), input).score).toBeCloseTo(0.65, 12);
  });

  it('rejects weights that do not sum to 1, naming the sum', () => {
    expect(() => resolveEvaluatorOptions({ weights: { successRate: 0.6 } })).toThrow(
      'Invalid option "weights": expected weights summing to 1 (successRate 0.6 + latency 0.3 + consistency 0.2 = 1.1), received {"successRate":0.6}',
    );
    // Within 1e-9 is fine (0.1 + 0.2 + 0.7 is not exactly 1 in floating point).
    expect(() =>
      resolveEvaluatorOptions({ weights: { successRate: 0.1, latency: 0.2, consistency: 0.7 } }),
    ).not.toThrow();
  });

  it.each([
    [{ weights: { latency: -0.1 } }, 'weights.latency', -0.1],
    [{ weights: { consistency: Number.NaN } }, 'weights.consistency', Number.NaN],
    [{ weights: 1 }, 'weights', 1],
    [{ targetLatencyMs: -1 }, 'targetLatencyMs', -1],
    [{ targetLatencyMs: 1000, maxLatencyMs: 1000 }, 'maxLatencyMs', 1000],
    [{ targetLatencyMs: 6000, maxLatencyMs: 5000 }, 'maxLatencyMs', 5000],
    [{ threshold: 1.5 }, 'threshold', 1.5],
    [{ minSuccessRate: -0.1 }, 'minSuccessRate', -0.1],
    [{ window: 0 }, 'window', 0],
    [{ window: 2.5 }, 'window', 2.5],
    [{ minInvocations: 21 }, 'minInvocations', 21],
    [{ consistency: 'median' }, 'consistency', 'median'],
    [{ degradation: { successDrop: 0 } }, 'degradation.successDrop', 0],
    [{ degradation: { latencyFactor: 1 } }, 'degradation.latencyFactor', 1],
    [{ degradation: { minBaselineInvocations: 30 } }, 'degradation.minBaselineInvocations', 30],
    [{ degradation: { minLatencyIncreaseMs: -5 } }, 'degradation.minLatencyIncreaseMs', -5],
    [{ degradation: true }, 'degradation', true],
    [{ clock: 5 }, 'clock', 5],
  ])('rejects %j naming %s', (input, option, value) => {
    let error: unknown;
    try {
      resolveEvaluatorOptions(input as never);
    } catch (caught) {
      error = caught;
    }
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect((error as InvalidOptionError).field).toBe(option);
    expect((error as InvalidOptionError).value).toBe(value);
  });

  it('defaults minBaselineInvocations to the window when the window is below 10', () => {
    const options = resolveEvaluatorOptions({ window: 4 });
    expect(options.degradation).toMatchObject({ minBaselineInvocations: 4 });
  });
});

import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { summaryOf } from '../memory/performance-memory.ts';
import type { VersionTotals } from '../memory/version-statistics.ts';
import { type AggregatableInvocation, aggregateInvocations } from '../storage/aggregate-invocations.ts';
import { bernoulliCusum, cautiousRate, raisedRate } from './change-detection.ts';
import type { Evaluation } from './evaluation.ts';
import type { EvaluationSource } from './evaluator.ts';
import { Evaluator } from './evaluator.ts';
import { decisionThresholds } from './sequential-policy.ts';

/** One call: `ok` or a failure, `ms` latency. */
interface Call {
  ok: boolean;
  ms?: number;
  feedback?: 'wrong' | 'correct';
}

const ok = (count: number, ms = 100): Call[] => Array.from({ length: count }, () => ({ ok: true, ms }));
const failed = (count: number, ms = 100): Call[] => Array.from({ length: count }, () => ({ ok: false, ms }));

/**
 * A source holding `callsOldestFirst` of version 1 as PerformanceMemory would answer: the
 * newest 100 in its window, counters over all of them (or none with `totals: false`).
 */
function source(callsOldestFirst: Call[], { totals = true } = {}): EvaluationSource {
  const newestFirst: AggregatableInvocation[] = callsOldestFirst
    .map((call, index) => ({
      startedAt: index,
      latencyMs: call.ms ?? 100,
      success: call.ok,
      ...(call.ok ? {} : { errorCode: 'TOOL_ERROR', errorMessage: `boom ${index}` }),
      ...(call.feedback ? { feedback: call.feedback } : {}),
    }))
    .reverse();
  const window = newestFirst.slice(0, 100);
  const counters: VersionTotals = {
    calls: callsOldestFirst.length,
    failures: callsOldestFirst.filter((call) => !call.ok).length,
  };
  return {
    summary: async (_tool, { window: size }) =>
      summaryOf('tool', 1, aggregateInvocations(window.slice(0, size))),
    recent: async (_tool, { limit }) => window.slice(0, limit),
    ...(totals ? { totals: () => counters } : {}),
  };
}

async function evaluate(calls: Call[], options = {}, sourceOptions = {}): Promise<Evaluation> {
  return new Evaluator({ clock: () => 1, ...options }).evaluate(source(calls, sourceOptions), 'tool', {
    version: 1,
  });
}

const codes = (evaluation: Evaluation) => evaluation.reasons.map((reason) => reason.code);
const test = (evaluation: Evaluation, name: string) =>
  evaluation.evidence.find((entry) => entry.test === name);

describe("Evaluator, 'sequential' policy (the default)", () => {
  it('is the default, with its thresholds from the false-alarm budget', async () => {
    const evaluator = new Evaluator();
    expect(evaluator.options.policy).toBe('sequential');
    expect(evaluator.options.falseAlarmRate).toBe(0.05);
    expect(evaluator.options.history).toBe(100);
    expect(decisionThresholds(0.05).levelAlpha).toBeCloseTo(0.01, 15);
    expect(decisionThresholds(0.05).changeThreshold).toBe(7);
    // Halving the budget raises the change threshold by ln 2.
    expect(decisionThresholds(0.025).changeThreshold).toBeCloseTo(7 + Math.LN2, 12);
  });

  it('no data: INSUFFICIENT_DATA, score 1, nothing flagged and no tests run', async () => {
    const evaluation = await evaluate([]);
    expect(evaluation.needsRewrite).toBe(false);
    expect(evaluation.score).toBe(1);
    expect(codes(evaluation)).toEqual(['INSUFFICIENT_DATA']);
    expect(evaluation.evidence).toEqual([]);
    expect(evaluation.policy).toBe('sequential');
  });

  it('a healthy tool: every test runs and is clear, with its numbers in words', async () => {
    const evaluation = await evaluate([...ok(300), ...failed(3), ...ok(200)]);
    expect(evaluation.needsRewrite).toBe(false);
    expect(evaluation.evidence.map((entry) => [entry.test, entry.outcome])).toEqual([
      ['success-rate', 'clear'],
      ['failure-change', 'clear'],
      ['latency-change', 'clear'],
      ['latency-limit', 'clear'],
    ]);
    const level = test(evaluation, 'success-rate');
    expect(level).toMatchObject({ calls: 503, events: 3 });
    expect(level?.bound).toBeCloseTo(0.01, 15);
    expect(level?.summary).toMatch(
      /^500 of 503 calls succeeded \(every call counted\); if the true success rate were 0\.80/,
    );
  });

  it('all failures: LOW_SUCCESS and DEGRADED, each with its statistic beyond its bound', async () => {
    const evaluation = await evaluate(failed(20));
    expect(evaluation.needsRewrite).toBe(true);
    expect(codes(evaluation)).toEqual(['LOW_SCORE', 'LOW_SUCCESS', 'DEGRADED']);
    const level = test(evaluation, 'success-rate');
    expect(level?.statistic).toBeLessThan(level?.bound as number);
    expect(level?.statistic).toBeCloseTo(0.2 ** 20, 25);
    const change = test(evaluation, 'failure-change');
    expect(change?.statistic).toBeGreaterThan(change?.bound as number);
    expect(change?.summary).toMatch(/^20 of the last 20 calls failed, no earlier calls/);
    // The latest error is quoted in the LOW_SUCCESS reason.
    expect(evaluation.reasons.find((reason) => reason.code === 'LOW_SUCCESS')?.message).toContain(
      'latest error: boom 19',
    );
  });

  it('a single failure or a single slow outlier flags nothing', async () => {
    expect((await evaluate([...ok(99), ...failed(1)])).needsRewrite).toBe(false);
    const outlier = await evaluate([...ok(99), { ok: true, ms: 10_000 }]);
    expect(outlier.needsRewrite).toBe(false);
    expect(test(outlier, 'latency-change')?.outcome).toBe('clear');
    expect(test(outlier, 'latency-limit')?.outcome).toBe('clear');
  });

  it('ties: a success rate exactly at the minimum, half the calls over the latency limit', async () => {
    // 80 of 100 at minSuccessRate 0.8: P(X ≤ 80) ≈ 0.54, nowhere near significant.
    const atMinimum = await evaluate([...ok(20), ...failed(20), ...ok(60)], {}, { totals: false });
    expect(test(atMinimum, 'success-rate')?.outcome).toBe('clear');
    const halfSlow = await evaluate(
      Array.from({ length: 20 }, (_, index) => ({ ok: true, ms: index % 2 === 0 ? 6000 : 4000 })),
    );
    expect(test(halfSlow, 'latency-limit')).toMatchObject({ outcome: 'clear', events: 10, calls: 20 });
    expect(codes(halfSlow)).not.toContain('TOO_SLOW');
  });

  it('a tool steadily below minSuccessRate is flagged once the counters show it', async () => {
    // 75% success: not significant over 40 calls, significant over 600.
    const pattern = (count: number) => Array.from({ length: count }, (_, index) => ({ ok: index % 4 !== 0 }));
    expect(codes(await evaluate(pattern(40)))).not.toContain('LOW_SUCCESS');
    const long = await evaluate(pattern(600));
    expect(codes(long)).toContain('LOW_SUCCESS');
    expect(test(long, 'success-rate')).toMatchObject({ calls: 600, events: 150 });
  });

  it('a change: a run of failures after a healthy history is DEGRADED, naming the stretch', async () => {
    const evaluation = await evaluate([...ok(400), ...failed(1), ...ok(100), ...failed(8)]);
    expect(codes(evaluation)).toEqual(['DEGRADED']);
    const change = test(evaluation, 'failure-change');
    expect(change?.summary).toMatch(/^8 of the last 8 calls failed, 1 of the 501 calls before them failed/);
    expect(evaluation.reasons[0]?.message).toBe(change?.summary);
  });

  it('a latency change beyond the floor is DEGRADED; one under the floor is not', async () => {
    const slower = await evaluate([...ok(90, 100), ...ok(5, 4000)]);
    expect(slower.needsRewrite).toBe(true);
    // SLOW and INCONSISTENT are informational.
    expect(codes(slower)).toEqual(['DEGRADED', 'SLOW', 'INCONSISTENT']);
    expect(test(slower, 'latency-change')?.summary).toMatch(/^5 of the last 5 calls took longer than 200 ms/);
    // 3 ms → 30 ms is 10× but only +27 ms: below the 100 ms floor.
    const jitter = await evaluate([...ok(90, 3), ...ok(10, 30)]);
    expect(jitter.needsRewrite).toBe(false);
  });

  it('a flawless 3 ms tool with jitter scores 1 (the floor applies to consistency too)', async () => {
    const calls = Array.from({ length: 20 }, (_, index) => ({ ok: true, ms: 2 + (index % 3) }));
    const evaluation = await evaluate(calls);
    expect(evaluation.components.consistency).toBe(1);
    expect(evaluation.score).toBe(1);
    // The 'window' policy keeps the article's formula: 2 ms of spread around 3 ms costs there.
    expect((await evaluate(calls, { policy: 'window' })).components.consistency).toBeLessThan(0.8);
  });

  it('TOO_SLOW when significantly more than half the recent calls exceed maxLatencyMs', async () => {
    const evaluation = await evaluate(ok(20, 6000));
    expect(codes(evaluation)).toContain('TOO_SLOW');
    expect(test(evaluation, 'latency-limit')?.summary).toMatch(
      /^20 of the last 20 calls took longer than 5000 ms/,
    );
  });

  it('wrong answers (agent.feedback) count as failures and are shown apart', async () => {
    const calls: Call[] = [
      ...ok(10),
      ...Array.from({ length: 10 }, () => ({ ok: true, feedback: 'wrong' as const })),
    ];
    calls[0] = { ok: true, feedback: 'correct' };
    const evaluation = await evaluate(calls, {}, { totals: false });
    expect(evaluation.feedback).toEqual({ correct: 1, wrong: 10 });
    expect(evaluation.summary.failures).toBe(10);
    expect(codes(evaluation)).toContain('LOW_SUCCESS');
  });

  it('wrong answers the counters know of beyond the calls read count as failures too', async () => {
    const base = source(ok(150));
    const evaluation = await new Evaluator({ clock: () => 1 }).evaluate(
      { ...base, totals: () => ({ calls: 150, failures: 0, feedback: { correct: 0, wrong: 60 } }) },
      'tool',
      { version: 1 },
    );
    expect(test(evaluation, 'success-rate')).toMatchObject({ calls: 150, events: 60, outcome: 'flagged' });
    expect(codes(evaluation)).toContain('LOW_SUCCESS');
  });

  it('a lower false-alarm budget raises the bounds', async () => {
    const calls = [...ok(200), ...failed(3)];
    const strict = await evaluate(calls, { falseAlarmRate: 0.001 });
    const lax = await evaluate(calls, { falseAlarmRate: 0.2 });
    expect(test(strict, 'failure-change')?.bound).toBeGreaterThan(
      test(lax, 'failure-change')?.bound as number,
    );
    expect(test(strict, 'success-rate')?.bound).toBeLessThan(test(lax, 'success-rate')?.bound as number);
  });

  it('degradation: false turns the change tests off', async () => {
    const evaluation = await evaluate([...ok(400), ...failed(8)], { degradation: false });
    expect(evaluation.evidence.map((entry) => entry.test)).toEqual(['success-rate', 'latency-limit']);
    expect(evaluation.needsRewrite).toBe(false);
  });

  it("'article' requests a rewrite only for a low score", async () => {
    const evaluation = await evaluate(failed(20).concat(ok(0)), { policy: 'article' });
    expect(evaluation.needsRewrite).toBe(true);
    const halfFailing = await evaluate([...ok(10), ...failed(10)], { policy: 'article' });
    // 0.5·0.5 + 0.3 + 0.2 = 0.75: LOW_SUCCESS is reported but does not need a rewrite.
    expect(codes(halfFailing)).toEqual(['LOW_SUCCESS']);
    expect(halfFailing.needsRewrite).toBe(false);
  });

  it('rejects bad options naming the field and the value', () => {
    for (const [options, field] of [
      [{ policy: 'bayes' }, 'policy'],
      [{ falseAlarmRate: 0 }, 'falseAlarmRate'],
      [{ falseAlarmRate: 0.9 }, 'falseAlarmRate'],
      [{ history: 10 }, 'history'],
      [{ degradation: { failureIncrease: 0 } }, 'degradation.failureIncrease'],
    ] as const) {
      expect(() => new Evaluator(options as never)).toThrow(InvalidOptionError);
      try {
        new Evaluator(options as never);
      } catch (error) {
        expect((error as InvalidOptionError).field).toBe(field);
      }
    }
  });
});

describe('change detection', () => {
  it('the CUSUM rises with bad calls, falls with good ones, never below 0, and reports its stretch', () => {
    const up = Math.log(0.2 / 0.02);
    const down = Math.log(0.8 / 0.98);
    expect(bernoulliCusum([], 0.02, 0.2)).toEqual({ statistic: 0, stretch: 0, badInStretch: 0 });
    expect(bernoulliCusum([false, false, false], 0.02, 0.2)).toEqual({
      statistic: 0,
      stretch: 0,
      badInStretch: 0,
    });
    const result = bernoulliCusum([true, false, false, true, true], 0.02, 0.2);
    expect(result.statistic).toBeCloseTo(3 * up + 2 * down, 12);
    expect(result).toMatchObject({ stretch: 5, badInStretch: 3 });
    // Enough good calls bring it back to 0 and start a new stretch.
    const reset = bernoulliCusum([true, ...Array.from({ length: 20 }, () => false), true], 0.02, 0.2);
    expect(reset).toMatchObject({ stretch: 1, badInStretch: 1 });
    expect(reset.statistic).toBeCloseTo(up, 12);
  });

  it('the cautious rate errs high with little history and approaches the observed rate with much', () => {
    const prior = { rate: 0.1, weight: 20 };
    expect(cautiousRate(0, 0, prior)).toBeGreaterThan(0.1);
    expect(cautiousRate(20, 1000, prior)).toBeGreaterThan(0.02);
    expect(cautiousRate(20, 1000, prior)).toBeLessThan(0.03);
    expect(cautiousRate(0, 1_000_000, prior)).toBe(0.01);
    expect(raisedRate(0.02, 0.15)).toBeCloseTo(0.17, 12);
    expect(raisedRate(0.3, 0.15)).toBeCloseTo(0.6, 12);
    expect(raisedRate(0.9, 0.15)).toBe(0.99);
  });
});

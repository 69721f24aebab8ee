import { describe, expect, it } from 'vitest';
import type { AggregatableInvocation } from '../storage/aggregate-invocations.ts';
import { sequentialRollbackTest } from './rollback-test.ts';

const options = { failureIncrease: 0.15, falseRollbackRate: 0.02, maxCalls: 40 } as const;

/** `failures` failed calls among `calls`, newest first, the failures the newest. */
function calls(count: number, failures: number): AggregatableInvocation[] {
  return Array.from({ length: count }, (_, index) => ({
    startedAt: count - index,
    latencyMs: 10,
    success: index >= failures,
  }));
}

describe('sequentialRollbackTest', () => {
  it('no calls yet: watches on', () => {
    const { outcome, evidence } = sequentialRollbackTest([], { calls: 100, failures: 5 }, options);
    expect(outcome).toBe('continue');
    expect(evidence).toMatchObject({ test: 'rollback', outcome: 'insufficient-data', calls: 0, events: 0 });
  });

  it('rolls back as soon as the failures cross the bound ln(2/α), saying why', () => {
    // Replaced: 5% failures over 100 calls → p₀ = (5 + 2) / 120; p₁ = p₀ + 0.15.
    const decision = sequentialRollbackTest(calls(6, 5), { calls: 100, failures: 5 }, options);
    expect(decision.outcome).toBe('rollback');
    expect(decision.evidence.bound).toBeCloseTo(Math.log(100), 12);
    expect(decision.evidence.statistic).toBeGreaterThanOrEqual(decision.evidence.bound);
    expect(decision.evidence.summary).toMatch(
      /^5 of the promoted version's 6 calls failed, 5 of the replaced version's 100 calls failed; a failure rate of 20\.8% instead of 5\.8%/,
    );
  });

  it('a single failure early does not roll back', () => {
    expect(sequentialRollbackTest(calls(3, 1), { calls: 100, failures: 5 }, options).outcome).toBe(
      'continue',
    );
  });

  it('keeps a version as good as the replaced one at the end of the watch', () => {
    const decision = sequentialRollbackTest(calls(40, 3), { calls: 100, failures: 5 }, options);
    expect(decision.outcome).toBe('keep');
    expect(decision.evidence.outcome).toBe('clear');
    expect(decision.evidence.summary).toMatch(/at the end of the watch.*not shown worse, kept$/);
  });

  it('rolls back at the end when the failures are significantly more, though never past the bound', () => {
    // 7 of 40 at p₀ ≈ 5.8%: the sequential ratio stays under ln 100, the binomial tail is below 0.01.
    const decision = sequentialRollbackTest(calls(40, 7).reverse(), { calls: 100, failures: 5 }, options);
    expect(decision.outcome).toBe('rollback');
    expect(decision.evidence.bound).toBe(0.01);
    expect(decision.evidence.statistic).toBeLessThan(0.01);
  });

  it('reads only the first maxCalls calls, and assumes ~10% failures without a baseline', () => {
    const decision = sequentialRollbackTest(calls(60, 0), { calls: 0, failures: 0 }, options);
    expect(decision.outcome).toBe('keep');
    expect(decision.evidence.calls).toBe(40);
    expect(decision.evidence.summary).toContain('no recorded calls (assumed ~10% failures)');
  });

  it('failing no more often than the replaced version is never worse', () => {
    expect(
      sequentialRollbackTest(calls(40, 2), { calls: 100, failures: 5 }, options).evidence.summary,
    ).toMatch(/no more often than the replaced version: not worse, kept$/);
  });

  it('a replaced version that always failed: all failures are not worse', () => {
    const decision = sequentialRollbackTest(calls(40, 40), { calls: 100, failures: 100 }, options);
    expect(decision.outcome).toBe('keep');
  });
});

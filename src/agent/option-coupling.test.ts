import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { Evaluator } from '../evaluation/evaluator.ts';
import { resolveEvaluatorOptions } from '../evaluation/evaluator-options.ts';
import { resolveImprovementOptions } from '../improvement/improvement-options.ts';
import { resolvePerformanceMemoryOptions } from '../memory/performance-memory-options.ts';
import { HardeningRewriter } from '../rewriting/hardening-rewriter.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { resolveAgentTimeouts } from './agent-options.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

/** The error `make` throws (it must throw an InvalidOptionError). */
function optionError(make: () => unknown): InvalidOptionError {
  try {
    make();
  } catch (error) {
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    return error as InvalidOptionError;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('coupled options: an unset one derives from the set one', () => {
  it('improvement.watchCalls below 10 builds an agent (the watch evaluator lowers its thresholds)', async () => {
    for (const watchCalls of [1, 2, 5, 9]) {
      const agent = new SelfImprovingAgent({ storage: memoryStorage(), improvement: { watchCalls } });
      expect(agent.improvement.watchCalls).toBe(watchCalls);
      await agent.close();
    }
    const strict = new Evaluator({ minInvocations: 15, degradation: { minBaselineInvocations: 12 } });
    const agent = new SelfImprovingAgent({
      storage: memoryStorage(),
      evaluator: strict,
      improvement: { watchCalls: 5 },
    });
    await agent.close();
  });

  it('window vs minInvocations: the default follows a small window; an error names only set options', () => {
    expect(resolveEvaluatorOptions({ window: 2 }).minInvocations).toBe(2);
    expect(resolveEvaluatorOptions({ window: 1 }).minInvocations).toBe(1);
    expect(resolveEvaluatorOptions({}).minInvocations).toBe(3);
    const error = optionError(() => resolveEvaluatorOptions({ minInvocations: 30 }));
    expect(error.message).toContain('minInvocations');
    expect(error.message).toContain('set window too');
    const both = optionError(() => resolveEvaluatorOptions({ window: 5, minInvocations: 6 }));
    expect(both.message).toContain('minInvocations');
    expect(both.message).not.toContain('default window');
  });

  it('window vs degradation.minBaselineInvocations: the default follows the window', () => {
    const resolved = resolveEvaluatorOptions({ window: 4 });
    expect(resolved.degradation !== false ? resolved.degradation.minBaselineInvocations : undefined).toBe(4);
    const error = optionError(() => resolveEvaluatorOptions({ degradation: { minBaselineInvocations: 25 } }));
    expect(error.message).toContain('set window too');
  });

  it('targetLatencyMs vs maxLatencyMs: setting one moves the default of the other', () => {
    expect(resolveEvaluatorOptions({ targetLatencyMs: 6_000 })).toMatchObject({
      targetLatencyMs: 6_000,
      maxLatencyMs: 30_000,
    });
    expect(resolveEvaluatorOptions({ maxLatencyMs: 500 })).toMatchObject({
      targetLatencyMs: 100,
      maxLatencyMs: 500,
    });
    expect(resolveEvaluatorOptions({})).toMatchObject({ targetLatencyMs: 1000, maxLatencyMs: 5000 });
    const both = optionError(() => resolveEvaluatorOptions({ targetLatencyMs: 300, maxLatencyMs: 200 }));
    expect(both.message).toContain('maxLatencyMs');
    expect(both.message).toContain('targetLatencyMs (300)');
  });

  it('improvement.leaseMs vs modelTimeoutMs: each default derives from the other; a conflict of set values names both', () => {
    const fromModel = resolveAgentTimeouts({ modelTimeoutMs: 300_000 });
    expect(fromModel.modelTimeoutMs).toBe(300_000);
    expect(resolveImprovementOptions({}, { ms: 300_000, set: true }).leaseMs).toBe(600_000);
    const fromLease = resolveAgentTimeouts({ improvement: { leaseMs: 10_000 } });
    expect(fromLease.modelTimeoutMs).toBe(5_000);
    expect(resolveImprovementOptions({ leaseMs: 10_000 }, { ms: 5_000, set: false }).leaseMs).toBe(10_000);
    expect(resolveAgentTimeouts({}).modelTimeoutMs).toBe(120_000);
    expect(resolveImprovementOptions({}).leaseMs).toBe(240_000);
    const conflict = optionError(
      () =>
        new SelfImprovingAgent({
          storage: memoryStorage(),
          modelTimeoutMs: 60_000,
          improvement: { leaseMs: 30_000 },
        }),
    );
    expect(conflict.message).toContain('improvement.leaseMs');
    expect(conflict.message).toContain('modelTimeoutMs (60000)');
  });

  it('modelTimeoutMs and closeTimeoutMs are validated', () => {
    expect(optionError(() => resolveAgentTimeouts({ modelTimeoutMs: 0 })).message).toContain(
      'modelTimeoutMs',
    );
    expect(optionError(() => resolveAgentTimeouts({ closeTimeoutMs: -1 })).message).toContain(
      'closeTimeoutMs',
    );
    expect(resolveAgentTimeouts({}).closeTimeoutMs).toBe(10_000);
  });

  it('memory: batch.maxRecords vs maxBufferedRecords, retry.initialDelayMs vs retry.maxDelayMs', () => {
    const big = resolvePerformanceMemoryOptions({ batch: { maxRecords: 200_000 } });
    expect(big.maxBufferedRecords).toBe(200_000);
    const slow = resolvePerformanceMemoryOptions({ retry: { initialDelayMs: 60_000 } });
    expect(slow.retry.maxDelayMs).toBe(60_000);
    expect(resolvePerformanceMemoryOptions({}).retry.maxDelayMs).toBe(30_000);
    const both = optionError(() =>
      resolvePerformanceMemoryOptions({ batch: { maxRecords: 500 }, maxBufferedRecords: 100 }),
    );
    expect(both.message).toContain('maxBufferedRecords');
  });

  it('hardening: baseDelayMs follows a small maxDelayMs', () => {
    expect(new HardeningRewriter({ maxDelayMs: 50 }).options).toMatchObject({
      baseDelayMs: 50,
      maxDelayMs: 50,
    });
    expect(new HardeningRewriter({ baseDelayMs: 5_000 }).options).toMatchObject({ maxDelayMs: 5_000 });
    expect(() => new HardeningRewriter({ baseDelayMs: 500, maxDelayMs: 100 })).toThrow(/maxDelayMs/);
  });
});

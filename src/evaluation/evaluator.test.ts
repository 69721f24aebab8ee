import { afterEach, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { PerformanceMemory, type RecordInput } from '../memory/performance-memory.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { EvaluationSource } from './evaluator.ts';
import { Evaluator } from './evaluator.ts';

/** These cases pin the `'window'` policy (0.1's default); the sequential policy has its own below. */
const WINDOW = { policy: 'window' } as const;

const memories: PerformanceMemory[] = [];
afterEach(async () => {
  for (const memory of memories.splice(0)) await memory.close();
});

function newMemory(): PerformanceMemory {
  const memory = new PerformanceMemory({ storage: memoryStorage() });
  memories.push(memory);
  return memory;
}

let clock = 1_700_000_000_000;
/** Records `count` calls of `fetch_rate` (oldest first), then flushes them to storage. */
async function feed(
  memory: PerformanceMemory,
  count: number,
  call: Partial<RecordInput> & { fail?: (index: number) => boolean } = {},
): Promise<void> {
  const { fail, ...overrides } = call;
  for (let index = 0; index < count; index += 1) {
    clock += 1000;
    const failed = fail?.(index) ?? false;
    memory.record({
      toolName: 'fetch_rate',
      version: 1,
      startedAt: clock,
      latencyMs: 100,
      success: !failed,
      inputHash: `h${index}`,
      ...(failed ? { errorMessage: `HTTP 503 on call ${index}` } : {}),
      ...overrides,
    });
  }
  await memory.flush();
}

describe('Evaluator.evaluate over a PerformanceMemory', () => {
  it('scores only the given version: v1’s failures do not touch v2', async () => {
    const memory = newMemory();
    await feed(memory, 20, { version: 1, fail: () => true, latencyMs: 4000 });
    await feed(memory, 20, { version: 2, latencyMs: 200 });
    const evaluator = new Evaluator({ ...WINDOW, clock: () => 42 });

    const v2 = await evaluator.evaluate(memory, 'fetch_rate', { version: 2 });
    expect(v2).toMatchObject({
      toolName: 'fetch_rate',
      version: 2,
      score: 1,
      components: { successRate: 1, latency: 1, consistency: 1 },
      needsRewrite: false,
      reasons: [],
      baseline: null,
      evaluatedAt: 42,
    });
    expect(v2.summary).toMatchObject({ version: 2, invocations: 20, successes: 20 });

    // v1: success 0, latency 1 − 3000/4000 = 0.25, consistency 1 → 0.075 + 0.2 = 0.275.
    const v1 = await evaluator.evaluate(memory, 'fetch_rate', { version: 1, now: 7 });
    expect(v1.score).toBeCloseTo(0.275, 12);
    expect(v1.needsRewrite).toBe(true);
    expect(v1.reasons.map((reason) => reason.code)).toEqual(['LOW_SCORE', 'LOW_SUCCESS', 'SLOW']);
    expect(v1.reasons[1]?.message).toBe(
      'success rate 0.00 (0 of 20 calls) is below the minimum 0.80; latest error: HTTP 503 on call 19',
    );
    expect(v1.evaluatedAt).toBe(7);
  });

  it('returns the same current-window summary as memory.summary', async () => {
    const memory = newMemory();
    await feed(memory, 35, { fail: (index) => index % 7 === 0, latencyMs: 150 });
    // Unflushed records count too (read-your-writes).
    clock += 1000;
    memory.record({
      toolName: 'fetch_rate',
      version: 1,
      startedAt: clock,
      latencyMs: 900,
      success: true,
      inputHash: 'late',
    });
    const result = await new Evaluator(WINDOW).evaluate(memory, 'fetch_rate', { version: 1 });
    expect(result.summary).toEqual(await memory.summary('fetch_rate', { version: 1, window: 20 }));
    // The baseline is the 16 calls before those 20 (36 recorded in all).
    expect(result.baseline?.invocations).toBe(16);
    expect(result.baseline?.lastAt).toBeLessThan(result.summary.firstAt as number);
  });

  it('flags DEGRADED when a version that was fine fails today, with a score above the threshold', async () => {
    const memory = newMemory();
    await feed(memory, 20); // yesterday: 20 of 20
    await feed(memory, 20, { fail: (index) => index < 4 }); // today: 16 of 20
    const result = await new Evaluator(WINDOW).evaluate(memory, 'fetch_rate', { version: 1 });
    // 0.5·0.8 + 0.3 + 0.2 = 0.9 ≥ 0.6 and 0.8 is not below minSuccessRate: only DEGRADED fires.
    expect(result.score).toBeCloseTo(0.9, 12);
    expect(result.needsRewrite).toBe(true);
    expect(result.reasons).toEqual([
      {
        code: 'DEGRADED',
        message:
          'success rate fell from 1.00 (20 of 20 calls) to 0.80 (16 of 20 calls), a drop of 0.20 (limit 0.20), compared with the 20 calls before the current window',
      },
    ]);
    expect(result.baseline).toMatchObject({ version: 1, invocations: 20, successes: 20 });
  });

  it('flags DEGRADED when the median latency doubled', async () => {
    const memory = newMemory();
    await feed(memory, 20, { latencyMs: 120 });
    await feed(memory, 20, { latencyMs: 480 });
    const result = await new Evaluator(WINDOW).evaluate(memory, 'fetch_rate', { version: 1 });
    expect(result.score).toBe(1);
    expect(result.reasons.map((reason) => reason.code)).toEqual(['DEGRADED']);
    expect(result.reasons[0]?.message).toContain('median latency rose from 120 ms to 480 ms (4×');
  });

  it('compares only with the same version: v1’s good history is no baseline for v2', async () => {
    const memory = newMemory();
    await feed(memory, 20, { version: 1 });
    await feed(memory, 20, { version: 2, fail: (index) => index < 4 });
    const result = await new Evaluator(WINDOW).evaluate(memory, 'fetch_rate', { version: 2 });
    expect(result.baseline).toBeNull();
    expect(result.needsRewrite).toBe(false);
    expect(result.reasons).toEqual([]);
  });

  it('does not compare with a baseline shorter than minBaselineInvocations', async () => {
    const memory = newMemory();
    await feed(memory, 9);
    await feed(memory, 20, { fail: (index) => index < 4 });
    const result = await new Evaluator(WINDOW).evaluate(memory, 'fetch_rate', { version: 1 });
    expect(result.baseline?.invocations).toBe(9);
    expect(result.needsRewrite).toBe(false);
    const strict = await new Evaluator({ ...WINDOW, degradation: { minBaselineInvocations: 9 } }).evaluate(
      memory,
      'fetch_rate',
      { version: 1 },
    );
    expect(strict.reasons.map((reason) => reason.code)).toEqual(['DEGRADED']);
  });

  it('reports INSUFFICIENT_DATA below minInvocations', async () => {
    const memory = newMemory();
    await feed(memory, 2, { fail: () => true });
    const result = await new Evaluator(WINDOW).evaluate(memory, 'fetch_rate', { version: 1 });
    expect(result.score).toBe(1);
    expect(result.needsRewrite).toBe(false);
    expect(result.reasons.map((reason) => reason.code)).toEqual(['INSUFFICIENT_DATA']);
    expect(result.summary.invocations).toBe(2);
    expect(result.baseline).toBeNull();
  });

  it('scores the window only: older calls beyond window are the baseline, not the score', async () => {
    const memory = newMemory();
    await feed(memory, 10, { fail: () => true });
    await feed(memory, 5);
    const result = await new Evaluator({ ...WINDOW, window: 5, degradation: false }).evaluate(
      memory,
      'fetch_rate',
      {
        version: 1,
      },
    );
    expect(result.score).toBe(1);
    expect(result.summary.invocations).toBe(5);
    expect(result.baseline).toBeNull();
  });
});

describe('Evaluator with other sources and arguments', () => {
  it('uses summary() alone when the source has no recent()', async () => {
    const calls: unknown[] = [];
    const source: EvaluationSource = {
      async summary(toolName, options) {
        calls.push([toolName, options]);
        return {
          toolName,
          version: options.version,
          invocations: 4,
          successes: 2,
          failures: 2,
          successRate: 0.5,
          latencyMs: { avg: 3000, min: 3000, max: 3000, p50: 3000, p95: 3000 },
          recentErrors: ['boom'],
          firstAt: 1,
          lastAt: 4,
        };
      },
    };
    const result = await new Evaluator({ ...WINDOW, window: 4 }).evaluate(source, 'slow_tool', {
      version: 3,
    });
    expect(calls).toEqual([['slow_tool', { version: 3, window: 4 }]]);
    // 0.5·0.5 + 0.3·0.5 + 0.2 = 0.6: not below the threshold.
    expect(result.score).toBeCloseTo(0.6, 12);
    expect(result.reasons.map((reason) => reason.code)).toEqual(['LOW_SUCCESS', 'SLOW']);
    expect(result.baseline).toBeNull();
  });

  it('uses summary() when degradation is off, even on a PerformanceMemory', async () => {
    const memory = newMemory();
    await feed(memory, 20);
    await feed(memory, 20, { fail: (index) => index < 4 });
    const result = await new Evaluator({ ...WINDOW, degradation: false }).evaluate(memory, 'fetch_rate', {
      version: 1,
    });
    expect(result.baseline).toBeNull();
    expect(result.reasons).toEqual([]);
  });

  it('exposes frozen options', () => {
    const evaluator = new Evaluator({ ...WINDOW, consistency: 'percentile' });
    expect(evaluator.options.consistency).toBe('percentile');
    expect(Object.isFrozen(evaluator.options)).toBe(true);
    expect(() => new Evaluator({ ...WINDOW, threshold: 2 })).toThrow(InvalidOptionError);
  });

  it.each([
    ['', { version: 1 }, 'toolName'],
    ['fetch_rate', { version: 0 }, 'version'],
    ['fetch_rate', { version: 1.5 }, 'version'],
    ['fetch_rate', { version: 1, now: Number.NaN }, 'now'],
    ['fetch_rate', null, 'options'],
  ])('rejects evaluate(%j, %j) naming %s', async (toolName, options, option) => {
    const error = await new Evaluator(WINDOW)
      .evaluate(newMemory(), toolName, options as never)
      .catch((caught: unknown) => caught);
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect((error as InvalidOptionError).field).toBe(option);
  });
});

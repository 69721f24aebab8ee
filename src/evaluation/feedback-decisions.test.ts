import { afterEach, describe, expect, it } from 'vitest';
import { TypedEmitter } from '../core/typed-emitter.ts';
import type { ImprovementEvents } from '../improvement/improvement-events.ts';
import { PromotionWatch } from '../improvement/promotion-watch.ts';
import { registryWithTool } from '../improvement/test-fakes.ts';
import { PerformanceMemory } from '../memory/performance-memory.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { Evaluator } from './evaluator.ts';

/**
 * Wrong answers the app reports (`agent.feedback` → `PerformanceMemory.giveFeedback`) reach the
 * decisions through the memory's own API: the evaluator's window and change test, and the
 * promotion watch, read them as failures.
 */
const memories: PerformanceMemory[] = [];
afterEach(async () => {
  for (const memory of memories.splice(0)) await memory.close();
});

function memoryWith(calls: number, version = 1): PerformanceMemory {
  const memory = new PerformanceMemory({ storage: memoryStorage() });
  memories.push(memory);
  for (let index = 0; index < calls; index += 1) {
    memory.record({
      toolName: 'tool',
      version,
      startedAt: 1_000 + index,
      latencyMs: 50,
      success: true,
      inputHash: `h${index}`,
      callId: `tool@${version}:call-${index}`,
    });
  }
  return memory;
}

describe('feedback in the decisions, through PerformanceMemory', () => {
  it('memory.calls() carries the verdicts; the evaluator counts wrong answers as failures', async () => {
    const memory = memoryWith(120);
    await memory.calls('tool', { version: 1, limit: 100 }); // seeds the window
    for (let index = 100; index < 120; index += 1) {
      memory.giveFeedback('tool', 1, { callId: `tool@1:call-${index}` }, false);
    }
    memory.giveFeedback('tool', 1, { callId: 'tool@1:call-99' }, true);
    const calls = await memory.calls('tool', { version: 1, limit: 100 });
    expect(calls[0]).toMatchObject({ callId: 'tool@1:call-119', feedback: 'wrong', success: true });
    expect(calls[20]).toMatchObject({ callId: 'tool@1:call-99', feedback: 'correct' });

    const evaluation = await new Evaluator({ clock: () => 1 }).evaluate(memory, 'tool', { version: 1 });
    expect(evaluation.feedback).toEqual({ correct: 1, wrong: 20 });
    expect(evaluation.summary).toMatchObject({ invocations: 20, failures: 20 });
    expect(evaluation.evidence.find((test) => test.test === 'failure-change')).toMatchObject({
      outcome: 'flagged',
      events: 20,
    });
    expect(evaluation.reasons.map((reason) => reason.code)).toContain('DEGRADED');
    // 0.1's window policy reads them too.
    const windowed = await new Evaluator({ policy: 'window', clock: () => 1 }).evaluate(memory, 'tool', {
      version: 1,
    });
    expect(windowed.feedback).toEqual({ correct: 1, wrong: 20 });
    expect(windowed.summary.failures).toBe(20);
  });

  it('a wrong verdict on a call that failed adds no failure, in the window or after it', async () => {
    const memory = new PerformanceMemory({ storage: memoryStorage() });
    memories.push(memory);
    for (let index = 0; index < 200; index += 1) {
      const failed = index < 10;
      memory.record({
        toolName: 'tool',
        version: 1,
        startedAt: 1_000 + index,
        latencyMs: 50,
        success: !failed,
        ...(failed ? { errorCode: 'TOOL_ERROR', errorMessage: 'boom' } : {}),
        inputHash: `h${index}`,
        callId: `tool@1:call-${index}`,
      });
      if (index === 15) await memory.calls('tool', { version: 1, limit: 100 }); // seeds the window
      if (failed) memory.giveFeedback('tool', 1, { callId: `tool@1:call-${index}` }, false);
    }
    // The failed calls have left the 100-call window: the counters still count them once.
    expect(memory.totals('tool', 1)).toMatchObject({ calls: 200, failures: 10, wrongAnswers: 0 });
    const evaluation = await new Evaluator({ clock: () => 1 }).evaluate(memory, 'tool', { version: 1 });
    expect(evaluation.evidence.find((test) => test.test === 'success-rate')).toMatchObject({
      calls: 200,
      events: 10,
    });
  });

  it('the promotion watch rolls back a version whose answers the app reports wrong', async () => {
    const registry = await registryWithTool();
    const v2 = await registry.addCandidate('add', {
      source: 'function add({ a, b }) { return a - b; }',
      parentVersion: 1,
      reason: 'test',
      author: 'test',
    });
    await registry.promote('add', v2.version, { expectedActive: 1, reason: 'test', automatic: true });
    const memory = new PerformanceMemory({ storage: memoryStorage() });
    memories.push(memory);
    for (let index = 0; index < 12; index += 1) {
      memory.record({
        toolName: 'add',
        version: 2,
        startedAt: 1_000 + index,
        latencyMs: 5,
        success: true,
        inputHash: `h${index}`,
        callId: `add@2:call-${index}`,
      });
      memory.giveFeedback('add', 2, { callId: `add@2:call-${index}` }, false);
    }
    const events = new TypedEmitter<ImprovementEvents>();
    const rolledBack: string[] = [];
    events.on('tool:rolled-back', (event) => rolledBack.push(event.evidence.summary));
    const watch = new PromotionWatch({
      evaluator: new Evaluator({ clock: () => 1 }),
      memory,
      registry,
      catalog: { set: () => undefined as never, refresh: async () => undefined },
      events,
      options: { watchCalls: 40, falseRollbackRate: 0.02, rollbackFailureIncrease: 0.15, pinned: [] },
      actor: 'test',
    });
    watch.start('add', {
      version: 2,
      previousVersion: 1,
      previousScore: 1,
      baseline: { calls: 100, failures: 2 },
    });
    const current = watch.get('add');
    if (!current) throw new Error('not watched');
    current.calls = 12;
    expect(await watch.check('add', current)).toBe('rolled-back');
    expect(rolledBack[0]).toMatch(/^12 of the promoted version's 12 calls failed/);
    expect((await registry.tool('add')).activeVersion).toBe(1);
  });
});

/**
 * After a storage failure around a promotion, the agent's events and watch match what storage
 * holds: committed → `tool:promoted` and a watch (which can roll back); not committed →
 * `improvement:failed`, nothing active, and a later improvement can still promote.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Evaluator } from '../evaluation/evaluator.ts';
import type { Rewriter } from '../rewriting/rewriter.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { JsonValue } from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import type { AgentEvents } from './agent-events.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

const v1 = `function parse_amount({ text, legacy }) {
  if (legacy) throw new Error('cannot parse legacy amount ' + text);
  return Number(text);
}`;
// Passes the gate, then does worse on `mode: "x"` traffic: the watch rolls it back.
const fragile = `function parse_amount({ text, legacy, mode }) {
  if (mode === 'x') throw new Error('mode x is not supported');
  const cleaned = legacy ? String(text).replace(/,/g, '') : text;
  return Number(cleaned);
}`;

const rewriter: Rewriter = {
  name: 'scripted',
  rewrite: async () => ({ source: fragile, rationale: 'handles legacy amounts', author: 'llm-rewriter' }),
};

interface Faults {
  /** compareAndSetActive commits, then throws (a connection lost during COMMIT). */
  lostCommit: boolean;
  /** The next N getTool calls fail (the registry's read-back after the lost COMMIT). */
  failedReads: number;
  /** The audit entry inside compareAndSetActive cannot be stored: the transaction fails. */
  auditFails: boolean;
  /** The improvement summary entry (`improvement:finished`) cannot be appended. */
  summaryFails: boolean;
}

function faultyStorage(faults: Faults): StorageAdapter {
  const inner = memoryStorage();
  return {
    ...inner,
    async compareAndSetActive(toolName, expected, next, audit, options) {
      if (faults.auditFails && audit)
        return inner.compareAndSetActive(
          toolName,
          expected,
          next,
          { ...audit, evidence: { unstorable: 1n } as unknown as JsonValue },
          options,
        );
      const result = await inner.compareAndSetActive(toolName, expected, next, audit, options);
      if (faults.lostCommit) {
        faults.lostCommit = false;
        throw new Error('connection lost while COMMIT was in flight');
      }
      return result;
    },
    async getTool(name) {
      if (faults.failedReads > 0) {
        faults.failedReads -= 1;
        throw new Error('connection refused');
      }
      return inner.getTool(name);
    },
    async appendAudit(entry) {
      if (faults.summaryFails && entry.type === 'improvement:finished') throw new Error('disk full');
      return inner.appendAudit(entry);
    },
  };
}

async function start(faults: Faults) {
  const storage = faultyStorage(faults);
  const agent = new SelfImprovingAgent({
    sandbox,
    storage,
    rewriter,
    // Scored on success alone: whether the watch rolls v2 back must not depend on how steady
    // sub-millisecond latencies happen to be on a busy machine.
    // The 'window' policy flags the tool after 5 calls: these tests are about promotion outcomes.
    evaluator: new Evaluator({ policy: 'window', weights: { successRate: 1, latency: 0, consistency: 0 } }),
    improvement: { evaluateEvery: 5, cooldownMs: 0, watchCalls: 10, shadowCalls: 0 },
  });
  await agent.addTool({
    name: 'parse_amount',
    description: 'Parses an amount',
    inputSchema: {
      type: 'object',
      properties: { text: { type: 'string' }, legacy: { type: 'boolean' }, mode: { type: 'string' } },
      required: ['text'],
    },
    source: v1,
    examples: [{ input: { text: '12.5' }, output: 12.5 }],
  });
  const events: Partial<Record<keyof AgentEvents, unknown[]>> = {};
  for (const name of [
    'tool:promoted',
    'tool:rolled-back',
    'improvement:failed',
    'improvement:attempt-failed',
    'improvement:skipped',
  ] as const) {
    events[name] = [];
    agent.on(name, (event: unknown) => events[name]?.push(event));
  }
  const traffic = async (count: number, input: (index: number) => object) => {
    for (let index = 0; index < count; index += 1)
      await agent.invoke('parse_amount', input(index)).catch(() => undefined);
    await agent.idle();
  };
  const promotions = async () =>
    (await agent.registry.history('parse_amount', { type: 'tool:promoted' })).map((entry) => [
      entry.fromVersion,
      entry.toVersion,
    ]);
  return { agent, events, traffic, promotions };
}

const legacy = (index: number) => (index % 5 < 3 ? { text: '1,000', legacy: true } : { text: '5' });
const modeX = () => ({ text: '3', mode: 'x' });

describe('the agent after a storage failure around a promotion', () => {
  it('treats a committed promotion whose COMMIT reply was lost as promoted, and watches it', async () => {
    const faults = { lostCommit: true, failedReads: 0, auditFails: false, summaryFails: false };
    const { agent, events, traffic, promotions } = await start(faults);
    // The swap commits, its reply is lost, and the registry's own read-back fails too.
    const original = agent.registry.storage.compareAndSetActive;
    agent.registry.storage.compareAndSetActive = async (...args) => {
      try {
        return await original(...args);
      } catch (error) {
        faults.failedReads = 1;
        throw error;
      }
    };
    await traffic(5, legacy);
    expect(events['improvement:failed']).toEqual([]);
    expect(events['tool:promoted']).toEqual([expect.objectContaining({ fromVersion: 1, toVersion: 2 })]);
    expect((await agent.registry.active('parse_amount')).version).toBe(2);
    expect(await promotions()).toEqual([[1, 2]]);
    // The watch runs: v2 does worse and is rolled back.
    await traffic(10, modeX);
    expect(events['tool:rolled-back']).toEqual([expect.objectContaining({ fromVersion: 2, toVersion: 1 })]);
    expect((await agent.registry.active('parse_amount')).version).toBe(1);
    await agent.close();
  });

  it('reports a promotion whose transaction failed as failed, leaves v1 active, and promotes on a later try', async () => {
    const faults = { lostCommit: false, failedReads: 0, auditFails: true, summaryFails: false };
    const { agent, events, traffic, promotions } = await start(faults);
    await traffic(5, legacy);
    expect(events['tool:promoted']).toEqual([]);
    expect(events['improvement:failed']).toHaveLength(1);
    expect((await agent.registry.active('parse_amount')).version).toBe(1);
    expect(await promotions()).toEqual([]);
    faults.auditFails = false;
    await traffic(5, legacy);
    expect(events['tool:promoted']).toEqual([expect.objectContaining({ fromVersion: 1, toVersion: 3 })]);
    expect(await promotions()).toEqual([[1, 3]]);
    await agent.close();
  });

  it('keeps a committed promotion promoted (and watched) when only the improvement summary cannot be written', async () => {
    const faults = { lostCommit: false, failedReads: 0, auditFails: false, summaryFails: true };
    const { agent, events, traffic, promotions } = await start(faults);
    await traffic(5, legacy);
    expect(events['improvement:failed']).toEqual([]);
    expect(events['tool:promoted']).toHaveLength(1);
    expect(await promotions()).toEqual([[1, 2]]);
    await traffic(10, modeX);
    expect(events['tool:rolled-back']).toHaveLength(1);
    await agent.close();
  });

  it('keeps watching a promoted version whose rollback transaction failed, and rolls it back later', async () => {
    const faults = { lostCommit: false, failedReads: 0, auditFails: false, summaryFails: false };
    const { agent, events, traffic } = await start(faults);
    await traffic(5, legacy);
    expect(events['tool:promoted']).toHaveLength(1);
    faults.auditFails = true;
    await traffic(10, modeX);
    expect(events['tool:rolled-back']).toEqual([]);
    expect((await agent.registry.active('parse_amount')).version).toBe(2);
    expect(await agent.registry.history('parse_amount', { type: 'tool:rolled-back' })).toEqual([]);
    faults.auditFails = false;
    // The next call of v2 checks the watch again, and the rollback goes through.
    await traffic(1, modeX);
    expect(events['tool:rolled-back']).toEqual([expect.objectContaining({ fromVersion: 2, toVersion: 1 })]);
    expect((await agent.registry.active('parse_amount')).version).toBe(1);
    await agent.close();
  });

  it('refuses an automatic promotion and rollback when a pin lands just before the swap, and says so', async () => {
    const faults = { lostCommit: false, failedReads: 0, auditFails: false, summaryFails: false };
    const { agent, events, traffic, promotions } = await start(faults);
    const storage = agent.registry.storage;
    const swap = storage.compareAndSetActive;
    let pinBeforeSwap = true;
    // A person pins the tool (another process) after the improver checked the pin, before the swap.
    storage.compareAndSetActive = async (...args) => {
      if (pinBeforeSwap) {
        pinBeforeSwap = false;
        await storage.setPinned('parse_amount', true);
      }
      return swap(...args);
    };
    await traffic(5, legacy);
    expect(events['tool:promoted']).toEqual([]);
    // Refused like a conflict: the attempt failed at the promotion stage, nothing was promoted.
    expect(events['improvement:attempt-failed']).toEqual([
      expect.objectContaining({ toolName: 'parse_amount', stage: 'promotion', codes: ['TOOL_PINNED'] }),
    ]);
    expect(events['improvement:failed']).toEqual([
      expect.objectContaining({ toolName: 'parse_amount', codes: ['TOOL_PINNED'] }),
    ]);
    expect(await agent.registry.tool('parse_amount')).toMatchObject({ activeVersion: 1, pinned: true });
    expect(await promotions()).toEqual([]);

    // Unpinned: promoted and watched; the pin lands again just before the rollback's swap.
    await storage.setPinned('parse_amount', false);
    await traffic(5, legacy);
    expect(events['tool:promoted']).toHaveLength(1);
    pinBeforeSwap = true;
    await traffic(10, modeX);
    expect(events['tool:rolled-back']).toEqual([]);
    expect(events['improvement:failed']).toHaveLength(1);
    expect(events['improvement:skipped']).toContainEqual(
      expect.objectContaining({ toolName: 'parse_amount', reason: 'pinned' }),
    );
    expect(await agent.registry.tool('parse_amount')).toMatchObject({ activeVersion: 3, pinned: true });
    await agent.close();
  });
});

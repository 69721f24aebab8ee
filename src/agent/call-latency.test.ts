/**
 * The latency the agent records is the call's own: the sandbox's start-up (a new pool compiling
 * and instantiating QuickJS, a tool's first QuickJS instance on its worker) is reported apart,
 * as `startupMs`, and left out. No wall-time bounds: a fake clock for the exact arithmetic, and
 * for the real sandbox a relation between the reported parts and what the caller measured.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ToolInvokedEvent } from '../runtime/runtime-events.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { SandboxError } from '../sandbox/sandbox-error.ts';
import type { SandboxRunResult } from '../sandbox/sandbox-result.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const halve = {
  name: 'halve',
  description: 'Half of n',
  inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
  source: 'function halve({ n }) {\n  return n / 2;\n}',
};

async function agentWith(sandbox: QuickJsSandbox) {
  const agent = new SelfImprovingAgent({ storage: memoryStorage(), sandbox, closeStorage: true });
  await agent.addTool(halve);
  const events: ToolInvokedEvent[] = [];
  agent.on('tool:invoked', (event) => events.push(event));
  return { agent, events };
}

/**
 * Calls `call` until `warm()` holds (the worker finished building its spare instance, which a
 * call posted meanwhile waits for and reports as start-up); fails after 100 tries.
 */
async function untilWarm(call: () => Promise<unknown>, warm: () => boolean): Promise<void> {
  for (let tries = 0; tries < 100; tries += 1) {
    await call();
    if (warm()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('every call reported sandbox start-up');
}

describe('call latency', () => {
  afterEach(() => vi.restoreAllMocks());

  it('leaves the start-up the sandbox reports out of the recorded latency (fake clock)', async () => {
    const sandbox = new QuickJsSandbox({ workers: 1 });
    const { agent, events } = await agentWith(sandbox);
    let clock = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    // A slow start-up (500 ms) before a 3 ms call, then a warm 4 ms call, then a failing call
    // that also waited 200 ms for start-up.
    const plan = [
      { startupMs: 500, callMs: 3, fail: false },
      { startupMs: 0, callMs: 4, fail: false },
      { startupMs: 200, callMs: 7, fail: true },
    ];
    let index = 0;
    vi.spyOn(sandbox, 'runDetailed').mockImplementation(async () => {
      const step = plan[index++] as (typeof plan)[number];
      clock += step.startupMs + step.callMs;
      const durationMs = step.startupMs + step.callMs;
      if (step.fail) {
        throw new SandboxError({
          code: 'TOOL_ERROR',
          message: 'boom',
          durationMs,
          startupMs: step.startupMs,
        });
      }
      return {
        value: 21,
        logs: [],
        durationMs,
        executionMs: step.callMs,
        startupMs: step.startupMs,
        requests: 0,
        denials: [],
      } satisfies SandboxRunResult;
    });
    try {
      expect(await agent.invoke('halve', { n: 42 })).toBe(21);
      expect(await agent.invoke('halve', { n: 42 })).toBe(21);
      await expect(agent.invoke('halve', { n: 42 })).rejects.toThrow(/boom/);
      expect(events.map((event) => [event.latencyMs, event.startupMs])).toEqual([
        [3, 500],
        [4, undefined],
        [7, 200],
      ]);
      const recorded = await agent.memory.recent('halve', { limit: 10 });
      expect(recorded.map((call) => call.latencyMs).reverse()).toEqual([3, 4, 7]);
    } finally {
      vi.restoreAllMocks();
      await agent.close();
      await sandbox.close();
    }
  });

  it("reports a new sandbox's start-up apart from the first call, and none once warm", async () => {
    const sandbox = new QuickJsSandbox({ workers: 1 });
    const { agent, events } = await agentWith(sandbox);
    try {
      const started = performance.now();
      expect(await agent.invoke('halve', { n: 42 })).toBe(21);
      const elapsed = performance.now() - started;
      const first = events[0];
      // The first call of a new process waited for the pool to start: reported, not counted.
      expect(first?.startupMs).toBeGreaterThan(0);
      expect((first?.latencyMs ?? 0) + (first?.startupMs ?? 0)).toBeLessThanOrEqual(elapsed);
      // Once the worker has built its next spare instance, calls start nothing.
      await untilWarm(
        () => agent.invoke('halve', { n: 8 }),
        () => events.at(-1)?.startupMs === undefined,
      );
      const recorded = (await agent.memory.recent('halve', { limit: 100 })).reverse();
      expect(recorded.map((call) => call.latencyMs)).toEqual(events.map((event) => event.latencyMs));
    } finally {
      await agent.close();
      await sandbox.close();
    }
  }, 60_000);

  it('runDetailed reports start-up only while the sandbox starts', async () => {
    const sandbox = new QuickJsSandbox({ workers: 1 });
    try {
      const call = { source: halve.source, entry: 'halve' };
      const first = await sandbox.runDetailed(call, { n: 2 });
      expect(first.startupMs).toBeGreaterThan(0);
      expect(first.startupMs).toBeLessThanOrEqual(first.durationMs);
      let last = first;
      await untilWarm(
        async () => {
          last = await sandbox.runDetailed(call, { n: 2 });
        },
        () => last.startupMs === 0,
      );
      expect(last.startupMs).toBe(0);
    } finally {
      await sandbox.close();
    }
  }, 60_000);
});

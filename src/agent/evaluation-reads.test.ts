/**
 * The evaluations the agent runs every `evaluateEvery` calls read the memory's in-memory window:
 * after the version's window is seeded (one read), calls and evaluations read no invocations
 * from storage. Counted through a store wrapping a real memoryStorage; a real sandbox.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ToolEvaluatedEvent } from '../improvement/improvement-events.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandboxes: QuickJsSandbox[] = [];
afterEach(async () => {
  for (const sandbox of sandboxes.splice(0)) await sandbox.close();
});

function countingStorage() {
  const counts = { recentInvocations: 0, aggregateWindow: 0 };
  const storage: StorageAdapter = new Proxy(memoryStorage(), {
    get(target, property, receiver) {
      if (property === 'recentInvocations' || property === 'aggregateWindow') {
        return (...args: unknown[]) => {
          counts[property] += 1;
          return (target[property] as (...parameters: unknown[]) => unknown)(...args);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
  return { storage, counts };
}

describe('agent: evaluations without storage reads', () => {
  it('evaluates every 5 calls from the window; storage is read once, to seed it', async () => {
    const { storage, counts } = countingStorage();
    const sandbox = new QuickJsSandbox({ workers: 1 });
    sandboxes.push(sandbox);
    const agent = new SelfImprovingAgent({
      storage,
      sandbox,
      closeStorage: true,
      improvement: { evaluateEvery: 5 },
    });
    await agent.addTool({
      name: 'halve',
      description: 'Half of n',
      inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
      source: 'function halve({ n }) {\n  return n / 2;\n}',
    });
    const evaluations: ToolEvaluatedEvent[] = [];
    agent.on('tool:evaluated', (event) => evaluations.push(event));
    for (let index = 0; index < 10; index += 1) await agent.invoke('halve', { n: index });
    await agent.idle();
    expect(evaluations).toHaveLength(2);
    expect(counts).toEqual({ recentInvocations: 1, aggregateWindow: 0 });

    for (let index = 0; index < 50; index += 1) await agent.invoke('halve', { n: index });
    await agent.idle();
    expect(evaluations).toHaveLength(12);
    expect(counts).toEqual({ recentInvocations: 1, aggregateWindow: 0 });
    // The last evaluation saw the last 20 calls, all of version 1, all successful.
    expect(evaluations.at(-1)?.evaluation.summary).toMatchObject({
      version: 1,
      invocations: 20,
      successes: 20,
    });
    expect(agent.memory.statistics('halve', 1)).toMatchObject({ calls: 60, successes: 60, seeded: true });
    await agent.close();
  });
});

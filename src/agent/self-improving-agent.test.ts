import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RateServer, rateToolSource, startRateServer } from '../../test/support/rate-server.ts';
import { HardeningRewriter } from '../rewriting/hardening-rewriter.ts';
import { ToolInvocationError } from '../runtime/runtime-errors.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { scriptedModel } from '../testing/scripted-model.ts';
import type { AgentEvents } from './agent-events.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 2, timeoutMs: 10_000 });
let server: RateServer;
beforeAll(async () => {
  server = await startRateServer();
});
afterAll(async () => {
  await server.close();
  await sandbox.close();
});

const fetchSource = rateToolSource;
const convertSource =
  'function convert_currency({ amount, rate }) {\n  return Math.round(amount * rate * 100) / 100;\n}';

/** Records every event name (and a few fields) in order. */
function recordEvents(agent: SelfImprovingAgent): string[] {
  const seen: string[] = [];
  const names: (keyof AgentEvents)[] = [
    'tool:created',
    'tool:evaluated',
    'improvement:started',
    'improvement:attempt-failed',
    'regression:completed',
    'tool:promoted',
    'improvement:failed',
    'tool:rolled-back',
    'improvement:skipped',
  ];
  for (const name of names) {
    agent.on(name, (event: { toolName: string; reason?: string; stage?: string }) => {
      seen.push(
        `${name}:${event.toolName}${event.reason ? `:${event.reason}` : ''}${event.stage ? `:${event.stage}` : ''}`,
      );
    });
  }
  return seen;
}

function conversionModel(hostPort: string) {
  return scriptedModel((call) => {
    if (call.kind === 'generator') {
      return {
        text: `\`\`\`js\n${call.toolName === 'fetch_exchange_rate' ? fetchSource(hostPort) : convertSource}\n\`\`\``,
      };
    }
    if (call.kind === 'rewriter') return { text: 'I cannot improve this.' };
    const done = call.toolResults.map((result) => result.toolName);
    const rate = call.toolResults.find((result) => result.toolName === 'fetch_exchange_rate')?.output;
    if (!done.includes('request_new_tool')) {
      return {
        toolCalls: [
          {
            toolName: 'request_new_tool',
            input: {
              name: 'fetch_exchange_rate',
              description: 'Current exchange rate between two currencies',
              inputSchema: {
                type: 'object',
                properties: { from: { type: 'string' }, to: { type: 'string' } },
                required: ['from', 'to'],
              },
              returns: 'the rate as a number',
              examples: [{ input: { from: 'USD', to: 'ILS' }, output: 3.7 }],
              network: [hostPort],
            },
          },
        ],
      };
    }
    if (!done.includes('fetch_exchange_rate')) {
      return { toolCalls: [{ toolName: 'fetch_exchange_rate', input: { from: 'USD', to: 'ILS' } }] };
    }
    if (done.filter((name) => name === 'request_new_tool').length < 2) {
      return {
        toolCalls: [
          {
            toolName: 'request_new_tool',
            input: {
              name: 'convert_currency',
              description: 'Converts an amount with a rate, rounded to cents',
              inputSchema: {
                type: 'object',
                properties: { amount: { type: 'number' }, rate: { type: 'number' } },
                required: ['amount', 'rate'],
              },
              returns: 'the converted amount',
              examples: [{ input: { amount: 5000, rate: 3.7 }, output: 18500 }],
            },
          },
        ],
      };
    }
    if (!done.includes('convert_currency')) {
      return { toolCalls: [{ toolName: 'convert_currency', input: { amount: 5000, rate } }] };
    }
    const converted = call.toolResults.find((result) => result.toolName === 'convert_currency')?.output;
    return { text: `5000 USD is ${converted} ILS.` };
  });
}

describe('SelfImprovingAgent: the closed loop', () => {
  it('creates tools mid-run, then rewrites, gates and promotes a degrading tool; v2 serves ≥ 95%', async () => {
    server.failRate = 0;
    const storage = memoryStorage();
    const agent = new SelfImprovingAgent({
      model: conversionModel(server.hostPort),
      storage,
      sandbox,
      rewriter: new HardeningRewriter({ baseDelayMs: 2, maxDelayMs: 20 }),
      improvement: { evaluateEvery: 5, cooldownMs: 0 },
      creation: { network: { allow: [server.hostPort] } },
    });
    const events = recordEvents(agent);
    const promoted: Parameters<AgentEvents['tool:promoted']>[0][] = [];
    agent.on('tool:promoted', (event) => promoted.push(event));

    const result = await agent.run('Convert 5000 USD to ILS');
    expect(result.text).toBe('5000 USD is 18500 ILS.');
    expect(result.toolCalls.map((call) => call.toolName)).toEqual([
      'request_new_tool',
      'fetch_exchange_rate',
      'request_new_tool',
      'convert_currency',
    ]);
    expect(result.usage.totalTokens).toBeGreaterThan(0);
    expect(events.slice(0, 2)).toEqual(['tool:created:fetch_exchange_rate', 'tool:created:convert_currency']);

    server.failRate = 0.6;
    let failures = 0;
    for (let call = 0; call < 40 && promoted.length === 0; call += 1) {
      await agent.invoke('fetch_exchange_rate', { from: 'USD', to: 'ILS' }).catch((error: unknown) => {
        expect(ToolInvocationError.isInstance(error)).toBe(true);
        failures += 1;
      });
      if (call % 5 === 4) await agent.idle();
    }
    await agent.idle();
    expect(failures).toBeGreaterThanOrEqual(2);
    expect(promoted).toHaveLength(1);
    const [promotion] = promoted;
    expect(promotion).toMatchObject({
      toolName: 'fetch_exchange_rate',
      fromVersion: 1,
      toVersion: 2,
      author: 'hardening',
    });
    expect(promotion?.evaluation.needsRewrite).toBe(true);
    expect(promotion?.regression.verdict).toBe('promote');
    expect(promotion?.loop.attempts).toBeGreaterThanOrEqual(1);
    const order = events.filter((event) => event.includes('fetch_exchange_rate'));
    const started = order.indexOf('improvement:started:fetch_exchange_rate');
    expect(started).toBeGreaterThan(0);
    expect(order[started - 1]).toBe('tool:evaluated:fetch_exchange_rate');
    expect(order.slice(started).filter((event) => !event.startsWith('improvement:attempt-failed'))).toEqual(
      expect.arrayContaining([
        'regression:completed:fetch_exchange_rate',
        'tool:promoted:fetch_exchange_rate',
      ]),
    );
    expect(order.indexOf('regression:completed:fetch_exchange_rate')).toBeLessThan(
      order.indexOf('tool:promoted:fetch_exchange_rate'),
    );

    const versions: number[] = [];
    agent.on('tool:invoked', (event) => versions.push(event.version));
    let successes = 0;
    for (let call = 0; call < 100; call += 1) {
      const rate = await agent.invoke('fetch_exchange_rate', { from: 'USD', to: 'ILS' }).catch(() => null);
      if (rate === 3.7) successes += 1;
    }
    expect(new Set(versions)).toEqual(new Set([2]));
    expect(successes / 100).toBeGreaterThanOrEqual(0.95);
    await agent.idle();
    expect((await agent.registry.active('convert_currency')).version).toBe(1);
    expect((await agent.registry.active('fetch_exchange_rate')).version).toBe(2);
    const summary = await agent.memory.summary('fetch_exchange_rate', { version: 2, window: 100 });
    expect(summary.successRate).toBeGreaterThanOrEqual(0.95);
    await agent.close();
    await storage.close();
  });
});

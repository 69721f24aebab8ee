import type { ToolSet } from 'ai';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidToolError } from '../registry/registry-errors.ts';
import { ToolInvocationError } from '../runtime/runtime-errors.ts';
import type { ToolInvokedEvent } from '../runtime/runtime-events.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
afterAll(() => sandbox.close());

const totalSchema = {
  type: 'object',
  properties: { total: { type: 'number', minimum: 0 }, currency: { type: 'string', enum: ['EUR', 'USD'] } },
  required: ['total', 'currency'],
  additionalProperties: false,
};

/** Returns a good result for small amounts, and each kind of wrong one for the others. */
const source = `function price({ amount }) {
  if (amount === 1) return { total: 1, currency: 'EUR' };
  if (amount === 2) return { total: '2', currency: 'EUR' };
  if (amount === 3) return { total: -3, currency: 'GBP', extra: 'x'.repeat(5000) };
  if (amount === 4) return 'SECRET-LOOKING-' + 'y'.repeat(20000);
  return { total: amount, currency: 'USD' };
}`;

async function invocationError(call: Promise<unknown>): Promise<ToolInvocationError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(ToolInvocationError.isInstance(error)).toBe(true);
  return error as ToolInvocationError;
}

describe('addTool with an outputSchema', () => {
  let storage: StorageAdapter;
  let agent: SelfImprovingAgent;
  let events: ToolInvokedEvent[];

  beforeEach(async () => {
    storage = memoryStorage();
    agent = new SelfImprovingAgent({ storage, sandbox });
    events = [];
    agent.on('tool:invoked', (event) => events.push(event));
  });
  afterEach(() => agent.close());

  const add = (outputSchema: unknown, extra: Record<string, unknown> = {}) =>
    agent.addTool({
      name: 'price',
      description: 'prices an amount',
      inputSchema: { type: 'object', properties: { amount: { type: 'number' } }, required: ['amount'] },
      outputSchema: outputSchema as never,
      source,
      ...extra,
    });

  it('stores it on version 1, shows it in listTools, and accepts results that match it', async () => {
    const version = await add(totalSchema);
    expect(version.outputSchema).toEqual(totalSchema);
    expect((await storage.getVersion('price', 1))?.outputSchema).toEqual(totalSchema);
    const [listed] = await agent.listTools();
    expect(listed?.version.outputSchema).toEqual(totalSchema);
    expect(listed?.outputSchema?.validate({ total: 1, currency: 'EUR' })).toEqual([]);
    expect(await agent.invoke('price', { amount: 1 })).toEqual({ total: 1, currency: 'EUR' });
    expect(events.at(-1)).toMatchObject({ toolName: 'price', success: true });
  });

  it('a tool without one accepts any result, as before', async () => {
    const version = await add(undefined);
    expect('outputSchema' in version).toBe(false);
    expect((await agent.listTools())[0]?.outputSchema).toBeUndefined();
    expect(await agent.invoke('price', { amount: 2 })).toEqual({ total: '2', currency: 'EUR' });
  });

  it.each([
    ['not an object', 'a string', 'outputSchema', 'a JSON Schema object'],
    ['an array', [{ type: 'string' }], 'outputSchema', 'a JSON Schema object'],
    ['an unknown type', { type: 'text' }, 'outputSchema', 'valid JSON Schema'],
    [
      'a bad keyword value deep inside',
      { properties: { a: { minimum: 'x' } } },
      'outputSchema',
      '/properties/a',
    ],
    [
      'a remote $ref',
      { properties: { a: { $ref: 'https://example.com/s.json' } } },
      'outputSchema/properties/a',
      '$ref',
    ],
    ['propertyNames: false', { type: 'object', propertyNames: false }, 'outputSchema', 'propertyNames'],
    ['a huge schema', { description: 'x'.repeat(70_000) }, 'outputSchema', '65536 characters'],
  ])(
    'refuses %s with InvalidToolError naming the field and path; nothing is written',
    async (_label, schema, field, words) => {
      const error = await add(schema).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(InvalidToolError.isInstance(error)).toBe(true);
      expect((error as InvalidToolError).field).toBe(field);
      expect((error as Error).message).toContain(words);
      expect(await storage.listTools()).toEqual([]);
      expect(await agent.listTools()).toEqual([]);
    },
  );

  it('refuses an example whose output its own outputSchema refuses', async () => {
    const error = await add(totalSchema, {
      examples: [
        { input: { amount: 1 }, output: { total: 1, currency: 'EUR' } },
        { input: { amount: 5 }, output: { total: 5 } },
      ],
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(InvalidToolError.isInstance(error)).toBe(true);
    expect((error as InvalidToolError).field).toBe('examples[1].output');
    expect((error as Error).message).toContain('currency');
    expect(await storage.listTools()).toEqual([]);
  });

  it('fails a call whose result violates it with INVALID_OUTPUT: recorded, thrown, in the event and the AI SDK answer', async () => {
    await add(totalSchema);
    const wrongType = await invocationError(agent.invoke('price', { amount: 2 }));
    expect(wrongType.errorCode).toBe('INVALID_OUTPUT');
    expect(wrongType.message).toContain('/total');
    expect(wrongType.message).toContain('INVALID_OUTPUT');

    const several = await invocationError(agent.invoke('price', { amount: 3 }));
    expect(several.errorCode).toBe('INVALID_OUTPUT');
    expect(several.message).toMatch(/\/total|\/currency|\/extra/);
    // Tool output is hostile: the message names paths, never the value.
    expect(several.message).not.toContain('xxxxxxxxxx');

    const scalar = await invocationError(agent.invoke('price', { amount: 4 }));
    expect(scalar.message).toContain('(output root)');
    expect(scalar.message).not.toContain('SECRET-LOOKING');
    expect(scalar.message.length).toBeLessThan(1000);

    expect(events.map((event) => [event.success, event.error?.code])).toEqual([
      [false, 'INVALID_OUTPUT'],
      [false, 'INVALID_OUTPUT'],
      [false, 'INVALID_OUTPUT'],
    ]);

    const priceTool = agent.tools().price as ToolSet[string] & {
      execute: (input: unknown, options: unknown) => Promise<unknown>;
    };
    const answer = (await priceTool.execute({ amount: 2 }, { toolCallId: 'c1', messages: [] })) as {
      error: { code: string; message: string };
    };
    expect(answer.error.code).toBe('INVALID_OUTPUT');
    expect(answer.error.message).toContain('/total');
    expect(await priceTool.execute({ amount: 7 }, { toolCallId: 'c2', messages: [] })).toEqual({
      total: 7,
      currency: 'USD',
    });

    await agent.memory.flush();
    const recorded = await storage.recentInvocations({ toolName: 'price', limit: 10 });
    const oldestFirst = [...recorded].sort((a, b) => a.id - b.id);
    expect(oldestFirst.map((call) => [call.success, call.errorCode ?? null])).toEqual([
      [false, 'INVALID_OUTPUT'],
      [false, 'INVALID_OUTPUT'],
      [false, 'INVALID_OUTPUT'],
      [false, 'INVALID_OUTPUT'],
      [true, null],
    ]);
    // The refused value is not kept as the call's output.
    expect(oldestFirst[0]?.output).toBeUndefined();
    expect(JSON.stringify(oldestFirst)).not.toContain('SECRET-LOOKING');
  });
});

import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PLAIN_JSON_LIMITS } from '../core/plain-json.ts';
import { InvalidToolError } from '../registry/registry-errors.ts';
import { ToolRegistry } from '../registry/tool-registry.ts';
import { InvalidExpectationError, InvalidTestCaseError } from '../regression/regression-errors.ts';
import { ToolInputError } from '../runtime/runtime-errors.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { scriptedModel } from '../testing/scripted-model.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
afterAll(() => sandbox.close());

function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { n: 1 };
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}

function cyclic(): Record<string, unknown> {
  const value: Record<string, unknown> = { n: 1 };
  value.self = value;
  return value;
}

/** Each kind of non-JSON input, with the path and words the refusal must name. */
const NOT_JSON: [string, () => Record<string, unknown>, string, string][] = [
  ['a cycle', cyclic, 'input.self', 'a cycle'],
  ['a BigInt', () => ({ n: 1n }), 'input.n', 'a BigInt'],
  [
    'Infinity for an integer',
    () => ({ n: Number.POSITIVE_INFINITY }),
    'input.n',
    'Infinity is not a finite number',
  ],
  ['NaN', () => ({ n: Number.NaN }), 'input.n', 'NaN is not a finite number'],
  [
    'input nested 100k deep',
    () => nested(100_000),
    `input${'.a'.repeat(PLAIN_JSON_LIMITS.maxDepth)}`,
    'nested deeper',
  ],
  ['a Date', () => ({ n: 1, when: new Date(0) }), 'input.when', 'a Date'],
  ['a function', () => ({ n: 1, f: () => 1 }), 'input.f', 'a function'],
  ['undefined in an array', () => ({ n: 1, list: [undefined] }), 'input.list[0]', 'undefined'],
  [
    'a getter',
    () => Object.defineProperty({ n: 1 }, 'g', { get: () => 1, enumerable: true }),
    'input.g',
    'a getter',
  ],
];

describe('agent input must be plain JSON', () => {
  let storage: StorageAdapter;
  let agent: SelfImprovingAgent;
  let runs: number;

  beforeEach(async () => {
    storage = memoryStorage();
    agent = new SelfImprovingAgent({ storage, sandbox });
    await agent.addTool({
      name: 'echo_n',
      description: 'returns n',
      inputSchema: { type: 'object', properties: { n: { type: 'integer' } } },
      source: 'function echo_n(input) { return input.n; }',
    });
    runs = 0;
    agent.on('tool:invoked', () => {
      runs += 1;
    });
  });
  afterEach(() => agent.close());

  async function recorded(): Promise<number> {
    await agent.memory.flush();
    return (await storage.recentInvocations({ toolName: 'echo_n', limit: 100 })).length;
  }

  it.each(NOT_JSON)(
    'invoke() refuses %s with ToolInputError naming the path; nothing runs or is recorded',
    async (_kind, make, path, words) => {
      const error = await agent.invoke('echo_n', make()).catch((caught: unknown) => caught);
      expect(ToolInputError.isInstance(error)).toBe(true);
      const problems = (error as ToolInputError).problems;
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(`${path}: `);
      expect(problems[0]).toContain(words);
      expect((error as ToolInputError).message).toContain('is not plain JSON');
      expect(runs).toBe(0);
      expect(await recorded()).toBe(0);
    },
  );

  it.each(NOT_JSON)(
    'the AI SDK tool answers %s with TOOL_INPUT_INVALID; nothing runs or is recorded',
    async (_kind, make, path) => {
      const echo = (await agent.toolSet()).echo_n;
      const answer = await echo?.execute?.(make(), { toolCallId: 'call-1', messages: [] } as never);
      expect(answer).toMatchObject({ error: { code: 'TOOL_INPUT_INVALID' } });
      expect((answer as { error: { message: string } }).error.message).toContain(`${path}: `);
      expect(runs).toBe(0);
      expect(await recorded()).toBe(0);
    },
  );

  it('still runs and records plain JSON input', async () => {
    expect(await agent.invoke('echo_n', { n: 7 })).toBe(7);
    expect(runs).toBe(1);
    expect(await recorded()).toBe(1);
  });
});

describe('other entry points refuse non-JSON input values with the path', () => {
  it.each(NOT_JSON)('sandbox.run refuses %s before anything runs', async (_kind, make, path) => {
    const error = await sandbox
      .run({ source: 'function f(input) { return 1; }', entry: 'f' }, make())
      .catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('INVALID_OPTION');
    expect((error as Error).message).toContain(`${path}: `);
  });

  it.each(NOT_JSON)(
    'regression addCase refuses %s as a case input; nothing stored',
    async (_kind, make, path) => {
      const storage = memoryStorage();
      const agent = new SelfImprovingAgent({ storage, sandbox });
      try {
        await agent.addTool({
          name: 'echo_n',
          description: 'returns n',
          inputSchema: { type: 'object' },
          source: 'function echo_n(input) { return input.n; }',
        });
        const error = await agent.regression
          .addCase('echo_n', { input: make() as never, expect: { equals: 1 }, description: 'd' })
          .catch((caught: unknown) => caught);
        expect(InvalidTestCaseError.isInstance(error)).toBe(true);
        expect((error as InvalidTestCaseError).field).toBe(path.replace(/^input/, 'case.input'));
        expect(await agent.regression.cases('echo_n')).toEqual([]);
      } finally {
        await agent.close();
      }
    },
  );

  it.each(NOT_JSON)('an expectation holding %s is refused with its path', async (_kind, make, path) => {
    const storage = memoryStorage();
    const agent = new SelfImprovingAgent({ storage, sandbox });
    try {
      await agent.addTool({
        name: 'echo_n',
        description: 'returns n',
        inputSchema: { type: 'object' },
        source: 'function echo_n(input) { return input.n; }',
      });
      const error = await agent.regression
        .addCase('echo_n', { input: { n: 1 }, expect: { equals: make() as never }, description: 'd' })
        .catch((caught: unknown) => caught);
      expect(InvalidExpectationError.isInstance(error)).toBe(true);
      expect((error as InvalidExpectationError).field).toBe(path.replace(/^input/, 'case.expect.equals'));
    } finally {
      await agent.close();
    }
  });

  it.each(NOT_JSON.filter(([kind]) => kind !== 'a getter'))(
    'registry examples refuse %s as an example input; nothing created',
    async (_kind, make, path) => {
      const storage = memoryStorage();
      const registry = new ToolRegistry({ storage });
      const error = await registry
        .create({
          name: 'echo_n',
          description: 'returns n',
          inputSchema: { type: 'object' },
          source: 'function echo_n(input) { return input.n; }',
          examples: [{ input: make() as never, output: 1 }],
        })
        .catch((caught: unknown) => caught);
      expect(InvalidToolError.isInstance(error)).toBe(true);
      expect((error as InvalidToolError).field).toBe(path.replace(/^input/, 'examples[0].input'));
      expect(await storage.listTools()).toEqual([]);
    },
  );
});

describe('request_new_tool examples', () => {
  it.each(NOT_JSON.filter(([kind]) => kind !== 'a getter'))(
    'an example input holding %s is refused before the model writes anything; nothing created',
    async (_kind, make) => {
      let modelCalls = 0;
      const model = scriptedModel(() => {
        modelCalls += 1;
        return { text: 'function echo_n(input) { return input.n; }' };
      });
      const storage = memoryStorage();
      const agent = new SelfImprovingAgent({ storage, sandbox, model });
      try {
        const request = (await agent.toolSet()).request_new_tool;
        const answer = await request?.execute?.(
          {
            name: 'echo_n',
            description: 'returns n',
            inputSchema: { type: 'object' },
            returns: 'n',
            examples: [{ input: make(), output: 1 }],
          },
          { toolCallId: 'call-1', messages: [] } as never,
        );
        expect(answer).toMatchObject({ ok: false, error: { code: 'GENERATION_FAILED' } });
        expect((answer as { error: { message: string } }).error.message).toContain('spec.examples[0].input');
        expect(modelCalls).toBe(0);
        expect(await storage.listTools()).toEqual([]);
      } finally {
        await agent.close();
      }
    },
  );
});

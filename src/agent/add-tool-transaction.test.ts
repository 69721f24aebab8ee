/**
 * `agent.addTool({ ..., tests })` is all or nothing: every test is checked before anything is
 * written, and the tool, its version, its example cases, its tests and its audit entry are one
 * `createTool` transaction. A refused test leaves no tool behind, so the corrected call works
 * (no TOOL_EXISTS).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidExpectationError, InvalidTestCaseError } from '../regression/regression-errors.ts';
import type { RegressionCaseInput } from '../regression/regression-runner.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { NewTool } from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { type AgentToolDefinition, SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

const valid: RegressionCaseInput = { input: { a: 2, b: 3 }, expect: { equals: 5 }, description: 'adds' };

function definition(tests: RegressionCaseInput[]): AgentToolDefinition {
  return {
    name: 'add_numbers',
    description: 'Adds a and b',
    inputSchema: {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    },
    source: 'function add_numbers({ a, b }) { return a + b; }',
    examples: [{ input: { a: 1, b: 2 }, output: 3 }],
    tests,
  };
}

/** A memory store that records what each creation carried and counts separate case writes. */
function recordingStorage() {
  const inner = memoryStorage();
  const created: NewTool[] = [];
  let separateCases = 0;
  const storage: StorageAdapter = {
    ...inner,
    createTool: (tool) => {
      created.push(tool);
      return inner.createTool(tool);
    },
    addTestCase: (toolName, testCase) => {
      separateCases += 1;
      return inner.addTestCase(toolName, testCase);
    },
  };
  return { storage, created, separateCases: () => separateCases };
}

async function refusal(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected addTool to be refused');
}

const invalidTests: [string, RegressionCaseInput, (error: Error) => boolean, string][] = [
  [
    'an input the input schema refuses',
    { input: { a: 'two', b: 3 }, expect: { equals: 5 }, description: 'strings' },
    InvalidTestCaseError.isInstance,
    'tests[1].input',
  ],
  [
    'an input that is not plain JSON',
    { input: { a: 1, b: 2n } as never, expect: { equals: 3 }, description: 'bigint' },
    InvalidTestCaseError.isInstance,
    'tests[1].input.b',
  ],
  [
    'an expectation of the wrong shape',
    { input: { a: 1, b: 2 }, expect: { equal: 3 } as never, description: 'typo' },
    InvalidExpectationError.isInstance,
    'tests[1].expect',
  ],
  [
    'an empty description',
    { input: { a: 1, b: 2 }, expect: { equals: 3 }, description: ' ' },
    InvalidTestCaseError.isInstance,
    'tests[1].description',
  ],
];

describe('agent.addTool with tests', () => {
  it.each(invalidTests)(
    'refuses %s before anything is written; the corrected call succeeds',
    async (_label, bad, is, field) => {
      const { storage, created } = recordingStorage();
      const agent = new SelfImprovingAgent({ sandbox, storage });
      const events: unknown[] = [];
      agent.on('tool:created', (event) => events.push(event));
      try {
        const error = await refusal(agent.addTool(definition([valid, bad])));
        expect(is(error), String(error)).toBe(true);
        expect((error as InvalidTestCaseError).field.startsWith(field), (error as Error).message).toBe(true);
        expect(created).toEqual([]);
        expect(await storage.getTool('add_numbers')).toBeUndefined();
        expect(await storage.listTestCases('add_numbers')).toEqual([]);
        expect(await storage.listAudit()).toEqual([]);
        expect(events).toEqual([]);

        await agent.addTool(definition([valid]));
        expect((await storage.getTool('add_numbers'))?.activeVersion).toBe(1);
        expect(events).toHaveLength(1);
      } finally {
        await agent.close();
      }
    },
  );

  it('writes the tests in the creation transaction, after the examples, with held-out cases as before', async () => {
    const { storage, created, separateCases } = recordingStorage();
    const agent = new SelfImprovingAgent({ sandbox, storage, regression: { heldOutFraction: 0.5 } });
    try {
      const tests = [1, 2, 3, 4].map(
        (n): RegressionCaseInput => ({
          input: { a: n, b: n },
          expect: { equals: 2 * n },
          description: `doubles ${n}`,
        }),
      );
      await agent.addTool(definition(tests));
      expect(separateCases()).toBe(0);
      expect(created).toHaveLength(1);
      expect(created[0]?.testCases).toHaveLength(5);
      const stored = await storage.listTestCases('add_numbers');
      expect(stored.map((testCase) => [testCase.origin, testCase.description, testCase.heldOut])).toEqual([
        ['example', 'example 1', false],
        ['manual', 'doubles 1', false],
        ['manual', 'doubles 2', true],
        ['manual', 'doubles 3', false],
        ['manual', 'doubles 4', true],
      ]);
      // The same held-out choice addCase makes one by one on a tool created without tests.
      await agent.regression.addCase('add_numbers', { ...valid, description: 'fifth' });
      expect((await storage.listTestCases('add_numbers')).at(-1)?.heldOut).toBe(false);
      expect((await agent.registry.history('add_numbers')).map((entry) => entry.type)).toEqual([
        'tool:created',
      ]);
    } finally {
      await agent.close();
    }
  });
});

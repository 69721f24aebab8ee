import { afterAll, describe, expect, it } from 'vitest';
import { ToolRegistry } from '../registry/tool-registry.ts';
import { InvalidTestCaseError } from '../regression/regression-errors.ts';
import { RegressionRunner } from '../regression/regression-runner.ts';
import type { RewriteRequest } from '../rewriting/rewriter.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { improveVersion } from './improve-version.ts';
import { evaluationOf, proposal, scriptedRewriter } from './test-fakes.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
afterAll(() => sandbox.close());

const outputSchema = {
  type: 'object',
  properties: { sum: { type: 'number' } },
  required: ['sum'],
  additionalProperties: false,
};
const V1 = 'function add({ a, b }) { if (a > 100) throw new Error("too big"); return { sum: a + b }; }';
// Right sum, wrong shape: passes a `matchesBaseline`-free numeric check but not the schema.
const WRONG_SHAPE = 'function add({ a, b }) { return { sum: a + b, note: "fast path" }; }';
const V2 = 'function add({ a, b }) { return { sum: a + b }; }';

async function setup() {
  const storage = memoryStorage();
  const registry = new ToolRegistry({ storage, actor: 'test' });
  const runner = new RegressionRunner({ storage, sandbox, repeats: 1 });
  await registry.create(
    {
      name: 'add',
      description: 'Adds two numbers',
      inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
      outputSchema,
      source: V1,
    },
    {
      testCases: runner.prepareCases(
        'add',
        [
          {
            input: { a: 1, b: 2 },
            expect: { schema: { type: 'object', required: ['sum'] } },
            description: 'has a sum',
          },
        ],
        { inputSchema: { type: 'object' } },
      ),
    },
  );
  return { storage, registry, runner };
}

describe('a rewrite and the output schema', () => {
  it('refuses a case whose expected output the output schema refuses: no candidate could pass it', async () => {
    const { runner } = await setup();
    const refused = runner.addCase('add', {
      input: { a: 1, b: 2 },
      expect: { equals: { sum: 3, note: 'extra' } },
      description: 'from feedback',
    });
    await expect(refused).rejects.toThrow(InvalidTestCaseError);
    await expect(refused).rejects.toThrow(/case\.expect\.equals/);
    expect(await runner.cases('add')).toHaveLength(1);
    await runner.addCase('add', {
      input: { a: 1, b: 2 },
      expect: { equals: { sum: 3 } },
      description: 'fine',
    });
    expect(await runner.cases('add')).toHaveLength(2);
  });

  it('fails a candidate whose result violates the schema in the gate, naming INVALID_OUTPUT', async () => {
    const { runner } = await setup();
    const report = await runner.run('add', WRONG_SHAPE);
    expect(report.passed).toBe(false);
    expect(report.cases[0]?.passed).toBe(false);
    expect(report.cases[0]?.error?.code).toBe('INVALID_OUTPUT');
    expect(report.reasons.join('\n')).toContain('INVALID_OUTPUT');
    expect(report.reasons.join('\n')).toContain('/note');
    expect((await runner.run('add', V2)).passed).toBe(true);
  });

  it('shows the rewriter the schema, rejects the violating proposal and keeps the schema on the new version', async () => {
    const { registry, runner, storage } = await setup();
    const seen: RewriteRequest[] = [];
    const result = await improveVersion({
      toolName: 'add',
      version: 1,
      evaluation: evaluationOf(0.5),
      rewriter: scriptedRewriter([proposal(WRONG_SHAPE), proposal(V2)], seen),
      gate: runner,
      tools: registry,
    });
    expect(result.ok).toBe(true);
    expect(result.codes).toContain('CASE_FAILED');
    expect(result.reasons.join('\n')).toContain('INVALID_OUTPUT');
    expect(seen[0]?.tool.outputSchema).toEqual(outputSchema);

    const added = await registry.addCandidate('add', {
      source: V2,
      parentVersion: 1,
      reason: 'rewrite',
      author: 'my-rewriter',
    });
    expect(added.outputSchema).toEqual(outputSchema);
    expect((await storage.getVersion('add', 2))?.outputSchema).toEqual(outputSchema);
    // A version derived from one without a schema has none either.
    await registry.create({
      name: 'plain',
      description: 'Plain',
      inputSchema: { type: 'object' },
      source: 'function plain() { return 1; }',
    });
    const plain = await registry.addCandidate('plain', {
      source: 'function plain() { return 2; }',
      parentVersion: 1,
      reason: 'rewrite',
      author: 'human',
    });
    expect('outputSchema' in plain).toBe(false);
  });
});

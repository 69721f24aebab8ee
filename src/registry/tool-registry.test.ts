import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { RegressionSideStats } from '../regression/regression-report.ts';
import { exampleCases } from '../regression/regression-runner.ts';
import { REGISTRY_AUDIT_TYPES } from '../storage/audit-evidence.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { ToolAuditEntry } from '../storage/records.ts';
import { ToolExistsError, ToolNotFoundError, VersionNotFoundError } from '../storage/storage-errors.ts';
import {
  InvalidToolError,
  PromotionConflictError,
  RollbackUnavailableError,
  ToolPinnedError,
} from './registry-errors.ts';
import { ToolRegistry } from './tool-registry.ts';

const addSource = 'function add_numbers({ a, b }) {\n  return a + b;\n}\n';
const addSchema = {
  type: 'object',
  properties: { a: { type: 'number' }, b: { type: 'number' } },
  required: ['a', 'b'],
};

async function setup() {
  const storage = memoryStorage();
  const registry = new ToolRegistry({ storage, actor: 'test' });
  await registry.create({
    name: 'add_numbers',
    description: 'Adds a and b',
    inputSchema: addSchema,
    source: addSource,
    capabilities: { network: ['api.example.com'] },
    examples: [
      { input: { a: 1, b: 2 }, output: 3 },
      { input: { a: -1, b: 1 }, output: 0 },
    ],
  });
  return { storage, registry };
}

describe('new ToolRegistry', () => {
  it.each([
    ['no storage', {}, 'options.storage'],
    ['a storage that is not an object', { storage: 'memory' }, 'options.storage'],
    ['a null storage', { storage: null }, 'options.storage'],
    ['a blank actor', { storage: memoryStorage(), actor: ' ' }, 'options.actor'],
    ['an actor that is not a string', { storage: memoryStorage(), actor: 7 }, 'options.actor'],
  ])('refuses %s with an InvalidOptionError naming the option', (_, options, field) => {
    let caught: unknown;
    try {
      new ToolRegistry(options as never);
    } catch (error) {
      caught = error;
    }
    expect(InvalidOptionError.isInstance(caught)).toBe(true);
    expect(InvalidToolError.isInstance(caught)).toBe(false);
    expect((caught as InvalidOptionError).field).toBe(field);
    expect((caught as InvalidOptionError).code).toBe('INVALID_OPTION');
  });
});

describe('ToolRegistry.create', () => {
  it('registers version 1 as active; examples are counted, cases come only from testCases', async () => {
    const { storage, registry } = await setup();
    const active = await registry.active('add_numbers');
    expect(active).toMatchObject({
      version: 1,
      source: addSource,
      parentVersion: null,
      inputSchema: addSchema,
      capabilities: { network: ['api.example.com'] },
      author: 'human',
    });
    // The regression runner builds case records (exampleCases, prepareCases); the registry only
    // writes the ones it is given, in the creation's transaction.
    expect(await storage.listTestCases('add_numbers')).toEqual([]);
    const history = await registry.history('add_numbers');
    expect(history.map((entry) => [entry.type, entry.actor, entry.toVersion])).toEqual([
      [REGISTRY_AUDIT_TYPES.created, 'test', 1],
    ]);
    expect(history[0]?.evidence).toMatchObject({ examples: 2 });
  });

  it('rejects a duplicate name with ToolExistsError', async () => {
    const { registry } = await setup();
    await expect(
      registry.create({
        name: 'add_numbers',
        description: 'again',
        inputSchema: addSchema,
        source: addSource,
      }),
    ).rejects.toSatisfy((error) => ToolExistsError.isInstance(error));
  });

  it.each([
    ['name', { name: 'AddNumbers' }, /Invalid "name".*snake_case.*"AddNumbers"/],
    ['long name', { name: `a${'b'.repeat(64)}` }, /Invalid "name"/],
    ['leading digit', { name: '1tool' }, /Invalid "name"/],
    ['description', { description: '  ' }, /Invalid "description": expected a non-empty string/],
    ['source', { source: 42 }, /Invalid "source".*received 42/],
    ['schema type', { inputSchema: { type: 'string' } }, /Invalid "inputSchema.type": expected "object"/],
    ['schema array', { inputSchema: [] }, /Invalid "inputSchema": expected a JSON Schema object/],
    [
      'schema NaN',
      { inputSchema: { type: 'object', maximum: Number.NaN } },
      /inputSchema.maximum.*finite number/,
    ],
    ['schema keyword', { inputSchema: { type: 'object', required: 'a' } }, /valid JSON Schema.*required/],
    ['network', { capabilities: { network: ['http://x.com/path'] } }, /capabilities.network\[0\]/],
    [
      'examples',
      { examples: [{ input: {} }] },
      /Invalid "examples\[0\]": expected an object \{ input, output \}/,
    ],
    ['example output', { examples: [{ input: {}, output: () => 1 }] }, /examples\[0\].output/],
    ['author', { author: '' }, /Invalid "author"/],
    ['long author', { author: 'x'.repeat(65) }, /Invalid "author"/],
    ['author with a line break', { author: 'a\nb' }, /Invalid "author"/],
  ])('rejects an invalid %s, naming the field, and writes nothing', async (_label, patch, message) => {
    const storage = memoryStorage();
    const registry = new ToolRegistry({ storage });
    const definition = {
      name: 'valid_tool',
      description: 'd',
      inputSchema: addSchema,
      source: 'function valid_tool() {}',
      ...patch,
    };
    const error = await registry.create(definition as never).catch((caught: unknown) => caught);
    expect(InvalidToolError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect(await storage.listTools()).toEqual([]);
  });

  it('accepts a zod 4 schema and stores zod’s JSON Schema conversion', async () => {
    const registry = new ToolRegistry({ storage: memoryStorage() });
    await registry.create({
      name: 'convert_currency',
      description: 'Converts',
      inputSchema: z.object({ amount: z.number().positive(), from: z.string().length(3) }),
      source: 'function convert_currency(input) { return input.amount; }',
    });
    const { inputSchema } = await registry.active('convert_currency');
    expect(inputSchema).toMatchObject({
      type: 'object',
      properties: {
        amount: { type: 'number', exclusiveMinimum: 0 },
        from: { type: 'string', minLength: 3, maxLength: 3 },
      },
      required: ['amount', 'from'],
    });
  });
});

describe('ToolRegistry versions, promotion and rollback', () => {
  it('adds immutable candidates that inherit schema and capabilities, with a diff in the audit', async () => {
    const { registry } = await setup();
    const v2 = await registry.addCandidate('add_numbers', {
      source: addSource.replace('a + b', 'Number(a) + Number(b)'),
      parentVersion: 1,
      reason: 'coerce strings',
      author: 'llm-rewriter',
    });
    expect(v2).toMatchObject({
      version: 2,
      parentVersion: 1,
      author: 'llm-rewriter',
      inputSchema: addSchema,
    });
    expect(v2.capabilities).toEqual({ network: ['api.example.com'] });
    expect((await registry.active('add_numbers')).version).toBe(1);
    const entry = (await registry.history('add_numbers', { type: REGISTRY_AUDIT_TYPES.candidateAdded }))[0];
    const diff = (entry?.evidence as { diff?: string } | undefined)?.diff ?? '';
    expect(diff).toContain('--- add_numbers@v1');
    expect(diff).toContain('+++ add_numbers@v2');
    expect(diff).toContain('-  return a + b;');
    expect(diff).toContain('+  return Number(a) + Number(b);');
    expect(await registry.diff('add_numbers', 1, 2)).toBe(diff);
  });

  it('promotes with compare-and-swap; a stale expectedActive fails with PromotionConflictError', async () => {
    const { registry } = await setup();
    const v2 = await registry.addCandidate('add_numbers', {
      source: `${addSource}// v2`,
      parentVersion: 1,
      reason: 'r',
      author: 'hardening',
    });
    const v3 = await registry.addCandidate('add_numbers', {
      source: `${addSource}// v3`,
      parentVersion: 1,
      reason: 'r',
      author: 'hardening',
    });
    const result = await registry.promote('add_numbers', v2.version, {
      expectedActive: 1,
      reason: 'gate passed',
      evidence: { regression: { passRate: 1 } },
    });
    expect(result).toMatchObject({ fromVersion: 1, toVersion: 2 });
    expect(result.audit.evidence).toMatchObject({ regression: { passRate: 1 } });
    const conflict = await registry
      .promote('add_numbers', v3.version, { expectedActive: 1, reason: 'stale' })
      .catch((error: unknown) => error);
    expect(PromotionConflictError.isInstance(conflict)).toBe(true);
    expect(conflict).toMatchObject({
      expectedActive: 1,
      actualActive: 2,
      requested: 3,
      code: 'PROMOTION_CONFLICT',
    });
    expect((await registry.active('add_numbers')).version).toBe(2);
  });

  it('takes typed evidence (a RegressionReport) as it is, and refuses evidence that is not plain JSON', async () => {
    const { registry } = await setup();
    const v2 = await registry.addCandidate('add_numbers', {
      source: `${addSource}// v2`,
      parentVersion: 1,
      reason: 'r',
      author: 'hardening',
    });
    // An interface (no index signature), as a RegressionReport or an Evaluation is.
    const baseline: RegressionSideStats = {
      version: 1,
      medianLatencyMs: 2,
      errorRate: 0,
      runs: 3,
      errors: 0,
    };
    const refused = await registry
      .promote('add_numbers', v2.version, {
        expectedActive: 1,
        reason: 'gate passed',
        evidence: { regression: { baseline, at: new Date(0) } },
      })
      .catch((error: unknown) => error);
    expect(InvalidToolError.isInstance(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/options\.evidence\.regression\.at/);
    expect((await registry.active('add_numbers')).version).toBe(1);

    const result = await registry.promote('add_numbers', v2.version, {
      expectedActive: 1,
      reason: 'gate passed',
      evidence: { regression: { baseline, note: undefined } },
    });
    expect(result.audit.evidence).toMatchObject({ regression: { baseline } });
    expect(Object.keys((result.audit.evidence as { regression: object }).regression)).toEqual(['baseline']);
  });

  it('lets exactly one of many concurrent promotions from the same base win', async () => {
    const { registry } = await setup();
    const candidates = [];
    for (let index = 0; index < 8; index += 1) {
      candidates.push(
        await registry.addCandidate('add_numbers', {
          source: `${addSource}// ${index}`,
          parentVersion: 1,
          reason: 'r',
          author: 'hardening',
        }),
      );
    }
    const outcomes = await Promise.allSettled(
      candidates.map((candidate) =>
        registry.promote('add_numbers', candidate.version, { expectedActive: 1, reason: 'race' }),
      ),
    );
    const winners = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(PromotionConflictError.isInstance(outcome.reason)).toBe(true);
    }
    expect(await registry.history('add_numbers', { type: REGISTRY_AUDIT_TYPES.promoted })).toHaveLength(1);
  });

  it('rolls back to the previously active version, then to an explicit one', async () => {
    const { registry } = await setup();
    const v2 = await registry.addCandidate('add_numbers', {
      source: `${addSource}// v2`,
      parentVersion: 1,
      reason: 'r',
      author: 'hardening',
    });
    const v3 = await registry.addCandidate('add_numbers', {
      source: `${addSource}// v3`,
      parentVersion: 2,
      reason: 'r',
      author: 'hardening',
    });
    await registry.promote('add_numbers', v3.version, { expectedActive: 1, reason: 'skip v2' });
    const back = await registry.rollback('add_numbers', { reason: 'v3 got worse', evidence: { score: 0.3 } });
    // v3's parent is v2, but v1 was active before v3: the audit log decides.
    expect(back).toMatchObject({ fromVersion: 3, toVersion: 1 });
    expect((await registry.active('add_numbers')).version).toBe(1);
    await registry.rollback('add_numbers', { to: v2.version, reason: 'try v2' });
    expect((await registry.active('add_numbers')).version).toBe(2);
    const types = (await registry.history('add_numbers')).map((entry) => entry.type);
    expect(types.filter((type) => type === REGISTRY_AUDIT_TYPES.rolledBack)).toHaveLength(2);
  });

  it('refuses a rollback with nothing before the first version', async () => {
    const { registry } = await setup();
    await expect(registry.rollback('add_numbers', { reason: 'x' })).rejects.toSatisfy(
      (error) => RollbackUnavailableError.isInstance(error) && /first version/.test((error as Error).message),
    );
  });

  it('refuses automatic promotion and rollback of a pinned tool, allows a person’s change', async () => {
    const { registry } = await setup();
    const v2 = await registry.addCandidate('add_numbers', {
      source: `${addSource}// v2`,
      parentVersion: 1,
      reason: 'r',
      author: 'human',
    });
    await registry.pin('add_numbers', { reason: 'hand-tuned' });
    const error = await registry
      .promote('add_numbers', v2.version, { expectedActive: 1, reason: 'auto' })
      .catch((caught: unknown) => caught);
    expect(ToolPinnedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/unpin/);
    await registry.promote('add_numbers', v2.version, {
      expectedActive: 1,
      reason: 'by hand',
      automatic: false,
      actor: 'human:alice',
    });
    await expect(registry.rollback('add_numbers', { reason: 'auto' })).rejects.toSatisfy((caught) =>
      ToolPinnedError.isInstance(caught),
    );
    await registry.unpin('add_numbers');
    await registry.rollback('add_numbers', { reason: 'auto' });
    expect((await registry.active('add_numbers')).version).toBe(1);
    const history = await registry.history('add_numbers');
    expect(history.map((entry) => `${entry.type}:${entry.actor}`)).toEqual([
      'tool:created:test',
      'tool:candidate-added:test',
      'tool:pinned:test',
      'tool:promoted:human:alice',
      'tool:unpinned:test',
      'tool:rolled-back:test',
    ]);
  });

  it('names missing tools and versions', async () => {
    const { registry } = await setup();
    await expect(registry.active('nope')).rejects.toSatisfy((error) => ToolNotFoundError.isInstance(error));
    await expect(registry.version('add_numbers', 9)).rejects.toSatisfy((error) =>
      VersionNotFoundError.isInstance(error),
    );
    await expect(registry.promote('add_numbers', 9, { expectedActive: 1, reason: 'x' })).rejects.toSatisfy(
      (error) => VersionNotFoundError.isInstance(error),
    );
    await expect(registry.promote('add_numbers', 1, { expectedActive: 1, reason: 'x' })).rejects.toSatisfy(
      (error) => InvalidToolError.isInstance(error),
    );
    await expect(
      registry.addCandidate('add_numbers', { source: 'x', parentVersion: 0, reason: 'r', author: 'human' }),
    ).rejects.toThrow(/Invalid "version": expected a version number/);
  });

  it('reads back a promotion whose outcome was lost (the store failed after committing)', async () => {
    const storage = memoryStorage();
    let failAfterCommit = true;
    const flaky = {
      ...storage,
      compareAndSetActive: async (name: string, expected: number, next: number, audit?: ToolAuditEntry) => {
        const result = await storage.compareAndSetActive(name, expected, next, audit);
        if (failAfterCommit) {
          failAfterCommit = false;
          throw new Error('connection lost during COMMIT');
        }
        return result;
      },
    };
    const registry = new ToolRegistry({ storage: flaky });
    await registry.create({
      name: 'add_numbers',
      description: 'adds',
      inputSchema: addSchema,
      source: addSource,
    });
    const v2 = await registry.addCandidate('add_numbers', {
      source: `${addSource}// v2`,
      parentVersion: 1,
      reason: 'r',
      author: 'hardening',
    });
    const result = await registry.promote('add_numbers', v2.version, {
      expectedActive: 1,
      reason: 'gate passed',
    });
    expect(result).toMatchObject({ fromVersion: 1, toVersion: 2 });
    expect(await registry.history('add_numbers', { type: REGISTRY_AUDIT_TYPES.promoted })).toHaveLength(1);
  });
});

describe('ToolRegistry.create with further test cases', () => {
  const definition = {
    name: 'add_numbers',
    description: 'Adds a and b',
    inputSchema: addSchema,
    source: addSource,
    examples: [{ input: { a: 1, b: 2 }, output: 3 }],
  };

  it('stores them after the example cases, in the creation transaction', async () => {
    const storage = memoryStorage();
    let separate = 0;
    const registry = new ToolRegistry({
      storage: {
        ...storage,
        addTestCase: (name, testCase) => {
          separate += 1;
          return storage.addTestCase(name, testCase);
        },
      },
    });
    const created = await registry.create(definition, {
      testCases: [
        ...exampleCases(definition.examples),
        { input: { a: 2, b: 2 }, expect: { equals: 4 }, description: 'twos', origin: 'manual' },
      ],
    });
    expect(separate).toBe(0);
    expect(created.testCases.map((testCase) => [testCase.origin, testCase.description])).toEqual([
      ['example', 'example 1'],
      ['manual', 'twos'],
    ]);
    expect(await storage.listTestCases('add_numbers')).toEqual(created.testCases);
  });

  it('refuses test cases that are not an array of objects, writing nothing', async () => {
    const storage = memoryStorage();
    const registry = new ToolRegistry({ storage });
    for (const testCases of [{}, [null]] as never[]) {
      await expect(registry.create(definition, { testCases })).rejects.toSatisfy(InvalidToolError.isInstance);
    }
    const unstorable = [
      { input: { a: 1n }, expect: { equals: 1 }, description: 'd', origin: 'manual' },
    ] as never;
    await expect(registry.create(definition, { testCases: unstorable })).rejects.toThrow();
    expect(await storage.getTool('add_numbers')).toBeUndefined();
    expect(await storage.listAudit()).toEqual([]);
    await registry.create(definition);
  });
});

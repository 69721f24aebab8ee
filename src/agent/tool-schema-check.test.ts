/**
 * Tool input schemas and what providers accept, without a network: `request_new_tool`'s own
 * schema needs no adaptation, keywords providers reject are refused at creation (by the app, by
 * the model, by the generator), and adapted keywords are left out of what the model is given
 * but still enforced on calls.
 */
import { asSchema } from '@ai-sdk/provider-utils';
import type { ToolSet } from 'ai';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkManifest, MANIFEST_FORMAT, sha256 } from '../cli/export-manifest.ts';
import { toProviderSchema } from '../core/provider-schema.ts';
import { UnsupportedSchemaError } from '../core/unsupported-schema-error.ts';
import { ToolGenerator } from '../generation/tool-generator.ts';
import { ToolRegistry } from '../registry/tool-registry.ts';
import { ToolInputError } from '../runtime/runtime-errors.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { JsonObject } from '../storage/records.ts';
import { scriptedModel } from '../testing/scripted-model.ts';
import type { AgentEvents } from './agent-events.ts';
import { requestNewToolInput } from './request-new-tool.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 30_000 });
afterAll(() => sandbox.close());

async function modelView(entry: ToolSet[string] | undefined): Promise<Record<string, unknown>> {
  if (entry === undefined) throw new Error('no such tool');
  return (await asSchema(entry.inputSchema).jsonSchema) as Record<string, unknown>;
}

function deepSchema(levels: number): Record<string, unknown> {
  let schema: Record<string, unknown> = { type: 'number' };
  for (let level = 0; level < levels; level += 1) schema = { type: 'object', properties: { x: schema } };
  return schema;
}

/** One schema per refused keyword, with the keyword and the JSON Pointer the error must name. */
const REFUSED: [string, Record<string, unknown>, string, string][] = [
  [
    'propertyNames: false',
    { type: 'object', properties: { tags: { type: 'object', propertyNames: false } } },
    'propertyNames',
    '/properties/tags',
  ],
  [
    'propertyNames with a number type',
    { type: 'object', properties: { tags: { type: 'object', propertyNames: { type: 'integer' } } } },
    'propertyNames',
    '/properties/tags',
  ],
  [
    'a remote $ref',
    { type: 'object', properties: { point: { $ref: 'https://example.com/point.json' } } },
    '$ref',
    '/properties/point',
  ],
];
// addTool and the registry refuse JSON nested deeper than 100 levels first (plain-JSON check),
// so deep schema nesting reaches this check only through the generator and request_new_tool.
const REFUSED_DEEP: typeof REFUSED = [
  ...REFUSED,
  ['nesting deeper than 64 levels', deepSchema(70), 'properties', '/properties/x'.repeat(64)],
];

describe('request_new_tool schema', () => {
  it('is what OpenAI accepts as it is: nothing to adapt, no propertyNames', async () => {
    const agent = new SelfImprovingAgent({
      storage: memoryStorage(),
      sandbox,
      model: scriptedModel(() => ({ text: 'x' })),
    });
    try {
      const schema = await modelView((await agent.toolSet()).request_new_tool);
      const view = toProviderSchema(schema);
      expect(view.adaptations).toEqual([]);
      expect(view.problems).toEqual([]);
      expect(JSON.stringify(schema)).not.toContain('propertyNames');
      // The free-form parts are still objects.
      const properties = schema.properties as Record<string, Record<string, unknown>>;
      expect(properties.inputSchema).toMatchObject({ type: 'object', properties: {} });
    } finally {
      await agent.close();
    }
  });

  it.each([
    ['an inputSchema that is an array', { inputSchema: [] }],
    ['an inputSchema that is a string', { inputSchema: '{"type":"object"}' }],
    ['an example input that is an array', { examples: [{ input: [1], output: 1 }] }],
    ['an example without output', { examples: [{ input: {} }] }],
    ['a name that is not snake_case', { name: 'Count Words' }],
    ['an empty description', { description: '' }],
  ])('still refuses %s (values are checked on our side)', (_kind, change) => {
    const valid = {
      name: 'count_words',
      description: 'counts words',
      inputSchema: { type: 'object' },
      returns: '{ words }',
      examples: [{ input: { text: 'a' }, output: { words: 1 } }],
    };
    expect(requestNewToolInput.safeParse(valid).success).toBe(true);
    expect(requestNewToolInput.safeParse({ ...valid, ...change }).success).toBe(false);
  });
});

describe('a keyword providers reject is refused at creation', () => {
  it.each(REFUSED)(
    'addTool refuses %s, naming the keyword and its path; nothing written',
    async (_kind, schema, keyword, path) => {
      const storage = memoryStorage();
      const agent = new SelfImprovingAgent({ storage, sandbox });
      try {
        const error = await agent
          .addTool({
            name: 'take_input',
            description: 'x',
            inputSchema: schema as JsonObject,
            source: 'function take_input() { return 1; }',
          })
          .catch((caught: unknown) => caught);
        expect(UnsupportedSchemaError.isInstance(error)).toBe(true);
        if (!UnsupportedSchemaError.isInstance(error)) return;
        expect(error.code).toBe('UNSUPPORTED_SCHEMA_KEYWORD');
        expect(error.keyword).toBe(keyword);
        expect(error.path).toBe(path);
        expect(error.field).toBe('inputSchema');
        expect(error.message).toContain(`"inputSchema" uses "${keyword}" at ${path}`);
        expect(await storage.listTools()).toEqual([]);
      } finally {
        await agent.close();
      }
    },
  );

  it.each(REFUSED)('registry.create refuses %s too', async (_kind, schema, keyword) => {
    const registry = new ToolRegistry({ storage: memoryStorage() });
    const error = await registry
      .create({
        name: 'take_input',
        description: 'x',
        inputSchema: schema as JsonObject,
        source: 'function take_input() { return 1; }',
      })
      .catch((caught: unknown) => caught);
    expect((error as UnsupportedSchemaError).keyword).toBe(keyword);
    expect(await registry.list()).toEqual([]);
  });

  it.each(REFUSED_DEEP)(
    'ToolGenerator.generate refuses %s before any model call',
    async (_kind, schema, keyword, path) => {
      let calls = 0;
      const generator = new ToolGenerator({
        model: scriptedModel(() => {
          calls += 1;
          return { text: 'function take_input() { return 1; }' };
        }),
        sandbox,
      });
      const error = await generator
        .generate({ name: 'take_input', description: 'x', inputSchema: schema, returns: 'a number' })
        .catch((caught: unknown) => caught);
      expect(UnsupportedSchemaError.isInstance(error)).toBe(true);
      expect((error as UnsupportedSchemaError).field).toBe('spec.inputSchema');
      expect((error as UnsupportedSchemaError).path).toBe(path);
      expect((error as UnsupportedSchemaError).keyword).toBe(keyword);
      expect(calls).toBe(0);
    },
  );

  it.each(REFUSED_DEEP)(
    'request_new_tool refuses %s with UNSUPPORTED_SCHEMA_KEYWORD before generating',
    async (_kind, schema, keyword, path) => {
      let generatorCalls = 0;
      const model = scriptedModel(() => {
        generatorCalls += 1;
        return { text: 'function take_input() { return 1; }' };
      });
      const storage = memoryStorage();
      const agent = new SelfImprovingAgent({ storage, sandbox, model });
      const refused: Parameters<AgentEvents['tool:refused']>[0][] = [];
      agent.on('tool:refused', (event) => refused.push(event));
      try {
        const execute = (
          (await agent.toolSet()).request_new_tool as {
            execute: (input: unknown, options: unknown) => Promise<unknown>;
          }
        ).execute;
        const answer = await execute(
          { name: 'take_input', description: 'x', inputSchema: schema, returns: 'a number' },
          { toolCallId: 'call-1', messages: [] },
        );
        expect(answer).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED_SCHEMA_KEYWORD' } });
        const message = (answer as { error: { message: string } }).error.message;
        expect(message).toContain(`"inputSchema" uses "${keyword}" at ${path}`);
        expect(message).toMatch(/Ask again with a changed inputSchema\.$/);
        expect(refused.map((event) => [event.toolName, event.code])).toEqual([
          ['take_input', 'UNSUPPORTED_SCHEMA_KEYWORD'],
        ]);
        expect(generatorCalls).toBe(0);
        expect(await storage.listTools()).toEqual([]);
      } finally {
        await agent.close();
      }
    },
  );
});

describe('adapted keywords', () => {
  it('are left out of what the model is given, listed on the tool, and still enforced on calls', async () => {
    const agent = new SelfImprovingAgent({ storage: memoryStorage(), sandbox });
    try {
      await agent.addTool({
        name: 'tally',
        description: 'adds named counts',
        inputSchema: z.object({
          counts: z.record(z.string().regex(/^[a-z]+$/), z.number()),
          label: z.string().regex(/^(?!tmp)[a-z]+$/),
          tags: z.array(z.string()).optional(),
        }),
        source:
          'function tally({ counts, label }) { return label + ":" + Object.values(counts).reduce((a, b) => a + b, 0); }',
      });
      const schema = await modelView((await agent.toolSet()).tally);
      expect(JSON.stringify(schema)).not.toContain('propertyNames');
      expect(JSON.stringify(schema)).not.toContain('(?!');
      const [managed] = await agent.listTools();
      expect(managed?.modelSchema.schema).toEqual(schema);
      expect(
        managed?.modelSchema.adaptations.map(
          (change) => `${change.action} ${change.keyword} at ${change.path}`,
        ),
      ).toEqual([
        'removed propertyNames at /properties/counts',
        'added properties at /properties/counts',
        'removed pattern at /properties/label',
      ]);
      expect(managed?.modelSchema.problems).toEqual([]);
      // The stored schema is the app's, whole.
      expect(JSON.stringify(managed?.version.inputSchema)).toContain('propertyNames');

      expect(await agent.invoke('tally', { counts: { a: 1, b: 2 }, label: 'total' })).toBe('total:3');
      for (const input of [
        { counts: { A: 1 }, label: 'total' },
        { counts: { a: 1 }, label: 'tmpfile' },
      ]) {
        const error = await agent.invoke('tally', input).catch((caught: unknown) => caught);
        expect(ToolInputError.isInstance(error)).toBe(true);
      }
    } finally {
      await agent.close();
    }
  });

  it('a tool stored before the check keeps working: the refused keyword is left out of the model view', async () => {
    const storage = memoryStorage();
    await storage.createTool({
      name: 'legacy',
      description: 'stored by an older version',
      firstVersion: {
        source: 'function legacy() { return 1; }',
        inputSchema: { type: 'object', properties: { options: { type: 'object', propertyNames: false } } },
        capabilities: { network: [] },
        parentVersion: null,
        reason: 'test',
        author: 'human',
      },
    });
    const agent = new SelfImprovingAgent({ storage, sandbox });
    try {
      await agent.ready();
      const schema = await modelView((await agent.toolSet()).legacy);
      expect(schema).toEqual({ type: 'object', properties: { options: { type: 'object', properties: {} } } });
      const [managed] = await agent.listTools();
      expect(managed?.modelSchema.problems.map((problem) => `${problem.keyword} at ${problem.path}`)).toEqual(
        ['propertyNames at /properties/options'],
      );
      // Still enforced: propertyNames: false allows only an empty object.
      expect(await agent.invoke('legacy', { options: {} })).toBe(1);
      const error = await agent.invoke('legacy', { options: { a: 1 } }).catch((caught: unknown) => caught);
      expect(ToolInputError.isInstance(error)).toBe(true);
    } finally {
      await agent.close();
    }
  });
});

describe('sia import', () => {
  it('lists a refused keyword in a manifest among its problems, naming where it is', () => {
    const tool = (name: string, inputSchema: JsonObject) => ({
      name,
      description: 'x',
      version: 1,
      author: 'human',
      inputSchema,
      capabilities: { network: [] },
      file: `${name}.js`,
      sha256: sha256('function x() {}'),
    });
    const result = checkManifest({
      format: MANIFEST_FORMAT,
      formatVersion: 1,
      tools: [
        tool('good', { type: 'object', properties: { tags: { type: 'array' } } }),
        tool('bad', { type: 'object', properties: { ref: { $ref: 'https://example.com/x.json' } } }),
      ],
    });
    expect(result).toEqual({
      problems: [
        expect.stringMatching(
          /^"tools\[1\]\.inputSchema" uses "\$ref" at \/properties\/ref, which model providers reject: /,
        ),
      ],
    });
  });
});

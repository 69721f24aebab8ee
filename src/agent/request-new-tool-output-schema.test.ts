import type { ToolSet } from 'ai';
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { type ScriptedCall, scriptedModel } from '../testing/scripted-model.ts';
import type { ToolRefusedEvent } from './agent-events.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
afterAll(() => sandbox.close());

const outputSchema = {
  type: 'object',
  properties: { celsius: { type: 'number' } },
  required: ['celsius'],
  additionalProperties: false,
};

const request = (extra: Record<string, unknown> = {}) => ({
  name: 'to_celsius',
  description: 'Converts Fahrenheit to Celsius',
  inputSchema: { type: 'object', properties: { f: { type: 'number' } }, required: ['f'] },
  returns: '{ celsius }',
  outputSchema,
  examples: [{ input: { f: 212 }, output: { celsius: 100 } }],
  ...extra,
});

const good = 'function to_celsius({ f }) { return { celsius: (f - 32) * 5 / 9 }; }';
const wrongShape = 'function to_celsius({ f }) { return { celsius: (f - 32) * 5 / 9, unit: "C" }; }';

/** An agent whose generator answers `answers` in turn; `prompts` collects generator prompts. */
function agentAnswering(answers: string[]) {
  const storage = memoryStorage();
  const prompts: string[] = [];
  const model = scriptedModel((call: ScriptedCall) => {
    if (call.kind !== 'generator') return { text: 'done' };
    prompts.push(call.text);
    return { text: `\`\`\`js\n${answers[Math.min(prompts.length - 1, answers.length - 1)]}\n\`\`\`` };
  });
  const agent = new SelfImprovingAgent({ model, storage, sandbox });
  const refused: ToolRefusedEvent[] = [];
  agent.on('tool:refused', (event) => refused.push(event));
  const create = async (input: unknown) =>
    (
      (await agent.toolSet()).request_new_tool as ToolSet[string] & {
        execute: (input: unknown, options: unknown) => Promise<Record<string, unknown>>;
      }
    ).execute(input, { toolCallId: 'call-1', messages: [] });
  return { agent, storage, prompts, refused, create };
}

describe('request_new_tool with an outputSchema', () => {
  it('stores the model schema on version 1 and holds the tool to it', async () => {
    const { agent, storage, create } = agentAnswering([good]);
    try {
      expect(await create(request())).toMatchObject({ ok: true, version: 1 });
      expect((await storage.getVersion('to_celsius', 1))?.outputSchema).toEqual(outputSchema);
      expect(await agent.invoke('to_celsius', { f: 32 })).toEqual({ celsius: 0 });
    } finally {
      await agent.close();
    }
  });

  it('retries when the generated code returns results outside the schema, so the tool never starts out violating it', async () => {
    const { agent, storage, prompts, create } = agentAnswering([wrongShape, good]);
    try {
      expect(await create(request())).toMatchObject({ ok: true });
      expect(prompts).toHaveLength(2);
      expect(prompts[1]).toContain('INVALID_OUTPUT');
      expect((await storage.getVersion('to_celsius', 1))?.source).not.toContain('unit');
    } finally {
      await agent.close();
    }
  });

  it('refuses when no attempt keeps to the schema; nothing is stored', async () => {
    const { agent, storage, create } = agentAnswering([wrongShape]);
    try {
      const answer = await create(request());
      expect(answer).toMatchObject({ ok: false, error: { code: 'GENERATION_FAILED' } });
      expect((answer.error as { reasons: string[] }).reasons).toContain('INVALID_OUTPUT');
      expect(await storage.listTools()).toEqual([]);
    } finally {
      await agent.close();
    }
  });

  it.each([
    ['not an object', 'a string', '"outputSchema" must be a JSON Schema object'],
    ['huge', { type: 'object', description: 'x'.repeat(100_000) }, 'at most 65536 characters'],
    ['deep', deep(150), '"outputSchema'],
    ['with an unsupported keyword', { type: 'object', propertyNames: false }, 'propertyNames'],
    ['with a remote $ref', { $ref: 'https://evil.example/schema.json' }, '$ref'],
    ['invalid', { type: 'object', required: 'celsius' }, 'valid JSON Schema'],
    [
      'refusing its own example',
      { type: 'object', properties: { celsius: { type: 'string' } } },
      'examples[0].output does not match it',
    ],
  ])('refuses a schema that is %s, clearly and before any generation', async (_label, schema, words) => {
    const { agent, storage, prompts, refused, create } = agentAnswering([good]);
    try {
      const answer = await create(request({ outputSchema: schema }));
      expect(answer).toMatchObject({ ok: false, error: { code: 'INVALID_OUTPUT_SCHEMA' } });
      const message = (answer.error as { message: string }).message;
      expect(message).toContain(words);
      expect(message).toContain('Nothing was created');
      expect(message.length).toBeLessThan(1200);
      expect(prompts).toEqual([]);
      expect(refused.map((event) => event.code)).toEqual(['INVALID_OUTPUT_SCHEMA']);
      expect(await storage.listTools()).toEqual([]);
    } finally {
      await agent.close();
    }
  });
});

function deep(levels: number): Record<string, unknown> {
  let schema: Record<string, unknown> = { type: 'number' };
  for (let level = 0; level < levels; level += 1) schema = { type: 'object', properties: { a: schema } };
  return schema;
}

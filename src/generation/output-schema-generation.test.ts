import type { LanguageModelV4CallOptions } from '@ai-sdk/provider';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, describe, expect, it } from 'vitest';
import { textAnswer } from '../../test/support/model-answer.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { GenerationFailedError } from './generation-errors.ts';
import { ToolGenerator } from './tool-generator.ts';
import { type ToolSpec, validateToolSpec } from './tool-spec.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 30_000 });
afterAll(() => sandbox.close());

const spec: ToolSpec = {
  name: 'count_words',
  description: 'Counts the words of a text.',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  returns: 'an object with the word count',
  outputSchema: {
    type: 'object',
    properties: { words: { type: 'integer', minimum: 0 } },
    required: ['words'],
    additionalProperties: false,
  },
  examples: [
    { input: { text: 'a b c' }, output: { words: 3 } },
    { input: { text: '' }, output: { words: 0 } },
  ],
};

const good = "function count_words({ text }) { return { words: text.split(' ').filter(Boolean).length }; }";
// Equal to the examples within the numeric tolerance, but not integers: only the schema sees it.
const almost =
  "function count_words({ text }) { return { words: text.split(' ').filter(Boolean).length * (1 + 1e-12) + 1e-13 }; }";
const extraKey =
  "function count_words({ text }) { return { words: text.split(' ').filter(Boolean).length, debug: text }; }";

function userPrompt(call: LanguageModelV4CallOptions | undefined): string {
  const user = call?.prompt.find((message) => message.role === 'user');
  if (user === undefined || user.role !== 'user') throw new Error('no user message');
  return user.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

describe('ToolGenerator with an outputSchema', () => {
  it('shows the schema, fails an attempt whose results violate it with INVALID_OUTPUT, and retries', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: [textAnswer(almost, 10, 10), textAnswer(good, 10, 10)],
    });
    const generator = new ToolGenerator({ model, sandbox });
    const result = await generator.generate(spec);
    expect(result.source).toContain('filter(Boolean).length }');
    expect(result.attempts.map((attempt) => attempt.codes)).toEqual([
      ['INVALID_OUTPUT', 'INVALID_OUTPUT'],
      [],
    ]);
    expect(result.attempts[0]?.reasons[0]).toMatch(/^INVALID_OUTPUT: example 1: .*\/words: /);
    const first = userPrompt(model.doGenerateCalls[0]);
    expect(first).toContain('The result must match this JSON Schema');
    expect(first).toContain('"additionalProperties": false');
    expect(userPrompt(model.doGenerateCalls[1])).toContain('INVALID_OUTPUT: example 1');
  });

  it('refuses with GenerationFailedError when no attempt keeps to the schema', async () => {
    const model = new MockLanguageModelV4({
      doGenerate: [textAnswer(extraKey, 10, 10), textAnswer(extraKey, 10, 10)],
    });
    const error = await new ToolGenerator({ model, sandbox, maxAttempts: 2 })
      .generate(spec)
      .catch((caught: unknown) => caught);
    expect(GenerationFailedError.isInstance(error)).toBe(true);
    expect((error as GenerationFailedError).codes).toEqual(['INVALID_OUTPUT']);
    expect((error as GenerationFailedError).attempts[1]?.reasons[0]).toContain(
      '/debug: not allowed by the schema',
    );
  });

  it('accepts a spec without an outputSchema as before (any JSON result)', async () => {
    const { outputSchema: _none, ...plain } = spec;
    const model = new MockLanguageModelV4({
      doGenerate: [textAnswer(extraKey.replace(', debug: text', ''), 1, 1)],
    });
    const result = await new ToolGenerator({ model, sandbox }).generate(plain);
    expect(result.attempts).toHaveLength(1);
    expect(userPrompt(model.doGenerateCalls[0])).not.toContain('The result must match');
  });
});

describe('validateToolSpec and outputSchema', () => {
  const refused = (patch: Partial<ToolSpec>): InvalidOptionError => {
    try {
      validateToolSpec({ ...spec, ...patch });
    } catch (error) {
      expect(InvalidOptionError.isInstance(error)).toBe(true);
      return error as InvalidOptionError;
    }
    throw new Error('expected validateToolSpec to throw');
  };

  it('keeps a valid schema, detached', () => {
    const checked = validateToolSpec(spec);
    expect(checked.outputSchema).toEqual(spec.outputSchema);
    expect(checked.outputSchema).not.toBe(spec.outputSchema);
  });

  it('refuses an example output the schema refuses, naming the example', () => {
    const error = refused({
      examples: [
        { input: { text: 'a' }, output: { words: 1 } },
        { input: { text: 'b' }, output: { words: '1' } },
      ],
    });
    expect(error.option).toBe('spec.examples[1].output');
    expect(error.message).toContain('/words');
  });

  it.each([
    ['not an object', 'string' as never, 'spec.outputSchema'],
    ['an unsupported keyword', { type: 'object', propertyNames: { type: 'number' } }, 'spec.outputSchema'],
    ['a remote $ref', { $ref: 'http://169.254.169.254/schema' }, 'spec.outputSchema'],
    ['an invalid keyword value', { type: 'array', minItems: -1 }, 'spec.outputSchema'],
    ['a schema nested too deep', deep(200), 'spec.outputSchema'],
    [
      'a huge schema',
      { enum: Array.from({ length: 20_000 }, (_, index) => `value-${index}`) },
      'spec.outputSchema',
    ],
  ])('refuses %s', (_label, outputSchema, field) => {
    const error = refused({ outputSchema: outputSchema as Record<string, unknown>, examples: [] });
    expect(error.option.startsWith(field)).toBe(true);
  });
});

function deep(levels: number): Record<string, unknown> {
  let schema: Record<string, unknown> = { type: 'number' };
  for (let level = 0; level < levels; level += 1) schema = { type: 'object', properties: { a: schema } };
  return schema;
}

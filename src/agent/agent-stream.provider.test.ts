/**
 * agent.stream() through the real `@ai-sdk/openai` provider (chat completions with SSE) against
 * the local OpenAI-compatible server: a managed tool call in the first step, text in the second.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { afterAll, describe, expect, it } from 'vitest';
import { startOpenAiServer } from '../../test/support/openai-server.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

describe('agent.stream() through @ai-sdk/openai', () => {
  it('streams a managed tool call and the answer over SSE', async () => {
    const server = await startOpenAiServer((request, index) =>
      index === 0
        ? { toolCalls: [{ name: 'add_numbers', arguments: { a: 2, b: 3 } }] }
        : {
            content: `The sum is ${JSON.stringify(request.messages?.at(-1)?.content)}.`,
            usage: { prompt_tokens: 7, completion_tokens: 5 },
          },
    );
    const model = createOpenAI({ baseURL: server.baseURL, apiKey: 'test' }).chat('test-model');
    const agent = new SelfImprovingAgent({ model, sandbox, storage: memoryStorage() });
    try {
      await agent.addTool({
        name: 'add_numbers',
        description: 'Adds two numbers',
        inputSchema: {
          type: 'object',
          properties: { a: { type: 'number' }, b: { type: 'number' } },
          required: ['a', 'b'],
        },
        source: 'function add_numbers({ a, b }) { return a + b; }',
      });
      const result = agent.stream('Add 2 and 3', { telemetry: { functionId: 'provider-test' } });
      let streamed = '';
      for await (const delta of result.textStream) streamed += delta;
      expect(streamed).toBe('The sum is "5".');
      expect((await result.toolCalls).map((call) => [call.toolName, call.output])).toEqual([
        ['add_numbers', 5],
      ]);
      expect((await result.steps).length).toBe(2);
      expect(server.requests.map((request) => request.stream)).toEqual([true, true]);
      const offered = ((server.requests[0]?.tools ?? []) as { function: { name: string } }[]).map(
        (entry) => entry.function.name,
      );
      expect(offered).toEqual(['add_numbers', 'request_new_tool']);
      expect((await result.usage).totalTokens).toBeGreaterThanOrEqual(12);
    } finally {
      await agent.close();
      await server.close();
    }
  });
});

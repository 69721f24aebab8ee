/**
 * The schemas the agent sends through the real @ai-sdk/openai provider, to an OpenAI-compatible
 * server on 127.0.0.1: a run that creates a tool and calls it emits no AI SDK warning, and every
 * request carries tool schemas without the keywords OpenAI rejects.
 */
import type { ServerResponse } from 'node:http';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, tool } from 'ai';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { toProviderSchema } from '../core/provider-schema.ts';
import { ToolInputError } from '../runtime/runtime-errors.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 30_000 });
afterAll(() => sandbox.close());

// --- AI SDK warnings, captured (not silenced) through the logger hook ai 7 reads on each warning.
type WarningLog = { warnings: readonly { type: string; feature?: string; message?: string }[] };
const globals = globalThis as { AI_SDK_LOG_WARNINGS?: unknown };
let warnings: WarningLog['warnings'][number][] = [];
let processWarnings: Error[] = [];
let previousLogger: unknown;
const onProcessWarning = (warning: Error) => processWarnings.push(warning);
beforeEach(() => {
  warnings = [];
  processWarnings = [];
  previousLogger = globals.AI_SDK_LOG_WARNINGS;
  globals.AI_SDK_LOG_WARNINGS = (log: WarningLog) => warnings.push(...log.warnings);
  process.on('warning', onProcessWarning);
});
afterEach(() => {
  globals.AI_SDK_LOG_WARNINGS = previousLogger;
  process.off('warning', onProcessWarning);
});

// --- A chat-completions server that answers with tool calls or text. ---------------------------
interface ChatBody {
  readonly stream?: boolean;
  readonly messages: readonly { role: string; content: unknown; tool_calls?: unknown[] }[];
  readonly tools?: readonly {
    type: string;
    function: { name: string; parameters: Record<string, unknown> };
  }[];
}
type Answer = { text: string } | { call: { name: string; input: unknown } };

let server: TestServer | undefined;
let bodies: ChatBody[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function startChatServer(answer: (body: ChatBody) => Answer): Promise<string> {
  bodies = [];
  server = await startTestServer((request, response) => {
    const body = JSON.parse(request.body) as ChatBody;
    bodies.push(body);
    reply(response, body, answer(body), bodies.length);
  });
  return `${server.origin}/v1`;
}

function reply(response: ServerResponse, body: ChatBody, answer: Answer, index: number): void {
  const base = { id: `chatcmpl-${index}`, created: 1, model: 'test-model' };
  const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
  const message =
    'text' in answer
      ? { role: 'assistant', content: answer.text }
      : {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: `call-${index}`,
              type: 'function',
              function: { name: answer.call.name, arguments: JSON.stringify(answer.call.input) },
            },
          ],
        };
  const finish = 'text' in answer ? 'stop' : 'tool_calls';
  if (body.stream === true) {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: object, finishReason: string | null) =>
      `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
    response.write(chunk(message, null));
    response.write(chunk({}, finish));
    response.end('data: [DONE]\n\n');
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify({
      ...base,
      object: 'chat.completion',
      choices: [{ index: 0, message, finish_reason: finish }],
      usage,
    }),
  );
}

const wordCountSource =
  "function word_count({ text }) {\n  return { words: text.split(/\\s+/).filter((word) => word !== '').length };\n}";

/** Every keyword in a schema tree (data under const/enum/default/examples included: stricter). */
function keywords(value: unknown, found = new Set<string>()): Set<string> {
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      found.add(key);
      keywords(item, found);
    }
  }
  return found;
}
function patterns(value: unknown, found: string[] = []): string[] {
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'pattern' && typeof item === 'string') found.push(item);
      else patterns(item, found);
    }
  }
  return found;
}

describe('tool schemas through @ai-sdk/openai', () => {
  it('a run that creates a tool and calls it emits no AI SDK warning; no request carries a rejected keyword', async () => {
    const baseURL = await startChatServer((body) => {
      // The generator's request: no tools, asks for code.
      if (body.tools === undefined) return { text: `\`\`\`js\n${wordCountSource}\n\`\`\`` };
      const toolMessages = body.messages.filter((message) => message.role === 'tool');
      if (toolMessages.length === 0) {
        return {
          call: {
            name: 'request_new_tool',
            input: {
              name: 'word_count',
              description: 'Counts the words in a text.',
              // No root type and a lookahead: both adapted in what the model is given.
              inputSchema: {
                properties: { text: { type: 'string', pattern: '^(?=.*\\S)' } },
                required: ['text'],
              },
              returns: '{ words: number }',
              examples: [{ input: { text: 'a b' }, output: { words: 2 } }],
            },
          },
        };
      }
      if (toolMessages.length === 1)
        return { call: { name: 'word_count', input: { text: 'hello big world' } } };
      return { text: 'The text has 3 words.' };
    });
    const storage = memoryStorage();
    const agent = new SelfImprovingAgent({
      storage,
      sandbox,
      model: createOpenAI({ baseURL, apiKey: 'test' }).chat('test-model'),
    });
    try {
      // An app tool whose schema uses propertyNames (what a zod record produces).
      await agent.addTool({
        name: 'sum_scores',
        description: 'Adds up named scores.',
        inputSchema: z.object({ scores: z.record(z.string().regex(/^[a-z]+$/), z.number()) }),
        source:
          'function sum_scores({ scores }) { return Object.values(scores).reduce((a, b) => a + b, 0); }',
      });
      const result = await agent.run('How many words are in "hello big world"?');
      expect(result.text).toBe('The text has 3 words.');
      expect(result.toolCalls.map((call) => call.toolName)).toEqual(['request_new_tool', 'word_count']);
      expect(result.toolCalls[1]?.output).toEqual({ words: 3 });

      // Three run steps carried tools; one generator request did not.
      const withTools = bodies.filter((body) => body.tools !== undefined);
      expect(withTools).toHaveLength(3);
      expect(bodies).toHaveLength(4);
      expect(withTools.map((body) => body.tools?.map((entry) => entry.function.name))).toEqual([
        ['sum_scores', 'request_new_tool'],
        ['sum_scores', 'word_count', 'request_new_tool'],
        ['sum_scores', 'word_count', 'request_new_tool'],
      ]);
      for (const body of withTools) {
        for (const entry of body.tools ?? []) {
          const parameters = entry.function.parameters;
          expect(keywords(parameters).has('propertyNames'), entry.function.name).toBe(false);
          expect(
            patterns(parameters).filter((pattern) => /\(\?<?[=!]/.test(pattern)),
            entry.function.name,
          ).toEqual([]);
          expect(parameters.type, entry.function.name).toBe('object');
          // Nothing left that the agent would have to adapt.
          const view = toProviderSchema(parameters);
          expect(view.adaptations, entry.function.name).toEqual([]);
          expect(view.problems, entry.function.name).toEqual([]);
        }
      }

      expect(warnings).toEqual([]);
      expect(processWarnings.filter((warning) => warning.message.includes('AI SDK'))).toEqual([]);

      // The adaptations are on record, and the agent still enforces what the model was not shown.
      const tools = await agent.listTools();
      expect(
        tools.map((managed) => [
          managed.name,
          managed.modelSchema.adaptations.map(
            (change) => `${change.action} ${change.keyword} at ${change.path}`,
          ),
        ]),
      ).toEqual([
        [
          'sum_scores',
          ['removed propertyNames at /properties/scores', 'added properties at /properties/scores'],
        ],
        ['word_count', ['added type at ', 'removed pattern at /properties/text']],
      ]);
      const blank = await agent.invoke('word_count', { text: '   ' }).catch((error: unknown) => error);
      expect(ToolInputError.isInstance(blank)).toBe(true);
      const badKey = await agent
        .invoke('sum_scores', { scores: { Bad: 1 } })
        .catch((error: unknown) => error);
      expect(ToolInputError.isInstance(badKey)).toBe(true);
      expect(await agent.invoke('sum_scores', { scores: { a: 1, b: 2 } })).toBe(3);
    } finally {
      await agent.close();
      await storage.close();
    }
  });

  it('the capture sees the warning a zod record schema causes (what request_new_tool used to send)', async () => {
    const baseURL = await startChatServer(() => ({ text: 'ok' }));
    await generateText({
      model: createOpenAI({ baseURL, apiKey: 'test' }).chat('test-model'),
      prompt: 'hi',
      tools: {
        old_shape: tool({ inputSchema: z.object({ inputSchema: z.record(z.string(), z.unknown()) }) }),
      },
    });
    expect(warnings.map((warning) => [warning.type, warning.feature])).toEqual([
      ['compatibility', 'JSON Schema propertyNames'],
    ]);
    expect(keywords(bodies[0]?.tools?.[0]?.function.parameters).has('propertyNames')).toBe(false);
  });

  it('refuses a requested tool whose schema uses a keyword providers reject, before any generation', async () => {
    const baseURL = await startChatServer((body) => {
      if (body.tools === undefined) return { text: `\`\`\`js\n${wordCountSource}\n\`\`\`` };
      const toolMessages = body.messages.filter((message) => message.role === 'tool');
      if (toolMessages.length > 0) return { text: 'I could not create the tool.' };
      return {
        call: {
          name: 'request_new_tool',
          input: {
            name: 'word_count',
            description: 'Counts the words in a text.',
            inputSchema: {
              type: 'object',
              properties: { text: { $ref: 'https://example.com/schemas/text.json' } },
            },
            returns: '{ words: number }',
          },
        },
      };
    });
    const storage = memoryStorage();
    const agent = new SelfImprovingAgent({
      storage,
      sandbox,
      model: createOpenAI({ baseURL, apiKey: 'test' }).chat('test-model'),
    });
    const refused: { code: string; message: string }[] = [];
    agent.on('tool:refused', (event) => refused.push({ code: event.code, message: event.message }));
    try {
      const result = await agent.run('Count the words in "a b".');
      expect(result.toolCalls[0]?.output).toMatchObject({
        ok: false,
        error: { code: 'UNSUPPORTED_SCHEMA_KEYWORD' },
      });
      expect(refused.map((event) => event.code)).toEqual(['UNSUPPORTED_SCHEMA_KEYWORD']);
      expect(refused[0]?.message).toContain('"inputSchema" uses "$ref" at /properties/text');
      // No generator request: the refusal came first.
      expect(bodies.filter((body) => body.tools === undefined)).toEqual([]);
      expect(await storage.listTools()).toEqual([]);
      expect(warnings).toEqual([]);
    } finally {
      await agent.close();
      await storage.close();
    }
  });
});

/**
 * The real provider path: @ai-sdk/openai's chat model talking HTTP to an OpenAI-compatible server
 * the test starts on 127.0.0.1, with rate limits, server errors and a bad key.
 */
import { createOpenAI } from '@ai-sdk/openai';
import { streamText } from 'ai';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type OpenAiServer, startOpenAiServer } from '../../test/support/openai-server.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { GenerationFailedError, ModelCallError } from './generation-errors.ts';
import { generateCodeText } from './model-text.ts';
import { ToolGenerator } from './tool-generator.ts';
import type { ToolSpec } from './tool-spec.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 30_000 });
afterAll(() => sandbox.close());

let server: OpenAiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const spec: ToolSpec = {
  name: 'word_count',
  description: 'Counts the words (runs of non-space characters) in a text.',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  returns: 'an object { words: number }',
  examples: [
    { input: { text: 'hello big world' }, output: { words: 3 } },
    { input: { text: '   ' }, output: { words: 0 } },
  ],
};

const goodAnswer =
  "Here you go:\n```js\nfunction word_count({ text }) {\n  const words = text.split(/\\s+/).filter((word) => word !== '');\n  return { words: words.length };\n}\n```";

function modelFor(baseURL: string, apiKey = 'test') {
  return createOpenAI({ baseURL, apiKey }).chat('test-model');
}

function userText(server: OpenAiServer, index: number): string {
  const messages = server.requests[index]?.messages ?? [];
  return messages
    .filter((message) => message.role === 'user')
    .map((message) =>
      typeof message.content === 'string' ? message.content : JSON.stringify(message.content),
    )
    .join('\n');
}

describe('ToolGenerator through an OpenAI-compatible server', () => {
  it('generates a tool end to end, feeding a failure back over HTTP, and sums usage', async () => {
    server = await startOpenAiServer((_request, index) =>
      index === 0
        ? {
            content: 'function word_count({ text }) { return { words: text.split(" ").length }; }',
            usage: { prompt_tokens: 400, completion_tokens: 30 },
          }
        : { content: goodAnswer, usage: { prompt_tokens: 650, completion_tokens: 55 } },
    );
    const generator = new ToolGenerator({
      model: modelFor(server.baseURL),
      sandbox,
      temperature: 0.2,
      maxOutputTokens: 800,
    });
    const result = await generator.generate(spec);
    expect(result.attempts.map((attempt) => attempt.ok)).toEqual([false, true]);
    expect(result.attempts[0]?.reasons).toEqual([
      'EXAMPLE_MISMATCH: example 2: input {"text":"   "} expected {"words":0} got {"words":4}',
    ]);
    expect(result.usage).toEqual({ inputTokens: 1050, outputTokens: 85, totalTokens: 1135 });
    expect(result.attempts.map((attempt) => attempt.usage.totalTokens)).toEqual([430, 705]);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]).toMatchObject({ model: 'test-model', temperature: 0.2, max_tokens: 800 });
    expect(server.requests[0]?.messages?.[0]).toMatchObject({ role: 'system' });
    expect(userText(server, 1)).toContain(
      JSON.stringify(
        'EXAMPLE_MISMATCH: example 2: input {"text":"   "} expected {"words":0} got {"words":4}',
      ),
    );
    expect(result.source).toContain('function word_count({ text })');
    expect(result.source).not.toContain('```');
  });

  it('retries a 429 with retry-after: 0 inside the same attempt', async () => {
    server = await startOpenAiServer((_request, index) =>
      index === 0
        ? {
            status: 429,
            headers: { 'retry-after': '0' },
            body: { error: { message: 'Rate limit reached', type: 'rate_limit' } },
          }
        : { content: goodAnswer, usage: { prompt_tokens: 500, completion_tokens: 60 } },
    );
    const result = await new ToolGenerator({ model: modelFor(server.baseURL), sandbox }).generate(spec);
    expect(server.requests).toHaveLength(2);
    expect(result.attempts).toHaveLength(1);
    expect(result.usage).toEqual({ inputTokens: 500, outputTokens: 60, totalTokens: 560 });
  });

  it('retries a 500 inside the same attempt', async () => {
    server = await startOpenAiServer((_request, index) =>
      index === 0 ? { status: 500, headers: { 'retry-after-ms': '0' } } : { content: goodAnswer },
    );
    const result = await new ToolGenerator({ model: modelFor(server.baseURL), sandbox }).generate(spec);
    expect(server.requests).toHaveLength(2);
    expect(result.attempts).toHaveLength(1);
    // The server reported no usage: counts are 0, not NaN.
    expect(result.usage).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });
  });

  it('fails once with a clear message on a permanent 401', async () => {
    server = await startOpenAiServer(() => ({
      status: 401,
      body: {
        error: {
          message: 'Incorrect API key provided: wrong',
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      },
    }));
    const error = await new ToolGenerator({ model: modelFor(server.baseURL, 'wrong'), sandbox })
      .generate(spec)
      .catch((caught: unknown) => caught);
    expect(GenerationFailedError.isInstance(error)).toBe(true);
    if (!GenerationFailedError.isInstance(error)) return;
    // 401 is not retryable: one request, one attempt.
    expect(server.requests).toHaveLength(1);
    expect(error.attempts).toHaveLength(1);
    const cause = error.cause;
    expect(ModelCallError.isInstance(cause)).toBe(true);
    if (!ModelCallError.isInstance(cause)) return;
    expect(cause.code).toBe('MODEL_CALL_FAILED');
    expect(cause.statusCode).toBe(401);
    expect(cause.isRetryable).toBe(false);
    expect(cause.message).toBe(
      'Calling model "test-model" failed: HTTP 401: Incorrect API key provided: wrong. Check the API key (and that it may use this model).',
    );
    expect(error.message).toContain(
      'attempt 1: MODEL_CALL_FAILED: Calling model "test-model" failed: HTTP 401',
    );
  });

  it('gives up on a 429 that persists after maxRetries, naming rate limits', async () => {
    server = await startOpenAiServer(() => ({ status: 429, headers: { 'retry-after': '0' } }));
    const error = await generateCodeText(modelFor(server.baseURL), {
      system: 's',
      prompt: 'p',
      maxRetries: 2,
    }).catch((caught: unknown) => caught);
    expect(ModelCallError.isInstance(error)).toBe(true);
    expect(server.requests).toHaveLength(3);
    expect((error as ModelCallError).statusCode).toBe(429);
    expect((error as ModelCallError).message).toMatch(
      /HTTP 429: .*\(after 3 attempts\)\. The provider is rate limiting/,
    );
  });

  it('reports an unreachable base URL', async () => {
    server = await startOpenAiServer(() => ({ content: 'x' }));
    const { baseURL } = server;
    await server.close();
    server = undefined;
    const error = await generateCodeText(modelFor(baseURL), {
      system: 's',
      prompt: 'p',
      maxRetries: 0,
    }).catch((caught: unknown) => caught);
    expect(ModelCallError.isInstance(error)).toBe(true);
    expect((error as ModelCallError).message).toMatch(
      /^Calling model "test-model" failed: .*Check the API key, the base URL/,
    );
  });

  it('answers stream: true requests with SSE chunks (test support check)', async () => {
    server = await startOpenAiServer(() => ({
      content: 'streamed text',
      usage: { prompt_tokens: 7, completion_tokens: 2 },
    }));
    const result = streamText({ model: modelFor(server.baseURL), prompt: 'hi', maxRetries: 0 });
    expect(await result.text).toBe('streamed text');
    expect((await result.usage).inputTokens).toBe(7);
    expect(server.requests[0]?.stream).toBe(true);
  });
});

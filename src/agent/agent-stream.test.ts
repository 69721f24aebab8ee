import {
  convertToModelMessages,
  parseJsonEventStream,
  readUIMessageStream,
  type TextStreamPart,
  type ToolSet,
  type UIMessage,
  type UIMessageChunk,
  uiMessageChunkSchema,
} from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, describe, expect, it } from 'vitest';
import { AbortedError } from '../generation/generation-errors.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { type ScriptedCall, type ScriptedReply, scriptedModel } from '../testing/scripted-model.ts';
import { AgentClosedError } from './agent-errors.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
afterAll(async () => {
  await sandbox.close();
});

const addNumbers = {
  name: 'add_numbers',
  description: 'Adds two numbers',
  inputSchema: {
    type: 'object',
    properties: { a: { type: 'number' }, b: { type: 'number' } },
    required: ['a', 'b'],
  },
  source: 'function add_numbers({ a, b }) { return a + b; }',
};

/** Calls add_numbers once, then says what it returned. */
function adding(call: ScriptedCall): ScriptedReply {
  const sum = call.toolResults.find((result) => result.toolName === 'add_numbers');
  if (sum === undefined) return { toolCalls: [{ toolName: 'add_numbers', input: { a: 2, b: 3 } }] };
  return { text: `The sum is ${JSON.stringify(sum.output)}.` };
}

/** Reads a UI-message stream `Response` with the AI SDK's own parser and reader; the last message. */
async function lastUIMessage(response: Response): Promise<UIMessage> {
  if (response.body === null) throw new Error('the response has no body');
  const chunks = parseJsonEventStream({ stream: response.body, schema: uiMessageChunkSchema }).pipeThrough(
    new TransformStream<{ success: boolean; value?: UIMessageChunk; error?: unknown }, UIMessageChunk>({
      transform(parsed, controller) {
        if (!parsed.success) throw parsed.error;
        controller.enqueue(parsed.value as UIMessageChunk);
      },
    }),
  );
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({ stream: chunks, terminateOnError: true })) last = message;
  if (last === undefined) throw new Error('no UI message was streamed');
  return last;
}

describe('agent.stream()', () => {
  it('serves a chat route: UI messages in, a UI-message stream Response out, read with the AI SDK reader', async () => {
    const agent = new SelfImprovingAgent({ model: scriptedModel(adding), sandbox, storage: memoryStorage() });
    await agent.addTool(addNumbers);
    const invoked: string[] = [];
    agent.on('tool:invoked', (event) => invoked.push(event.callId));

    // The route handler as an app writes it (app/api/chat/route.ts).
    async function POST(request: Request): Promise<Response> {
      const { messages } = (await request.json()) as { messages: UIMessage[] };
      const result = agent.stream(await convertToModelMessages(messages), { abortSignal: request.signal });
      return result.toUIMessageStreamResponse();
    }

    const history: UIMessage[] = [
      { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Hi' }] },
      { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'Hello! What shall I add?' }] },
      { id: 'u2', role: 'user', parts: [{ type: 'text', text: 'Add 2 and 3' }] },
    ];
    const response = await POST(
      new Request('http://localhost/api/chat', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: history }),
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const message = await lastUIMessage(response);
    expect(message.role).toBe('assistant');
    const text = message.parts
      .filter((part) => part.type === 'text')
      .map((part) => (part as { text: string }).text)
      .join('');
    expect(text).toBe('The sum is 5.');
    const toolParts = message.parts.filter((part) => part.type === 'dynamic-tool');
    expect(toolParts).toEqual([
      expect.objectContaining({
        type: 'dynamic-tool',
        toolName: 'add_numbers',
        state: 'output-available',
        input: { a: 2, b: 3 },
        output: 5,
      }),
    ]);
    // The call went through the managed runtime: recorded like any other call.
    expect(invoked).toHaveLength(1);
    expect(await agent.memory.summary('add_numbers', { version: 1 })).toMatchObject({ invocations: 1 });
    await agent.close();
  });

  it('creates a tool mid-stream and calls it in the next step; usage and toolCalls as run() reports them', async () => {
    const spec = {
      name: 'double_it',
      description: 'Doubles a number',
      inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
      returns: 'the number times two',
      examples: [{ input: { n: 2 }, output: 4 }],
    };
    const model = scriptedModel((call) => {
      if (call.kind === 'generator') return { text: 'function double_it({ n }) { return n * 2; }' };
      const done = call.toolResults.map((result) => result.toolName);
      if (!done.includes('request_new_tool'))
        return { toolCalls: [{ toolName: 'request_new_tool', input: spec }] };
      if (!done.includes('double_it')) return { toolCalls: [{ toolName: 'double_it', input: { n: 21 } }] };
      return { text: 'It is 42.' };
    });
    const agent = new SelfImprovingAgent({ model, sandbox, storage: memoryStorage() });
    const stepsSeen: number[] = [];
    const result = agent.stream('Double 21', {
      onStepFinish: (step) => {
        stepsSeen.push(step.stepNumber);
      },
    });
    const parts: TextStreamPart<ToolSet>['type'][] = [];
    for await (const part of result.fullStream) parts.push(part.type);
    expect(parts.filter((type) => type === 'finish-step')).toHaveLength(3);
    expect(parts).not.toContain('error');
    expect(await result.text).toBe('It is 42.');
    const steps = await result.steps;
    expect(steps).toHaveLength(3);
    expect(stepsSeen).toEqual([0, 1, 2]);
    const toolCalls = await result.toolCalls;
    expect(toolCalls.map((call) => [call.toolName, call.output])).toEqual([
      ['request_new_tool', expect.objectContaining({ ok: true, tool: 'double_it' })],
      ['double_it', 42],
    ]);
    expect(toolCalls[1]?.callId).toEqual(expect.any(String));
    const modelTokens = steps.reduce((sum, step) => sum + (step.usage.totalTokens ?? 0), 0);
    const usage = await result.usage;
    // The generation's attempt is counted too (the orchestration alone is less).
    expect(usage.totalTokens).toBeGreaterThan(modelTokens);
    await agent.close();
  });

  it('returns at once and waits for the stored tools in the first step', async () => {
    const storage = memoryStorage();
    const first = new SelfImprovingAgent({ sandbox, storage });
    await first.addTool(addNumbers);
    await first.close();
    const agent = new SelfImprovingAgent({ model: scriptedModel(adding), sandbox, storage });
    expect(() => agent.tools()).toThrow(expect.objectContaining({ code: 'AGENT_NOT_READY' }));
    // No ready() awaited: the stream's first step waits for the stored tool, which is offered.
    const result = agent.stream([{ role: 'user', content: 'Add 2 and 3' }]);
    expect(await result.text).toBe('The sum is 5.');
    expect((await result.toolCalls).map((call) => call.output)).toEqual([5]);
    await agent.close();
    await storage.close();
  });

  it('throws at once for bad input, no model, or a closed agent', async () => {
    const noModel = new SelfImprovingAgent({ sandbox, storage: memoryStorage() });
    expect(() => noModel.stream('hi')).toThrow(expect.objectContaining({ field: 'model' }));
    await noModel.close();
    const agent = new SelfImprovingAgent({ model: scriptedModel(adding), sandbox, storage: memoryStorage() });
    expect(() => agent.stream('  ')).toThrow(expect.objectContaining({ field: 'task' }));
    expect(() => agent.stream([])).toThrow(expect.objectContaining({ field: 'messages' }));
    expect(() =>
      agent.stream([
        { role: 'user', content: 'hi' },
        { role: 'robot', content: 'x' },
      ] as never),
    ).toThrow(expect.objectContaining({ field: 'messages[1].role' }));
    expect(() => agent.stream('hi', { tools: { requestNewTool: 'yes' } } as never)).toThrow(
      expect.objectContaining({ field: 'tools.requestNewTool' }),
    );
    await agent.close();
    expect(() => agent.stream('hi')).toThrow(AgentClosedError);
  });

  for (const by of ['abortSignal', 'close()'] as const) {
    it(`${by} ends the stream and aborts its tool generation`, async () => {
      let generationSignal: AbortSignal | undefined;
      let markStarted: () => void = () => undefined;
      const generationStarted = new Promise<void>((resolve) => {
        markStarted = resolve;
      });
      const model = scriptedModel(() => ({
        toolCalls: [
          {
            toolName: 'request_new_tool',
            input: { name: 'slow_tool', description: 'x', inputSchema: { type: 'object' }, returns: 'x' },
          },
        ],
      }));
      const agent = new SelfImprovingAgent({
        model,
        sandbox,
        storage: memoryStorage(),
        generator: {
          generate: (_spec, options) => {
            generationSignal = options?.abortSignal;
            markStarted();
            return new Promise((_resolve, reject) => {
              options?.abortSignal?.addEventListener('abort', () =>
                reject(new AbortedError('the generation')),
              );
            });
          },
        },
      });
      const controller = new AbortController();
      const result = agent.stream('make a tool', { abortSignal: controller.signal });
      const parts: string[] = [];
      const reading = (async () => {
        for await (const part of result.fullStream) parts.push(part.type);
      })();
      await generationStarted;
      if (by === 'abortSignal') controller.abort();
      else await agent.close();
      await reading;
      expect(generationSignal?.aborted).toBe(true);
      expect(parts).toContain('abort');
      expect(parts).not.toContain('tool-result');
      await agent.close();
    });
  }

  it('cuts a stream the provider stalls mid-answer at modelTimeoutMs (MODEL_TIMEOUT) and cancels it', async () => {
    let cancelled = false;
    const model = new MockLanguageModelV4({
      provider: 'stalling',
      modelId: 'stalls-after-hello',
      doStream: async () => ({
        stream: new ReadableStream({
          start(controller) {
            controller.enqueue({ type: 'stream-start', warnings: [] });
            controller.enqueue({ type: 'text-start', id: 't' });
            controller.enqueue({ type: 'text-delta', id: 't', delta: 'Hello' });
            // …and never another part: no finish, no close.
          },
          cancel() {
            cancelled = true;
          },
        }),
      }),
    });
    const agent = new SelfImprovingAgent({
      model,
      sandbox,
      storage: memoryStorage(),
      modelTimeoutMs: 300,
      creation: { enabled: false },
    });
    try {
      const result = agent.stream('say hello');
      const parts: TextStreamPart<ToolSet>[] = [];
      // The AI SDK ends the stream with the error (as an error part, or thrown by the iterator).
      const thrown = await (async () => {
        for await (const part of result.fullStream) parts.push(part);
      })().then(
        () => undefined,
        (error: unknown) => error,
      );
      const text = parts.flatMap((part) => (part.type === 'text-delta' ? [part.text] : [])).join('');
      expect(text).toBe('Hello');
      const part = parts.find((entry) => entry.type === 'error') as { error?: unknown } | undefined;
      expect(((part?.error ?? thrown) as { code?: string } | undefined)?.code).toBe('MODEL_TIMEOUT');
      expect(cancelled).toBe(true);
    } finally {
      await agent.close();
    }
  });
});

/**
 * A chat route of an AI SDK app, on the agent: the conversation so far comes in as UI messages,
 * `agent.stream()` answers with the managed tools plus the app's own tool (measured with
 * `measureTools`), and the route returns `toUIMessageStreamResponse()`. A client reads the
 * response with the AI SDK's own UI-message reader, two turns of a conversation. Every tool call,
 * evaluation and model call is traced: the OpenTelemetry SDK's in-memory exporter holds the
 * spans (ours nested under the AI SDK's, through `@ai-sdk/otel`) and the example prints them as
 * a tree.
 *
 * Offline a scripted model plays the LLM. With OPENAI_API_KEY (and optionally OPENAI_BASE_URL,
 * OPENAI_MODEL) a real model answers.
 *
 * Usage: node examples/chat-route/index.ts
 */
import { createOpenAI } from '@ai-sdk/openai';
import { OpenTelemetry } from '@ai-sdk/otel';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  convertToModelMessages,
  type LanguageModel,
  parseJsonEventStream,
  readUIMessageStream,
  registerTelemetry,
  tool,
  type UIMessage,
  type UIMessageChunk,
  uiMessageChunkSchema,
} from 'ai';
import { SelfImprovingAgent } from 'self-improving-agent';
import { type ScriptedCall, type ScriptedReply, scriptedModel } from 'self-improving-agent/testing';
import { z } from 'zod';

// --- tracing: the OpenTelemetry SDK (in memory here; an OTLP exporter in production) ----------
const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
);
// The AI SDK's own spans (the stream, its steps, model calls, `execute_tool <name>`).
registerTelemetry(new OpenTelemetry());

// --- the model -------------------------------------------------------------------------------------
const apiKey = process.env.OPENAI_API_KEY;
const model: LanguageModel = apiKey
  ? createOpenAI({ apiKey, baseURL: process.env.OPENAI_BASE_URL || undefined }).chat(
      process.env.OPENAI_MODEL || 'gpt-4o-mini',
    )
  : scriptedModel(offlineAnswer);

/** The offline model: looks the order up, converts its total, then answers from the results. */
function offlineAnswer(call: ScriptedCall): ScriptedReply {
  const order = call.toolResults.find((result) => result.toolName === 'lookupOrder')?.output as
    | { total: number; currency: string }
    | undefined;
  const converted = call.toolResults.find((result) => result.toolName === 'convert_currency')?.output;
  if (/order 1042/i.test(call.text) && order === undefined) {
    return { toolCalls: [{ toolName: 'lookupOrder', input: { orderId: '1042' } }] };
  }
  if (/euro/i.test(call.text) && order !== undefined && converted === undefined) {
    return {
      toolCalls: [
        { toolName: 'convert_currency', input: { amount: order.total, from: order.currency, to: 'EUR' } },
      ],
    };
  }
  if (converted !== undefined) return { text: `That is ${JSON.stringify(converted)} EUR.` };
  if (order !== undefined) return { text: `Order 1042 totals ${order.total} ${order.currency}.` };
  return { text: 'How can I help with your orders?' };
}

// --- the agent: one managed tool, one of the app's own tools measured --------------------------
const agent = new SelfImprovingAgent({ model, creation: { enabled: false } });
await agent.addTool({
  name: 'convert_currency',
  description: 'Converts an amount between USD, EUR, GBP and ILS at fixed reference rates',
  inputSchema: {
    type: 'object',
    properties: {
      amount: { type: 'number' },
      from: { type: 'string', enum: ['USD', 'EUR', 'GBP', 'ILS'] },
      to: { type: 'string', enum: ['USD', 'EUR', 'GBP', 'ILS'] },
    },
    required: ['amount', 'from', 'to'],
  },
  source: `function convert_currency({ amount, from, to }) {
  const usd = { USD: 1, EUR: 1.08, GBP: 1.27, ILS: 0.27 };
  return Math.round((amount * usd[from]) / usd[to] * 100) / 100;
}`,
});
// The app's own tool (a database read in a real app), measured under the app's release.
const hostTools = await agent.measureTools(
  {
    lookupOrder: tool({
      description: 'Looks up an order by its number',
      inputSchema: z.object({ orderId: z.string() }),
      execute: async ({ orderId }) => ({ orderId, total: 120, currency: 'USD', items: 3 }),
    }),
  },
  { version: process.env.GIT_SHA ?? '2026.12.1' },
);

// --- the route handler (app/api/chat/route.ts in a Next.js app) -------------------------------
async function POST(request: Request): Promise<Response> {
  const { messages } = (await request.json()) as { messages: UIMessage[] };
  const result = agent.stream(await convertToModelMessages(messages), {
    hostTools,
    abortSignal: request.signal,
  });
  return result.toUIMessageStreamResponse();
}

// --- a client: two turns of a conversation, each read with the AI SDK's UI-message reader ------
async function send(messages: UIMessage[]): Promise<UIMessage> {
  const response = await POST(
    new Request('http://localhost/api/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages }),
    }),
  );
  if (response.body === null) throw new Error('the route answered without a body');
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
  if (last === undefined) throw new Error('no message was streamed');
  return last;
}

function show(message: UIMessage): void {
  for (const part of message.parts) {
    if (part.type === 'text') console.log(`  assistant: ${part.text}`);
    else if (part.type === 'dynamic-tool' || part.type.startsWith('tool-')) {
      const call = part as {
        toolName?: string;
        type: string;
        input?: unknown;
        output?: unknown;
        state?: string;
      };
      const name = call.toolName ?? call.type.slice('tool-'.length);
      console.log(
        `  tool ${name}(${JSON.stringify(call.input)}) -> ${JSON.stringify(call.output)} [${call.state}]`,
      );
    }
  }
}

const conversation: UIMessage[] = [
  { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'What is the total of order 1042?' }] },
];
console.log('turn 1: What is the total of order 1042?');
const first = await send(conversation);
show(first);
conversation.push(first, {
  id: 'u2',
  role: 'user',
  parts: [{ type: 'text', text: 'And in euros? (order 1042)' }],
});
console.log('turn 2: And in euros?');
show(await send(conversation));

await agent.idle();
const host = agent.memory.statistics('lookup_order', 1);
const managed = agent.memory.statistics('convert_currency', 1);
console.log(
  `\nmeasured: lookup_order (host, ${(await agent.registry.active('lookup_order')).label}) ${host?.calls} call(s); convert_currency (managed) ${managed?.calls} call(s)`,
);
await agent.close();

// --- the trace: every span, indented under its parent ---------------------------------------------
const spans = exporter.getFinishedSpans();
const children = new Map<string | undefined, ReadableSpan[]>();
const ids = new Set(spans.map((span) => span.spanContext().spanId));
for (const span of spans) {
  const parent = span.parentSpanContext?.spanId;
  const key = parent !== undefined && ids.has(parent) ? parent : undefined;
  children.set(key, [...(children.get(key) ?? []), span]);
}
const shown = ['sia.tool.version', 'sia.tool.kind', 'sia.call.outcome', 'sia.evaluation.needs_rewrite'];
function print(span: ReadableSpan, depth: number): void {
  const attributes = shown
    .filter((key) => span.attributes[key] !== undefined)
    .map((key) => `${key.replace(/^sia\./, '')}=${String(span.attributes[key])}`);
  console.log(
    `${'  '.repeat(depth)}${span.name}${attributes.length > 0 ? `  (${attributes.join(', ')})` : ''}`,
  );
  const kids = (children.get(span.spanContext().spanId) ?? []).sort(
    (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
  );
  for (const child of kids) print(child, depth + 1);
}
console.log(`\ntrace: ${spans.length} spans`);
for (const root of children.get(undefined) ?? []) print(root, 1);

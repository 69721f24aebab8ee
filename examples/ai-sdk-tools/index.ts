/**
 * Managed tools inside your own AI SDK call: `agent.tools()` is an AI SDK `ToolSet` (the
 * agent's tools plus `request_new_tool`) that you pass to `generateText` or `streamText`,
 * next to tools of your own. Calls made this way are recorded, scored and improved exactly like
 * `agent.run()` and `agent.invoke()` calls; a managed tool that fails answers the model with
 * `{ error: { code, message } }` instead of ending your call.
 *
 * Offline a scripted model plays the LLM. With OPENAI_API_KEY (and optionally OPENAI_BASE_URL,
 * OPENAI_MODEL) a real model answers, and can also create tools through `request_new_tool`.
 *
 * Usage: node examples/ai-sdk-tools/index.ts
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, type LanguageModel, stepCountIs, tool } from 'ai';
import { SelfImprovingAgent } from 'self-improving-agent';
import { scriptedModel } from 'self-improving-agent/testing';
import { z } from 'zod';

const apiKey = process.env.OPENAI_API_KEY;
const realModel: LanguageModel | undefined = apiKey
  ? createOpenAI({ apiKey, baseURL: process.env.OPENAI_BASE_URL || undefined }).chat(
      process.env.OPENAI_MODEL || 'gpt-4o-mini',
    )
  : undefined;

// The agent gets the model only to write new tools (request_new_tool); your own call below
// does the orchestration.
const agent = new SelfImprovingAgent({ model: realModel });

// Your app's own tool: a plain AI SDK tool, not managed by the agent.
const lookupOrder = tool({
  description: 'Looks up an order by its number',
  inputSchema: z.object({ orderId: z.string() }),
  execute: async ({ orderId }) => ({ orderId, total: 120, currency: 'USD', items: 3 }),
});

// A managed tool: versioned, sandboxed, measured, improvable.
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
  const perUsd = { USD: 1, EUR: 0.92, GBP: 0.79, ILS: 3.7 };
  return Math.round((amount / perUsd[from]) * perUsd[to] * 100) / 100;
}`,
  examples: [{ input: { amount: 100, from: 'USD', to: 'EUR' }, output: 92 }],
});

// Offline: answers like a model would, from what the tools returned so far.
const offlineModel = scriptedModel((call) => {
  const order = call.toolResults.find((result) => result.toolName === 'lookup_order')?.output as
    | { total: number; currency: string }
    | undefined;
  const converted = call.toolResults.find((result) => result.toolName === 'convert_currency')?.output;
  if (!order) return { toolCalls: [{ toolName: 'lookup_order', input: { orderId: '1042' } }] };
  if (converted === undefined) {
    return {
      toolCalls: [
        { toolName: 'convert_currency', input: { amount: order.total, from: order.currency, to: 'EUR' } },
      ],
    };
  }
  return { text: `Order 1042 totals ${converted} EUR (${order.total} ${order.currency}).` };
});

console.log(
  realModel
    ? `model: ${process.env.OPENAI_MODEL || 'gpt-4o-mini'}`
    : 'model: scripted (offline, no API key) — set OPENAI_API_KEY to use a real model',
);
try {
  const result = await generateText({
    model: realModel ?? offlineModel,
    system: 'Answer questions about orders. Use the tools; amounts in EUR unless asked otherwise.',
    prompt: 'What is the total of order 1042 in euros?',
    tools: { ...agent.tools(), lookup_order: lookupOrder },
    stopWhen: stepCountIs(6),
  });
  for (const step of result.steps) {
    for (const call of step.toolResults) {
      console.log(`tool ${call.toolName}(${JSON.stringify(call.input)}) → ${JSON.stringify(call.output)}`);
    }
  }
  console.log(`answer: ${result.text}`);

  // The managed tool's call was recorded with the version that ran.
  await agent.idle();
  for (const managed of await agent.listTools()) {
    const summary = await agent.memory.summary(managed.name, { version: managed.version.version });
    console.log(
      `recorded: ${managed.name} v${managed.version.version}: ${summary.invocations} call(s), ${summary.successes} ok`,
    );
  }
} finally {
  await agent.close();
}

import { generateText, stepCountIs } from 'ai';
import { afterAll, describe, expect, it } from 'vitest';
import { ToolInvocationError } from '../runtime/runtime-errors.ts';
import type { ToolInvokedEvent } from '../runtime/runtime-events.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { scriptedModel } from '../testing/scripted-model.ts';
import type { DetailedToolOutput } from './ai-sdk-tools.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
afterAll(async () => {
  await sandbox.close();
});

const divideSource =
  'function divide({ a, b }) {\n  if (b === 0) throw new Error("division by zero");\n  return a / b;\n}';
const inputSchema = {
  type: 'object',
  properties: { a: { type: 'number' }, b: { type: 'number' } },
  required: ['a', 'b'],
};

async function agentWithDivide(model?: ReturnType<typeof scriptedModel>) {
  const agent = new SelfImprovingAgent({ storage: memoryStorage(), sandbox, ...(model ? { model } : {}) });
  await agent.addTool({ name: 'divide', description: 'Divides a by b', inputSchema, source: divideSource });
  const invoked: ToolInvokedEvent[] = [];
  agent.on('tool:invoked', (event) => invoked.push(event));
  return { agent, invoked };
}

/** A model that calls divide with each input in turn (one step each), then answers. */
function divideModel(inputs: object[]) {
  const prompts: unknown[] = [];
  const model = scriptedModel((call) => {
    const done = call.toolResults.length;
    if (done < inputs.length) return { toolCalls: [{ toolName: 'divide', input: inputs[done] }] };
    return { text: 'done' };
  });
  const generate = model.doGenerate.bind(model);
  model.doGenerate = async (options) => {
    prompts.push(options.prompt.filter((message) => message.role === 'tool'));
    return generate(options);
  };
  return { model, prompts };
}

describe('call ids', () => {
  it('invoke keeps returning the value, and with details returns the id the event carries', async () => {
    const { agent, invoked } = await agentWithDivide();
    try {
      expect(await agent.invoke<number>('divide', { a: 6, b: 3 })).toBe(2);
      const details = await agent.invoke<number>('divide', { a: 9, b: 3 }, { details: true });
      expect(details).toEqual({
        value: 3,
        callId: expect.stringMatching(/^divide@1:[0-9a-f-]{36}$/),
        version: 1,
        latencyMs: expect.any(Number),
      });
      expect(invoked.map((event) => event.callId)).toEqual([expect.any(String), details.callId]);
      expect(invoked[0]?.callId).not.toBe(details.callId);
      expect(invoked[1]?.latencyMs).toBe(details.latencyMs);
      expect(invoked[1]).not.toHaveProperty('toolCallId');
      await expect(agent.invoke('divide', { a: 1, b: 1 }, { details: 'yes' as never })).rejects.toMatchObject(
        {
          code: 'INVALID_OPTION',
          field: 'details',
        },
      );
    } finally {
      await agent.close();
    }
  });

  it('puts the id on ToolInvocationError, the same as in the event and the memory window', async () => {
    const { agent, invoked } = await agentWithDivide();
    try {
      const error = await agent.invoke('divide', { a: 1, b: 0 }).catch((caught: unknown) => caught);
      expect(ToolInvocationError.isInstance(error)).toBe(true);
      const { callId } = error as ToolInvocationError;
      expect(callId).toMatch(/^divide@1:/);
      expect(invoked.at(-1)?.callId).toBe(callId);
      expect(agent.memory.statistics('divide', 1)?.recent[0]).toMatchObject({ success: false, callId });
    } finally {
      await agent.close();
    }
  });

  it('tools({ details: true }) gives the id in the step result; the model sees the same output', async () => {
    const inputs = [
      { a: 8, b: 2 },
      { a: 1, b: 0 },
    ];
    const plain = divideModel(inputs);
    const detailed = divideModel(inputs);
    const { agent, invoked } = await agentWithDivide();
    try {
      const withoutDetails = await generateText({
        model: plain.model,
        prompt: 'divide',
        tools: agent.tools(),
        stopWhen: stepCountIs(5),
      });
      const first = invoked.length;
      const withDetails = await generateText({
        model: detailed.model,
        prompt: 'divide',
        tools: agent.tools({ details: true }),
        stopWhen: stepCountIs(5),
      });
      // The model was given the same tool results, word for word (only the SDK's ids differ).
      const strip = (prompts: unknown[]) =>
        JSON.stringify(prompts).replaceAll(/"toolCallId":"[^"]*"/g, '"toolCallId":"?"');
      expect(strip(detailed.prompts)).toBe(strip(plain.prompts));
      expect(strip(plain.prompts)).toContain('division by zero');

      expect(withoutDetails.steps.flatMap((step) => step.toolResults.map((result) => result.output))).toEqual(
        [4, { error: { code: 'TOOL_ERROR', message: expect.stringContaining('division by zero') } }],
      );
      const results = withDetails.steps.flatMap((step) => step.toolResults);
      const outputs = results.map((result) => result.output as DetailedToolOutput);
      const events = invoked.slice(first);
      expect(outputs).toEqual([
        { output: 4, ok: true, callId: events[0]?.callId, version: 1, latencyMs: events[0]?.latencyMs },
        {
          output: { error: { code: 'TOOL_ERROR', message: expect.stringContaining('division by zero') } },
          ok: false,
          callId: events[1]?.callId,
          version: 1,
          latencyMs: events[1]?.latencyMs,
        },
      ]);
      // The event names the AI SDK's tool call, so steps and events join without details too.
      expect(events.map((event) => event.toolCallId)).toEqual(results.map((result) => result.toolCallId));
      expect(new Set(invoked.map((event) => event.callId)).size).toBe(4);
    } finally {
      await agent.close();
    }
  });

  it('run() gives each tool call its id', async () => {
    const { model } = divideModel([
      { a: 8, b: 4 },
      { a: 3, b: 0 },
    ]);
    const { agent, invoked } = await agentWithDivide(model);
    try {
      const result = await agent.run('divide twice');
      expect(result.toolCalls).toEqual([
        expect.objectContaining({ toolName: 'divide', output: 2, callId: invoked[0]?.callId }),
        expect.objectContaining({ toolName: 'divide', callId: invoked[1]?.callId }),
      ]);
      expect(result.toolCalls.map((call) => call.toolCallId)).toEqual(
        invoked.map((event) => event.toolCallId),
      );
      // The steps keep the bare output, as before.
      expect(result.steps[0]?.toolResults[0]?.output).toBe(2);
    } finally {
      await agent.close();
    }
  });
});

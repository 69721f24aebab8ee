/**
 * The `sia.tool_call <tool>` span of every call, run, failed or refused, through a real agent
 * (QuickJS sandbox, sql.js storage), alone and under the AI SDK's own `execute_tool` span.
 */
import { OpenTelemetry } from '@ai-sdk/otel';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { generateText, stepCountIs } from 'ai';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SelfImprovingAgent } from '../agent/self-improving-agent.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import { SIA_SPAN_ATTRIBUTES as A } from '../telemetry/span-attributes.ts';
import { registerTestTracing, type TestTracing } from '../telemetry/test-tracing.ts';
import { scriptedModel } from '../testing/scripted-model.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

let tracing: TestTracing | undefined;
afterEach(async () => {
  await tracing?.reset();
  tracing = undefined;
});

async function agentWithTool(options: { tracer?: ReturnType<typeof trace.getTracer> } = {}) {
  const agent = new SelfImprovingAgent({ sandbox, storage: sqlJsStorage(), ...options });
  await agent.addTool({
    name: 'divide',
    description: 'Divides a by b',
    inputSchema: {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    },
    source: `function divide({ a, b }) {
  if (b === 0) throw new Error('division of ' + a + ' by zero');
  return a / b;
}`,
  });
  return agent;
}

describe('tool-call spans', () => {
  it('records each call: success, failure by its sandbox code, refusals by theirs, never inputs or messages', async () => {
    tracing = registerTestTracing();
    const agent = await agentWithTool();
    const ok = await agent.invoke('divide', { a: 6, b: 3 }, { details: true });
    const failed = await agent.invoke('divide', { a: 1234567, b: 0 }).catch((error: unknown) => error);
    await agent.invoke('divide', { a: 'six', b: 3 }).catch(() => undefined);
    await agent.invoke('nope', {}).catch(() => undefined);
    await agent.close();
    const calls = tracing.named('sia.tool_call ');
    expect(
      calls.map((span) => [span.name, span.attributes[A.callOutcome], span.attributes[A.errorType]]),
    ).toEqual([
      ['sia.tool_call divide', 'success', undefined],
      ['sia.tool_call divide', 'failure', 'TOOL_ERROR'],
      ['sia.tool_call divide', 'refused', 'TOOL_INPUT_INVALID'],
      ['sia.tool_call nope', 'refused', 'TOOL_NOT_FOUND'],
    ]);
    expect(calls[0]?.attributes).toMatchObject({
      [A.operationName]: 'execute_tool',
      [A.toolName]: 'divide',
      [A.toolType]: 'function',
      [A.toolVersion]: 1,
      [A.callId]: ok.callId,
      [A.latencyMs]: ok.latencyMs,
    });
    expect(calls[0]?.status.code).toBe(SpanStatusCode.UNSET);
    expect(calls[1]?.attributes).toMatchObject({
      [A.callId]: (failed as { callId: string }).callId,
      [A.errorCode]: 'TOOL_ERROR',
    });
    expect(calls[1]?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'TOOL_ERROR' });
    expect(calls[2]?.attributes[A.callId]).toBeUndefined();
    const everything = JSON.stringify(calls.map((span) => [span.attributes, span.events, span.status]));
    for (const leaked of ['1234567', 'zero', 'six', 'must be']) expect(everything).not.toContain(leaked);
  });

  it('uses the tracer passed as the agent option', async () => {
    tracing = registerTestTracing();
    const agent = await agentWithTool({ tracer: trace.getTracer('my-app', '9.9.9') });
    await agent.invoke('divide', { a: 1, b: 1 });
    await agent.close();
    expect(tracing.named('sia.tool_call ').map((span) => span.instrumentationScope)).toEqual([
      expect.objectContaining({ name: 'my-app', version: '9.9.9' }),
    ]);
  });

  it("nests under the AI SDK's execute_tool span when @ai-sdk/otel is registered for the call", async () => {
    tracing = registerTestTracing();
    const agent = await agentWithTool();
    const model = scriptedModel((call) =>
      call.toolResults.length === 0
        ? { toolCalls: [{ toolName: 'divide', input: { a: 8, b: 2 } }] }
        : { text: 'the answer is 4' },
    );
    const result = await generateText({
      model,
      prompt: 'What is 8 / 2?',
      tools: agent.tools(),
      stopWhen: stepCountIs(3),
      telemetry: { integrations: [new OpenTelemetry()] },
    });
    await agent.close();
    expect(result.text).toBe('the answer is 4');
    const [call] = tracing.named('sia.tool_call ');
    const parent = call && tracing.parentOf(call);
    expect(parent?.name).toBe('execute_tool divide');
    expect(parent?.spanContext().traceId).toBe(call?.spanContext().traceId);
    // The same tool call id on both spans.
    expect(call?.attributes[A.toolCallId]).toBe(parent?.attributes['gen_ai.tool.call.id']);
    expect(call?.attributes[A.toolCallId]).toEqual(expect.any(String));
  });

  it('works without any SDK registered: no spans, no errors, nothing active', async () => {
    const agent = await agentWithTool();
    expect(await agent.invoke('divide', { a: 9, b: 3 })).toBe(3);
    await expect(agent.invoke('divide', { a: 9, b: 0 })).rejects.toMatchObject({ errorCode: 'TOOL_ERROR' });
    expect(trace.getActiveSpan()).toBeUndefined();
    await agent.close();
  });
});

import { readFileSync } from 'node:fs';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentTracing, TRACER_NAME, TRACER_VERSION, tracingOption } from './agent-tracing.ts';
import { SIA_SPAN_ATTRIBUTES as A, SIA_SPAN_NAMES } from './span-attributes.ts';
import { registerTestTracing, type TestTracing } from './test-tracing.ts';

let tracing: TestTracing | undefined;
afterEach(async () => {
  await tracing?.reset();
  tracing = undefined;
});

describe('AgentTracing', () => {
  it('reports the package version as its instrumentation scope', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      name: string;
      version: string;
    };
    expect(TRACER_NAME).toBe(manifest.name);
    expect(TRACER_VERSION).toBe(manifest.version);
  });

  it('starts nothing that records without an SDK, and runs the work as is', async () => {
    const agentTracing = new AgentTracing();
    const call = agentTracing.startToolCall({ toolName: 'add', toolCallId: 'sdk-1' });
    expect(call.with(() => trace.getActiveSpan())).toBeUndefined();
    call.end({ outcome: 'failure', errorCode: 'TOOL_ERROR' });
    const value = await agentTracing.span(SIA_SPAN_NAMES.improve, 'add', {}, async (span) => {
      expect(span.recording).toBe(false);
      return 42;
    });
    expect(value).toBe(42);
  });

  it('uses an SDK registered after it was built, and the next one after a reset', async () => {
    const agentTracing = new AgentTracing();
    agentTracing.startToolCall({ toolName: 'before' }).end({ outcome: 'success' });
    tracing = registerTestTracing();
    agentTracing.startToolCall({ toolName: 'add' }).end({ outcome: 'success', version: 1 });
    expect(tracing.spans().map((span) => span.name)).toEqual(['sia.tool_call add']);
    expect(tracing.spans()[0]?.instrumentationScope).toMatchObject({
      name: TRACER_NAME,
      version: TRACER_VERSION,
    });
    await tracing.reset();
    tracing = registerTestTracing();
    agentTracing.startToolCall({ toolName: 'again' }).end({ outcome: 'success' });
    expect(tracing.spans().map((span) => span.name)).toEqual(['sia.tool_call again']);
  });

  it('records a tool call with GenAI attributes, and a failure by its code alone', () => {
    tracing = registerTestTracing();
    const agentTracing = new AgentTracing();
    const call = agentTracing.startToolCall({ toolName: 'add', toolCallId: 'sdk-7' });
    expect(call.with(() => trace.getActiveSpan()?.spanContext().spanId)).toBeDefined();
    call.end({
      outcome: 'failure',
      version: 3,
      callId: 'c-1',
      latencyMs: 12.5,
      startupMs: 4,
      errorCode: 'TOOL_ERROR',
    });
    call.end({ outcome: 'success' });
    const [span] = tracing.spans();
    expect(tracing.spans()).toHaveLength(1);
    expect(span?.attributes).toEqual({
      [A.operationName]: 'execute_tool',
      [A.toolName]: 'add',
      [A.toolType]: 'function',
      [A.toolKind]: 'managed',
      [A.toolCallId]: 'sdk-7',
      [A.callOutcome]: 'failure',
      [A.toolVersion]: 3,
      [A.callId]: 'c-1',
      [A.latencyMs]: 12.5,
      [A.startupMs]: 4,
      [A.errorType]: 'TOOL_ERROR',
      [A.errorCode]: 'TOOL_ERROR',
    });
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'TOOL_ERROR' });
    expect(span?.events).toEqual([]);
  });

  it('ends a span whose work throws, with the code and never the message', async () => {
    tracing = registerTestTracing();
    const agentTracing = new AgentTracing();
    const thrown = Object.assign(new Error('secret detail'), { code: 'STORAGE_FAILED' });
    await expect(
      agentTracing.span(SIA_SPAN_NAMES.gate, 'add', { [A.attempt]: 1 }, async () => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    const [span] = tracing.spans();
    expect(span?.name).toBe('sia.gate add');
    expect(span?.attributes).toMatchObject({ [A.toolName]: 'add', [A.errorType]: 'STORAGE_FAILED' });
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'STORAGE_FAILED' });
    expect(JSON.stringify(span?.attributes)).not.toContain('secret detail');
  });

  it('nests spans started inside another span under it, also after an await', async () => {
    tracing = registerTestTracing();
    const agentTracing = new AgentTracing();
    await agentTracing.span(SIA_SPAN_NAMES.improve, 'add', {}, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      agentTracing.spanSync(SIA_SPAN_NAMES.validate, 'add', {}, () => undefined);
    });
    const validate = tracing.named('sia.validate ')[0];
    expect(validate && tracing.parentOf(validate)?.name).toBe('sia.improve add');
  });

  it('refuses a tracer option that is not a Tracer, naming the field', () => {
    expect(() => tracingOption({ start: () => undefined })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', field: 'tracer' }),
    );
    expect(tracingOption(trace.getTracer('app'))).toBeInstanceOf(AgentTracing);
  });
});

/**
 * The spans of one improvement, end to end, with the official SDK's in-memory exporter and the
 * AI SDK's own OpenTelemetry integration registered: a real agent (QuickJS sandbox, sql.js
 * storage, the default rewriter chain with a scripted model), calls that make a tool fail, the
 * evaluation, the improvement and its stages, the promotion, then the watch's rollback or keep.
 */
import { OpenTelemetry } from '@ai-sdk/otel';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { registerTelemetry } from 'ai';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SelfImprovingAgent } from '../agent/self-improving-agent.ts';
import { Evaluator } from '../evaluation/evaluator.ts';
import type { ImprovementOptions } from '../improvement/improvement-options.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import { scriptedModel } from '../testing/scripted-model.ts';
import { SIA_SPAN_ATTRIBUTES as A } from './span-attributes.ts';
import { registerTestTracing, type TestTracing } from './test-tracing.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

const v1 = `function parse_amount({ text, legacy }) {
  if (legacy) throw new Error('cannot parse legacy amount ' + text);
  return Number(text);
}`;
// Passes the gate; fails on `mode: "x"` traffic, so the watch rolls it back.
const fragile = `function parse_amount({ text, legacy, mode }) {
  if (mode === 'x') throw new Error('mode x is not supported');
  const cleaned = legacy ? String(text).replace(/,/g, '') : text;
  return Number(cleaned);
}`;

let tracing: TestTracing;
let integrations: typeof globalThis.AI_SDK_TELEMETRY_INTEGRATIONS;
beforeEach(() => {
  tracing = registerTestTracing();
  integrations = globalThis.AI_SDK_TELEMETRY_INTEGRATIONS;
  registerTelemetry(new OpenTelemetry());
});
afterEach(async () => {
  globalThis.AI_SDK_TELEMETRY_INTEGRATIONS = integrations;
  await tracing.reset();
});

async function start(improvement: ImprovementOptions) {
  const model = scriptedModel((call) =>
    call.kind === 'rewriter' ? { text: `\`\`\`js\n${fragile}\n\`\`\`` } : { text: 'done' },
  );
  const agent = new SelfImprovingAgent({
    model,
    sandbox,
    storage: sqlJsStorage(),
    // Scored on success alone (never on how steady latencies are on a busy machine).
    evaluator: new Evaluator({ policy: 'window', weights: { successRate: 1, latency: 0, consistency: 0 } }),
    // Evaluated every 5 calls exactly: the watch's baseline is those 5 calls (3 failures).
    improvement: {
      evaluateEvery: 5,
      evaluateOnAnomaly: false,
      cooldownMs: 0,
      watchCalls: 10,
      shadowCalls: 0,
      ...improvement,
    },
  });
  await agent.addTool({
    name: 'parse_amount',
    description: 'Parses an amount',
    inputSchema: {
      type: 'object',
      properties: { text: { type: 'string' }, legacy: { type: 'boolean' }, mode: { type: 'string' } },
      required: ['text'],
    },
    source: v1,
    examples: [{ input: { text: '12.5' }, output: 12.5 }],
  });
  const traffic = async (count: number, input: (index: number) => object) => {
    for (let index = 0; index < count; index += 1)
      await agent.invoke('parse_amount', input(index)).catch(() => undefined);
    await agent.idle();
  };
  return { agent, traffic };
}

const legacy = (index: number) => (index % 5 < 3 ? { text: '1,000', legacy: true } : { text: '5' });

/** The span's ancestors, nearest first (exported ones). */
function ancestors(span: ReadableSpan): ReadableSpan[] {
  const chain: ReadableSpan[] = [];
  for (let parent = tracing.parentOf(span); parent; parent = tracing.parentOf(parent)) chain.push(parent);
  return chain;
}

/** The improvement spans that did not end skipped (a flagged evaluation while one runs skips). */
function attempted(): ReadableSpan[] {
  return tracing.named('sia.improve ').filter((span) => span.attributes[A.improveOutcome] !== 'skipped');
}

function only(prefix: string): ReadableSpan {
  const spans = tracing.named(prefix);
  expect(spans.map((span) => span.name)).toEqual([spans[0]?.name]);
  return spans[0] as ReadableSpan;
}

/** Every exported span's parent was exported too: nothing was left open. */
function expectAllEnded(): void {
  const ids = new Set(tracing.spans().map((span) => span.spanContext().spanId));
  const dangling = tracing
    .spans()
    .filter((span) => span.parentSpanContext !== undefined && !ids.has(span.parentSpanContext.spanId))
    .map((span) => span.name);
  expect(dangling).toEqual([]);
}

describe('the spans of one improvement', () => {
  it('nests the evaluation, the improvement with its stages and the promotion under the call, and the rollback under a later call', async () => {
    const { agent, traffic } = await start({ mode: 'inline' });
    await traffic(5, legacy);
    const [improve, ...others] = attempted();
    expect(others).toEqual([]);
    if (!improve) throw new Error('no improvement span');
    expect(improve.attributes).toMatchObject({
      [A.toolName]: 'parse_amount',
      [A.fromVersion]: 1,
      [A.improveOutcome]: 'promoted',
    });
    // The evaluation and the improvement are siblings under the fifth call's span.
    const call = tracing.parentOf(improve);
    expect(call?.name).toBe('sia.tool_call parse_amount');
    expect(call?.attributes).toMatchObject({ [A.toolVersion]: 1, [A.operationName]: 'execute_tool' });
    const evaluations = tracing.named('sia.evaluate ').filter((span) => tracing.parentOf(span) === call);
    expect(evaluations.map((span) => span.attributes[A.needsRewrite])).toEqual([true]);
    expect(evaluations[0]?.attributes).toMatchObject({
      [A.toolVersion]: 1,
      [A.evaluationPolicy]: 'window',
      [A.evaluationCalls]: 5,
      [A.evaluationFailures]: 3,
    });
    expect(evaluations[0]?.attributes[A.evaluationReasons]).toEqual(
      expect.arrayContaining([expect.any(String)]),
    );
    // The stages, in order, as children of the improvement.
    const stages = tracing
      .spans()
      .filter((span) => tracing.parentOf(span) === improve)
      .map((span) => span.name);
    expect(stages).toEqual([
      'sia.rewrite parse_amount',
      'sia.validate parse_amount',
      'sia.gate parse_amount',
      'sia.promote parse_amount',
    ]);
    expect(only('sia.gate ').attributes).toMatchObject({ [A.gateVerdict]: 'promote', [A.attempt]: 1 });
    expect(only('sia.promote ').attributes).toMatchObject({
      [A.fromVersion]: 1,
      [A.toVersion]: 2,
      [A.decisionOutcome]: 'promoted',
    });
    // Each rewriter of the chain has its span; the LLM rewrite's model spans nest under its own.
    const rewriters = tracing.named('sia.rewriter ');
    expect(
      rewriters.map((span) => [span.attributes[A.rewriterName], span.attributes[A.rewriteOutcome]]),
    ).toEqual([
      ['hardening', 'declined'],
      ['llm-rewriter', 'proposed'],
    ]);
    expect(rewriters.every((span) => tracing.parentOf(span)?.name === 'sia.rewrite parse_amount')).toBe(true);
    const modelSpans = tracing.spans().filter((span) => span.instrumentationScope.name === 'gen_ai');
    expect(modelSpans.length).toBeGreaterThan(0);
    for (const span of modelSpans) expect(ancestors(span)).toContain(rewriters[1]);

    // v2 fails on mode x: the watch rolls it back, under the call that tipped it.
    await traffic(10, () => ({ text: '3', mode: 'x' }));
    const rollback = only('sia.rollback ');
    expect(rollback.attributes).toMatchObject({
      [A.fromVersion]: 2,
      [A.toVersion]: 1,
      [A.decisionOutcome]: 'rolled-back',
      [A.decisionTest]: 'rollback',
      [A.baselineCalls]: 5,
    });
    expect(rollback.attributes[A.decisionCalls]).toBeGreaterThan(0);
    const trigger = tracing.parentOf(rollback);
    expect(trigger?.name).toBe('sia.tool_call parse_amount');
    expect(trigger?.attributes).toMatchObject({ [A.toolVersion]: 2, [A.callOutcome]: 'failure' });
    expect(tracing.named('sia.evaluate ').filter((span) => tracing.parentOf(span) === rollback)).toHaveLength(
      1,
    );
    expect(tracing.named('sia.keep ')).toEqual([]);
    await agent.close();
    expectAllEnded();
  });

  it('nests work started in background mode under the call that triggered it, and records a keep', async () => {
    const { agent, traffic } = await start({ mode: 'background' });
    await traffic(5, legacy);
    const improve = attempted()[0];
    expect(attempted().map((span) => span.attributes[A.improveOutcome])).toEqual(['promoted']);
    expect(improve && tracing.parentOf(improve)?.name).toBe('sia.tool_call parse_amount');
    await traffic(10, () => ({ text: '7' }));
    const keep = only('sia.keep ');
    expect(keep.attributes).toMatchObject({
      [A.fromVersion]: 1,
      [A.toVersion]: 2,
      [A.decisionOutcome]: 'kept',
    });
    expect(tracing.parentOf(keep)?.attributes).toMatchObject({
      [A.toolName]: 'parse_amount',
      [A.toolVersion]: 2,
      [A.callOutcome]: 'success',
    });
    expect(tracing.named('sia.rollback ')).toEqual([]);
    await agent.close();
    expectAllEnded();
  });

  it('keeps the improvement open through its shadow phase, and ends it with the phase or at close()', async () => {
    const { agent, traffic } = await start({ mode: 'inline', shadowCalls: 3 });
    await traffic(5, legacy);
    expect(attempted()).toEqual([]);
    await traffic(3, () => ({ text: '1,000', legacy: true }));
    const [improve] = attempted();
    expect(attempted().map((span) => span.attributes[A.improveOutcome])).toEqual(['promoted']);
    const children = tracing
      .spans()
      .filter((span) => tracing.parentOf(span) === improve)
      .map((span) => span.name);
    expect(children).toEqual([
      'sia.rewrite parse_amount',
      'sia.validate parse_amount',
      'sia.gate parse_amount',
      'sia.shadow parse_amount',
      'sia.promote parse_amount',
    ]);
    expect(only('sia.shadow ').attributes).toMatchObject({
      [A.shadowVerdict]: 'promote',
      [A.shadowCalls]: 3,
    });
    await agent.close();
    expectAllEnded();

    // A second agent closes while its shadow phase waits for calls: the spans end anyway.
    tracing.exporter.reset();
    const second = await start({ mode: 'inline', shadowCalls: 3 });
    await second.traffic(5, legacy);
    expect(attempted()).toEqual([]);
    await second.agent.close();
    expect(attempted().map((span) => span.attributes[A.improveOutcome])).toEqual(['aborted']);
    expect(only('sia.shadow ').status.message).toBe('ABORTED');
  });
});

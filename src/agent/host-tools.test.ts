import { OpenTelemetry } from '@ai-sdk/otel';
import type { ToolSet } from 'ai';
import { generateText, jsonSchema, stepCountIs, tool } from 'ai';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { ToolDegradedEvent } from '../improvement/improvement-events.ts';
import { ToolDisabledError } from '../runtime/runtime-errors.ts';
import type { ToolInvokedEvent } from '../runtime/runtime-events.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { SIA_SPAN_ATTRIBUTES as A } from '../telemetry/span-attributes.ts';
import { registerTestTracing, type TestTracing } from '../telemetry/test-tracing.ts';
import { scriptedModel } from '../testing/scripted-model.ts';
import type { SelfImprovingAgentOptions } from './agent-options.ts';
import { snakeCase } from './host-tools.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
afterAll(async () => {
  await sandbox.close();
});

function agentOn(
  storage: StorageAdapter,
  options: Omit<SelfImprovingAgentOptions, 'sandbox' | 'storage'> = {},
) {
  return new SelfImprovingAgent({ storage, sandbox, improvement: { mode: 'inline' }, ...options });
}

/** A managed (sandboxed) tool beside the host ones. */
const doubleTool = {
  name: 'double',
  description: 'Doubles n',
  inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
  source: 'function double({ n }) { return 2 * n; }',
};

/** A host tool: the app's own function, here an order lookup that can be told to fail. */
function orderTools(behaviour: { fail?: boolean; error?: unknown } = {}) {
  const seen: unknown[] = [];
  const tools = {
    getOrder: tool({
      description: 'Reads an order by id',
      inputSchema: z.object({ id: z.string() }),
      execute: async ({ id }: { id: string }) => {
        seen.push(id);
        if (behaviour.fail) throw behaviour.error ?? new Error(`order ${id} not found`);
        return { id, total: 42, placedAt: new Date(0) };
      },
    }),
  };
  return { tools, seen };
}

describe('agent.measureTools', () => {
  it('wraps the app’s tools: values and errors pass through as they are, every call is recorded under the labelled version', async () => {
    const storage = memoryStorage();
    const agent = agentOn(storage);
    const invoked: ToolInvokedEvent[] = [];
    agent.on('tool:invoked', (event) => invoked.push(event));
    const created: string[] = [];
    agent.on('tool:created', (event) => created.push(`${event.toolName}:${event.via}:${event.author}`));
    try {
      const { tools, seen } = orderTools();
      const measured = await agent.measureTools(tools, { version: '2026.12.1' });
      expect(Object.keys(measured)).toEqual(['getOrder']);
      expect(created).toEqual(['get_order:measureTools:host']);

      const model = scriptedModel((call) =>
        call.index === 0 ? { toolCalls: [{ toolName: 'getOrder', input: { id: 'A-1' } }] } : { text: 'done' },
      );
      const result = await generateText({
        model,
        tools: measured,
        prompt: 'Find order A-1',
        stopWhen: stepCountIs(3),
      });
      expect(seen).toEqual(['A-1']);
      // The value reaches the AI SDK untouched (a Date stays a Date).
      const output = result.steps[0]?.toolResults[0]?.output as { placedAt: unknown };
      expect(output.placedAt).toBeInstanceOf(Date);
      expect(invoked).toHaveLength(1);
      expect(invoked[0]).toMatchObject({ toolName: 'get_order', version: 1, success: true });
      expect(invoked[0]?.toolCallId).toBe(result.steps[0]?.toolCalls[0]?.toolCallId);
      expect(invoked[0]?.callId).toMatch(/^get_order@1:/);

      const record = await agent.registry.find('get_order');
      expect(record?.kind).toBe('host');
      const version = await agent.registry.active('get_order');
      expect(version).toMatchObject({ version: 1, label: '2026.12.1', author: 'host', source: '' });
      expect(version.inputSchema).toMatchObject({ type: 'object', properties: { id: { type: 'string' } } });
      await agent.idle();
      expect(agent.memory.statistics('get_order', 1)).toMatchObject({ calls: 1, failures: 0 });
      // Not offered as a managed tool: the app passes its own set.
      expect(Object.keys(agent.tools())).not.toContain('get_order');
    } finally {
      await agent.close();
    }
  });

  it('maps labels to versions: the same label adds nothing, a new one deploys the next version, an old one deploys it again', async () => {
    const storage = memoryStorage();
    const first = agentOn(storage);
    await first.measureTools(orderTools().tools, { version: 'v1' });
    await first.close();

    const second = agentOn(storage);
    try {
      await second.measureTools(orderTools().tools, { version: 'v1' });
      expect((await second.registry.versions('get_order')).map((v) => v.label)).toEqual(['v1']);
      await second.measureTools(orderTools().tools, { version: 'v2' });
      expect(await second.registry.active('get_order')).toMatchObject({ version: 2, label: 'v2' });
      await second.measureTools(orderTools().tools, { version: 'v1' });
      expect(await second.registry.active('get_order')).toMatchObject({ version: 1, label: 'v1' });
      expect((await second.registry.versions('get_order')).map((v) => v.label)).toEqual(['v1', 'v2']);
    } finally {
      await second.close();
      await storage.close();
    }
  });

  it('records a failure with the error’s own code, the secrets replaced, and throws the error itself on', async () => {
    const storage = memoryStorage();
    const agent = agentOn(storage, { secrets: { DB_PASSWORD: 'hunter2-very-secret' } });
    const invoked: ToolInvokedEvent[] = [];
    agent.on('tool:invoked', (event) => invoked.push(event));
    try {
      const error = Object.assign(new Error('cannot connect with password hunter2-very-secret'), {
        code: 'ECONNREFUSED',
      });
      const measured = await agent.measureTools(orderTools({ fail: true, error }).tools, { version: 'r1' });
      const execute = measured.getOrder.execute as (input: unknown, options: unknown) => Promise<unknown>;
      await expect(execute({ id: 'B' }, { toolCallId: 't1', messages: [] })).rejects.toBe(error);
      const plain = await agent.measureTools(
        {
          getOrder: tool({
            inputSchema: z.object({ id: z.string() }),
            execute: async (_input: { id: string }): Promise<string> => {
              throw 'a string';
            },
          }),
        },
        { version: 'r2' },
      );
      await expect(
        (plain.getOrder.execute as (input: unknown, options: unknown) => Promise<unknown>)({ id: 'C' }, {}),
      ).rejects.toBe('a string');
      expect(invoked.map((event) => event.error)).toEqual([
        { code: 'ECONNREFUSED', message: 'cannot connect with password [secret:DB_PASSWORD]' },
        { code: 'TOOL_ERROR', message: 'a string' },
      ]);
      await agent.idle();
      const stored = await storage.recentInvocations({ toolName: 'get_order', limit: 10 });
      expect(stored.map((call) => call.errorMessage)).toEqual([
        'a string',
        'cannot connect with password [secret:DB_PASSWORD]',
      ]);
      expect(JSON.stringify(stored)).not.toContain('hunter2');
    } finally {
      await agent.close();
    }
  });

  it('evaluates host calls with the same decisions and raises tool:degraded once per episode, never rewriting', async () => {
    const storage = memoryStorage();
    const agent = agentOn(storage);
    const degraded: ToolDegradedEvent[] = [];
    agent.on('tool:degraded', (event) => degraded.push(event));
    let evaluations = 0;
    agent.on('tool:evaluated', () => {
      evaluations += 1;
    });
    const started: string[] = [];
    agent.on('improvement:started', (event) => started.push(event.toolName));
    try {
      const behaviour = { fail: false };
      const { tools } = orderTools(behaviour);
      const measured = await agent.measureTools(tools, { version: 'release-7' });
      const execute = measured.getOrder.execute as (input: unknown, options: unknown) => Promise<unknown>;
      for (let i = 0; i < 30; i += 1) await execute({ id: `ok-${i}` }, {});
      behaviour.fail = true;
      for (let i = 0; i < 30; i += 1) await execute({ id: `bad-${i}` }, {}).catch(() => undefined);
      await agent.idle();
      expect(evaluations).toBeGreaterThan(1);
      expect(degraded).toHaveLength(1);
      expect(degraded[0]).toMatchObject({
        toolName: 'get_order',
        version: 1,
        kind: 'host',
        label: 'release-7',
      });
      expect(degraded[0]?.evaluation.needsRewrite).toBe(true);
      expect(started).toEqual([]);
      expect(await agent.registry.versions('get_order')).toHaveLength(1);
      const audit = await storage.listAudit({ toolName: 'get_order', type: 'tool:degraded' });
      expect(audit).toHaveLength(1);
      expect(audit[0]?.fromVersion).toBe(1);
    } finally {
      await agent.close();
    }
  });

  it('raises tool:degraded for a managed tool too, before its improvement', async () => {
    const storage = memoryStorage();
    const agent = agentOn(storage);
    const order: string[] = [];
    agent.on('tool:degraded', (event) => order.push(`degraded:${event.kind}`));
    agent.on('improvement:started', () => order.push('improvement'));
    try {
      await agent.addTool({
        name: 'flaky',
        description: 'Fails for odd n',
        inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
        source: 'function flaky({ n }) { if (n % 2) throw new Error("odd"); return n; }',
      });
      for (let n = 0; n < 40; n += 1) await agent.invoke('flaky', { n: 2 * n + 1 }).catch(() => undefined);
      await agent.idle();
      expect(order[0]).toBe('degraded:sandboxed');
      expect(order.filter((entry) => entry.startsWith('degraded'))).toHaveLength(1);
    } finally {
      await agent.close();
    }
  });

  it('refuses calls of a disabled host tool without running or recording them', async () => {
    const storage = memoryStorage();
    const agent = agentOn(storage);
    try {
      const { tools, seen } = orderTools();
      const measured = await agent.measureTools(tools, { version: 'v1' });
      const execute = measured.getOrder.execute as (input: unknown, options: unknown) => Promise<unknown>;
      await agent.disableTool('get_order', { reason: 'database migration' });
      await expect(execute({ id: 'X' }, {})).rejects.toBeInstanceOf(ToolDisabledError);
      expect(seen).toEqual([]);
      await agent.enableTool('get_order');
      await execute({ id: 'Y' }, {});
      expect(seen).toEqual(['Y']);
      await agent.idle();
      expect(agent.memory.statistics('get_order', 1)?.calls).toBe(1);
    } finally {
      await agent.close();
    }
  });

  it('measures a tool that streams preliminary results when its stream ends, and passes tools without execute through', async () => {
    const storage = memoryStorage();
    const agent = agentOn(storage);
    const invoked: ToolInvokedEvent[] = [];
    agent.on('tool:invoked', (event) => invoked.push(event));
    try {
      const clientSide = tool({ description: 'Asks the user', inputSchema: jsonSchema({ type: 'object' }) });
      const measured = await agent.measureTools(
        {
          progress: tool({
            inputSchema: z.object({}),
            async *execute() {
              yield { step: 1 };
              yield { step: 2 };
            },
          }),
          askUser: clientSide,
        },
        { version: 'v1' },
      );
      expect(measured.askUser).toBe(clientSide);
      const stream = (
        measured.progress.execute as (input: unknown, options: unknown) => AsyncIterable<unknown>
      )({}, {});
      const values: unknown[] = [];
      for await (const value of stream) {
        values.push(value);
        expect(invoked).toHaveLength(0);
      }
      expect(values).toEqual([{ step: 1 }, { step: 2 }]);
      expect(invoked).toMatchObject([{ toolName: 'progress', success: true }]);
      expect(await agent.registry.find('ask_user')).toBeUndefined();
    } finally {
      await agent.close();
    }
  });

  it('refuses bad options naming the field and the value', async () => {
    const agent = agentOn(memoryStorage());
    try {
      const { tools } = orderTools();
      await expect(agent.measureTools(tools, { version: '' })).rejects.toMatchObject({
        code: 'INVALID_OPTION',
        field: 'version',
      });
      await expect(agent.measureTools(tools, { version: 'a\nb' })).rejects.toMatchObject({
        field: 'version',
      });
      await expect(
        agent.measureTools(tools, { version: 'v1', names: { getOrder: 'Not-Snake' } }),
      ).rejects.toMatchObject({ field: 'names.getOrder', value: 'Not-Snake' });
      await expect(agent.measureTools(tools, { version: 'v1', names: { nope: 'x' } })).rejects.toMatchObject({
        field: 'names.nope',
      });
      await expect(
        agent.measureTools({ ...tools, get_order: tools.getOrder }, { version: 'v1' }),
      ).rejects.toMatchObject({ field: 'names.get_order' });
      await agent.addTool({
        name: 'taken',
        description: 'A sandboxed tool',
        inputSchema: { type: 'object' },
        source: 'function taken() { return 1; }',
      });
      await expect(agent.measureTools({ taken: tools.getOrder }, { version: 'v1' })).rejects.toMatchObject({
        code: 'TOOL_KIND_MISMATCH',
      });
    } finally {
      await agent.close();
    }
  });

  it('names keys in snake_case', () => {
    expect(snakeCase('getWeather')).toBe('get_weather');
    expect(snakeCase('HTTPGet')).toBe('http_get');
    expect(snakeCase('fetch-page')).toBe('fetch_page');
    expect(snakeCase('already_snake')).toBe('already_snake');
  });
});

describe('host tools in a run, a stream and a trace', () => {
  let tracing: TestTracing | undefined;
  afterEach(async () => {
    await tracing?.reset();
    tracing = undefined;
  });

  it('run({ hostTools }) offers them beside the managed tools and measures their calls', async () => {
    const storage = memoryStorage();
    const model = scriptedModel((call) =>
      call.index === 0
        ? {
            toolCalls: [
              { toolName: 'getOrder', input: { id: 'Z-9' } },
              { toolName: 'double', input: { n: 21 } },
            ],
          }
        : { text: `order and ${JSON.stringify(call.toolResults.map((result) => result.output))}` },
    );
    const agent = agentOn(storage, { model, creation: { enabled: false } });
    try {
      await agent.addTool(doubleTool);
      const { tools, seen } = orderTools();
      const hostTools = await agent.measureTools(tools, { version: 'v1' });
      const invoked: ToolInvokedEvent[] = [];
      agent.on('tool:invoked', (event) => invoked.push(event));
      const result = await agent.run('Find order Z-9 and double 21', { hostTools });
      expect(seen).toEqual(['Z-9']);
      expect(result.toolCalls.map((call) => call.toolName).sort()).toEqual(['double', 'getOrder']);
      // Both calls carry their own id, the host one too (for agent.feedback).
      const hostCall = result.toolCalls.find((call) => call.toolName === 'getOrder');
      expect(hostCall?.callId).toMatch(/^get_order@1:/);
      expect(hostCall?.callId).toBe(invoked.find((event) => event.toolName === 'get_order')?.callId);
      expect(result.toolCalls.find((call) => call.toolName === 'double')?.callId).toMatch(/^double@1:/);
      expect(result.text).toContain('42');
      expect(agent.memory.statistics('get_order', 1)?.calls).toBe(1);
      expect(agent.memory.statistics('double', 1)?.calls).toBe(1);
      expect(() => agent.stream('x', { hostTools: { double: tools.getOrder } })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION', field: 'hostTools.double' }),
      );
    } finally {
      await agent.close();
    }
  });

  it('a host call has its span (kind host) under the AI SDK’s execute_tool span, and its evaluation under it', async () => {
    tracing = registerTestTracing();
    const storage = memoryStorage();
    const agent = agentOn(storage, { improvement: { mode: 'inline', evaluateEvery: 1 } });
    try {
      const measured = await agent.measureTools(orderTools().tools, { version: 'v3' });
      const model = scriptedModel((call) =>
        call.index === 0 ? { toolCalls: [{ toolName: 'getOrder', input: { id: 'T-1' } }] } : { text: 'ok' },
      );
      await generateText({
        model,
        tools: measured,
        prompt: 'order T-1',
        stopWhen: stepCountIs(3),
        telemetry: { integrations: [new OpenTelemetry()] },
      });
      await agent.idle();
      const [call] = tracing.named('sia.tool_call get_order');
      expect(call?.attributes).toMatchObject({
        [A.toolKind]: 'host',
        [A.toolVersion]: 1,
        [A.callOutcome]: 'success',
        'gen_ai.tool.name': 'get_order',
      });
      expect(tracing.parentOf(call as never)?.name).toBe('execute_tool getOrder');
      const [evaluation] = tracing.named('sia.evaluate get_order');
      expect(tracing.parentOf(evaluation as never)?.name).toBe('sia.tool_call get_order');

      await agent.disableTool('get_order');
      await (measured.getOrder.execute as (input: unknown, options: unknown) => Promise<unknown>)(
        { id: 'U' },
        {},
      ).catch(() => undefined);
      const refused = tracing.named('sia.tool_call get_order').at(-1);
      expect(refused?.attributes).toMatchObject({
        [A.callOutcome]: 'refused',
        [A.errorType]: 'TOOL_DISABLED',
      });
    } finally {
      await agent.close();
    }
  });
});

describe('disabling a managed tool', () => {
  it('refuses its calls (not recorded), hides it from tools(), audits and emits both changes, and enables it again', async () => {
    const storage = memoryStorage();
    const agent = agentOn(storage);
    const changes: string[] = [];
    agent.on('tool:disabled', (event) => changes.push(`disabled:${event.toolName}:${event.reason}`));
    agent.on('tool:enabled', (event) => changes.push(`enabled:${event.toolName}`));
    try {
      await agent.addTool(doubleTool);
      expect(await agent.invoke('double', { n: 2 })).toBe(4);
      expect(await agent.disableTool('double', { reason: 'wrong rounding' })).toBe(true);
      expect(await agent.disableTool('double')).toBe(false);
      await expect(agent.invoke('double', { n: 3 })).rejects.toMatchObject({ code: 'TOOL_DISABLED' });
      expect(Object.keys(await agent.toolSet())).not.toContain('double');
      await agent.idle();
      expect(agent.memory.statistics('double', 1)?.calls).toBe(1);
      expect((await agent.registry.find('double'))?.disabled).toBe(true);

      // A second agent on the same storage sees it disabled from the start.
      const other = agentOn(storage);
      await expect(other.invoke('double', { n: 3 })).rejects.toBeInstanceOf(ToolDisabledError);
      await other.close();

      expect(await agent.enableTool('double')).toBe(true);
      expect(await agent.invoke('double', { n: 5 })).toBe(10);
      expect(changes).toEqual(['disabled:double:wrong rounding', 'enabled:double']);
      const audit = await storage.listAudit({ toolName: 'double' });
      expect(audit.map((entry) => entry.type)).toEqual(
        expect.arrayContaining(['tool:disabled', 'tool:enabled']),
      );
      await expect(agent.disableTool('nope')).rejects.toMatchObject({ code: 'TOOL_NOT_FOUND' });
    } finally {
      await agent.close();
    }
  });

  it('another process’s disable reaches a running agent at its next state read', async () => {
    const storage = memoryStorage();
    const agent = new SelfImprovingAgent({ storage, sandbox });
    try {
      await agent.addTool(doubleTool);
      expect(await agent.invoke('double', { n: 1 })).toBe(2);
      // As `sia disable` does it: straight through a registry on the same storage.
      await agent.registry.setDisabled('double', true, { reason: 'from the CLI', actor: 'cli' });
      expect(await agent.invoke('double', { n: 1 })).toBe(2); // not read again yet
      // Five seconds later (only the clock is faked: the sandbox keeps its real timers), the
      // next call starts the read without waiting for it; a later one is refused.
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(Date.now() + 5_001);
      await agent.invoke('double', { n: 1 });
      await vi.waitFor(async () => {
        await expect(agent.invoke('double', { n: 1 })).rejects.toBeInstanceOf(ToolDisabledError);
      });
    } finally {
      vi.useRealTimers();
      await agent.close();
    }
  });
});

describe('review mends', () => {
  let tracing: TestTracing | undefined;
  afterEach(async () => {
    await tracing?.reset();
    tracing = undefined;
  });

  it('replicas starting the same new release at once converge on one version and evaluate their calls', async () => {
    const storage = memoryStorage();
    const first = agentOn(storage);
    await first.measureTools(orderTools().tools, { version: 'release-1' });
    const replicas = [agentOn(storage), agentOn(storage), agentOn(storage)];
    const evaluated = replicas.map(() => 0);
    const recorded = replicas.map(() => new Set<number>());
    replicas.forEach((replica, index) => {
      replica.on('tool:evaluated', () => {
        evaluated[index] = (evaluated[index] ?? 0) + 1;
      });
      replica.on('tool:invoked', (event) => recorded[index]?.add(event.version));
    });
    try {
      const sets = await Promise.all(
        replicas.map((replica) => replica.measureTools(orderTools().tools, { version: 'release-2' })),
      );
      const active = await first.registry.active('get_order');
      expect(active.label).toBe('release-2');
      // The first version with the label is the one every replica serves.
      const labelled = (await first.registry.versions('get_order')).filter((v) => v.label === 'release-2');
      expect(active.version).toBe(labelled[0]?.version);
      for (const set of sets) {
        const execute = set.getOrder.execute as (input: unknown, options: unknown) => Promise<unknown>;
        for (let i = 0; i < 25; i += 1) await execute({ id: `${i}` }, {});
      }
      for (const replica of replicas) await replica.idle();
      expect(recorded.map((versions) => [...versions])).toEqual(replicas.map(() => [active.version]));
      expect(evaluated.every((count) => count > 0)).toBe(true);
    } finally {
      for (const replica of replicas) await replica.close();
      await first.close();
    }
  });

  it('a disabled tool is neither evaluated nor improved, even on feedback', async () => {
    const storage = memoryStorage();
    const agent = agentOn(storage);
    const seen: string[] = [];
    agent.on('tool:evaluated', () => seen.push('evaluated'));
    agent.on('tool:degraded', () => seen.push('degraded'));
    agent.on('improvement:started', () => seen.push('improvement'));
    try {
      await agent.addTool(doubleTool);
      const calls = [];
      for (let n = 0; n < 5; n += 1) calls.push(await agent.invoke('double', { n }, { details: true }));
      await agent.disableTool('double');
      seen.length = 0;
      for (const call of calls) await agent.feedback({ callId: call.callId, correct: false });
      await agent.idle();
      expect(seen).toEqual([]);
    } finally {
      await agent.close();
    }
  });

  it('a secret in a host error’s code stays out of the record, the event and the span', async () => {
    tracing = registerTestTracing();
    const secret = 'sk_live_ABCDEF0123456789';
    const storage = memoryStorage();
    const agent = agentOn(storage, { secrets: { API_KEY: secret } });
    const invoked: ToolInvokedEvent[] = [];
    agent.on('tool:invoked', (event) => invoked.push(event));
    try {
      const error = Object.assign(new Error(`bad key ${secret}`), { code: secret });
      const measured = await agent.measureTools(orderTools({ fail: true, error }).tools, { version: 'v1' });
      await (measured.getOrder.execute as (input: unknown, options: unknown) => Promise<unknown>)(
        { id: 'A' },
        {},
      ).catch(() => undefined);
      await agent.idle();
      expect(invoked[0]?.error).toEqual({ code: 'TOOL_ERROR', message: 'bad key [secret:API_KEY]' });
      const stored = await storage.recentInvocations({ toolName: 'get_order', limit: 5 });
      expect(JSON.stringify(stored)).not.toContain(secret);
      const spans = JSON.stringify(
        tracing
          .spans()
          .map((span) => ({ name: span.name, attributes: span.attributes, status: span.status })),
      );
      expect(spans).toContain('TOOL_ERROR');
      expect(spans).not.toContain(secret);
    } finally {
      await agent.close();
    }
  });

  it('a streaming host tool read only in part ends its span as ABORTED and records nothing', async () => {
    tracing = registerTestTracing();
    const agent = agentOn(memoryStorage());
    const invoked: ToolInvokedEvent[] = [];
    agent.on('tool:invoked', (event) => invoked.push(event));
    try {
      const measured = await agent.measureTools(
        {
          progress: tool({
            inputSchema: z.object({}),
            async *execute() {
              yield 1;
              yield 2;
              yield 3;
            },
          }),
        },
        { version: 'v1' },
      );
      const stream = (
        measured.progress.execute as (input: unknown, options: unknown) => AsyncIterable<number>
      )({}, {});
      for await (const value of stream) if (value === 1) break;
      await agent.idle();
      expect(invoked).toEqual([]);
      expect(tracing.named('sia.tool_call progress').map((span) => span.attributes[A.errorType])).toEqual([
        'ABORTED',
      ]);
    } finally {
      await agent.close();
    }
  });

  it('a disabled host tool is not offered by a run, and a bad schema registers none of the set', async () => {
    let offered: string[] = [];
    const model = scriptedModel(() => ({ text: 'ok' }));
    const spy = model.doGenerate.bind(model);
    model.doGenerate = async (options) => {
      offered = (options.tools ?? []).map((entry) => entry.name);
      return spy(options);
    };
    const storage = memoryStorage();
    const agent = agentOn(storage, { model, creation: { enabled: false } });
    try {
      const measured = await agent.measureTools(orderTools().tools, { version: 'v1' });
      await agent.run('hi', { hostTools: measured });
      expect(offered).toContain('getOrder');
      await agent.disableTool('get_order');
      await agent.run('hi', { hostTools: measured });
      expect(offered).not.toContain('getOrder');

      const broken = {
        inputSchema: { not: 'a schema' },
        execute: async () => 1,
      } as unknown as ToolSet[string];
      await expect(
        agent.measureTools({ firstOne: orderTools().tools.getOrder, secondOne: broken }, { version: 'v9' }),
      ).rejects.toMatchObject({ code: 'INVALID_OPTION', field: 'tools.secondOne.inputSchema' });
      expect(await agent.registry.find('first_one')).toBeUndefined();
    } finally {
      await agent.close();
    }
  });

  it('stream() refuses a host tool named like a stored managed tool, also before the stored tools are loaded', async () => {
    const storage = memoryStorage();
    const first = agentOn(storage);
    await first.addTool(doubleTool);
    await first.close();
    const model = scriptedModel(() => ({ toolCalls: [{ toolName: 'double', input: { n: 1 } }] }));
    // A new agent on that storage: stream() returns before the stored tools are loaded.
    const agent = agentOn(storage, { model, creation: { enabled: false } });
    try {
      const result = agent.stream('double 1', { hostTools: { double: orderTools().tools.getOrder } });
      const thrown = await (async () => {
        for await (const part of result.fullStream) {
          if (part.type === 'error') throw part.error;
        }
      })().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(thrown).toMatchObject({ code: 'INVALID_OPTION', field: 'hostTools.double' });
    } finally {
      await agent.close();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { SchemaCache } from '../core/json-schema.ts';
import { TypedEmitter } from '../core/typed-emitter.ts';
import { CodeValidator } from '../generation/code-validator.ts';
import type { RecordInput } from '../memory/performance-memory.ts';
import { ToolRegistry } from '../registry/tool-registry.ts';
import { SandboxError } from '../sandbox/sandbox-error.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { ToolInputError, ToolInvocationError, ToolUnavailableError } from './runtime-errors.ts';
import type { RuntimeEvents, ToolInvokedEvent } from './runtime-events.ts';
import { ToolCatalog } from './tool-catalog.ts';
import { ToolRuntime } from './tool-runtime.ts';

/** A runtime over a fake sandbox (it answers from `answer`) with a real catalog and registry. */
async function runtimeWith(
  answer: (call: { source: string; network: string[]; secrets?: unknown }, input: unknown) => unknown,
  options: { capabilities?: { network: string[]; secrets?: string[] }; inline?: boolean } = {},
) {
  const registry = new ToolRegistry({ storage: memoryStorage() });
  await registry.create({
    name: 'add',
    description: 'Adds',
    inputSchema: {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a'],
    },
    source: 'function add({ a, b }) { return a + b; }',
    capabilities: options.capabilities ?? { network: ['api.example.com'], secrets: ['TOKEN'] },
  });
  const catalog = new ToolCatalog(registry, new CodeValidator(), new SchemaCache());
  await catalog.load();
  const records: RecordInput[] = [];
  const invoked: ToolInvokedEvent[] = [];
  const afterCalls: unknown[] = [];
  const events = new TypedEmitter<RuntimeEvents>();
  events.on('tool:invoked', (event) => invoked.push(event));
  let settled = false;
  const runtime = new ToolRuntime({
    catalog,
    sandbox: {
      runDetailed: async (call, input) => {
        const value = answer(
          { source: call.source, network: [...(call.network?.allow ?? [])], secrets: call.secrets },
          input,
        );
        return { value, denials: [], startupMs: 0, logs: [] } as never;
      },
    },
    memory: { record: (record) => records.push(record) as never },
    events,
    secrets: { TOKEN: 's3cret' },
    capabilities: async (_toolName, stored) => ({
      network: stored.network.slice(0, 1),
      secrets: stored.secrets ?? [],
    }),
    afterCall: (toolName, version, input, outcome) => {
      afterCalls.push({ toolName, version, input, outcome: { success: outcome.success } });
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          settled = true;
          resolve();
        }, 5),
      );
    },
    inline: options.inline ?? false,
  });
  return { runtime, records, invoked, afterCalls, catalog, registry, settled: () => settled };
}

describe('ToolRuntime', () => {
  it('runs the served version with the granted capabilities and secrets, records the call and tells the loop', async () => {
    const seen: unknown[] = [];
    const { runtime, records, invoked, afterCalls } = await runtimeWith((call, input) => {
      seen.push(call);
      const { a, b } = input as { a: number; b: number };
      return a + b;
    });
    const outcome = await runtime.execute('add', { a: 2, b: 3 }, { toolCallId: 'sdk-call-1' });
    expect(outcome).toEqual({
      ok: true,
      value: 5,
      version: 1,
      callId: expect.stringMatching(/^add@1:[0-9a-f-]{36}$/),
      latencyMs: expect.any(Number),
    });
    expect(seen).toEqual([
      {
        source: 'function add({ a, b }) { return a + b; }',
        network: ['api.example.com'],
        secrets: { TOKEN: 's3cret' },
      },
    ]);
    expect(records).toEqual([
      expect.objectContaining({
        toolName: 'add',
        version: 1,
        success: true,
        input: { a: 2, b: 3 },
        output: 5,
      }),
    ]);
    expect(invoked).toEqual([
      expect.objectContaining({
        toolName: 'add',
        version: 1,
        success: true,
        callId: outcome.callId,
        toolCallId: 'sdk-call-1',
      }),
    ]);
    expect(records[0]).toMatchObject({ callId: outcome.callId });
    expect(afterCalls).toEqual([
      { toolName: 'add', version: 1, input: { a: 2, b: 3 }, outcome: { success: true } },
    ]);
  });

  it('records a failure with the sandbox code and returns a ToolInvocationError', async () => {
    const { runtime, records, invoked } = await runtimeWith(() => {
      throw new SandboxError({ code: 'TIMEOUT', message: 'too slow' } as never);
    });
    const outcome = await runtime.execute('add', { a: 1 });
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(ToolInvocationError.isInstance(outcome.error)).toBe(true);
    expect(outcome.error).toMatchObject({ toolName: 'add', version: 1, errorCode: 'TIMEOUT' });
    expect(records).toEqual([expect.objectContaining({ success: false, errorCode: 'TIMEOUT' })]);
    expect(invoked[0]?.error?.code).toBe('TIMEOUT');
    // One id for the call: on the outcome, the error, the event and the record; none for the SDK.
    expect(outcome.callId).toMatch(/^add@1:/);
    expect((outcome.error as ToolInvocationError).callId).toBe(outcome.callId);
    expect(invoked[0]?.callId).toBe(outcome.callId);
    expect(invoked[0]).not.toHaveProperty('toolCallId');
    expect(records[0]).toMatchObject({ callId: outcome.callId });
  });

  it.each([
    ['schema', { b: 1 }, /does not match its input schema/],
    ['plain JSON', { a: Number.POSITIVE_INFINITY }, /is not plain JSON/],
    ['an array', [1, 2], /does not match|must be a JSON object/],
  ])(
    'refuses input that fails the %s check: nothing runs, nothing is recorded',
    async (_label, input, message) => {
      let ran = false;
      const { runtime, records, afterCalls } = await runtimeWith(() => {
        ran = true;
      });
      const outcome = await runtime.execute('add', input);
      expect(outcome.ok === false && ToolInputError.isInstance(outcome.error)).toBe(true);
      expect(outcome.ok === false && outcome.error.message).toMatch(message);
      expect([ran, records.length, afterCalls.length]).toEqual([false, 0, 0]);
      expect(outcome).not.toHaveProperty('callId');
    },
  );

  it('answers TOOL_NOT_FOUND for an unknown tool and TOOL_UNAVAILABLE for one whose source fails validation', async () => {
    const { runtime, catalog, registry } = await runtimeWith(() => 1);
    const unknown = await runtime.execute('nope', {});
    expect(unknown.ok === false && (unknown.error as { code?: string }).code).toBe('TOOL_NOT_FOUND');
    const broken = await registry.addCandidate('add', {
      source: 'function add() { return eval("1"); }',
      parentVersion: 1,
      reason: 'broken',
      author: 'human',
    });
    catalog.set('Adds', broken);
    const unavailable = await runtime.execute('add', { a: 1 });
    expect(unavailable.ok === false && ToolUnavailableError.isInstance(unavailable.error)).toBe(true);
    expect(unavailable.ok === false && unavailable.error).toMatchObject({ version: 2 });
  });

  it('waits for the loop’s work only in inline mode', async () => {
    const background = await runtimeWith(() => 1);
    await background.runtime.execute('add', { a: 1 });
    expect(background.settled()).toBe(false);
    const inline = await runtimeWith(() => 1, { inline: true });
    await inline.runtime.execute('add', { a: 1 });
    expect(inline.settled()).toBe(true);
  });
});

import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { textAnswer } from '../../test/support/model-answer.ts';
import { silentModel } from '../../test/support/silent-model.ts';
import { Evaluator } from '../evaluation/evaluator.ts';
import { AbortedError, ModelTimeoutError } from '../generation/generation-errors.ts';
import type {
  ImprovementAttemptFailedEvent,
  ImprovementFailedEvent,
  ImprovementSkippedEvent,
} from '../improvement/improvement-events.ts';
import type { Rewriter } from '../rewriting/rewriter.ts';
import { RewritersFailedError } from '../rewriting/rewriting-errors.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { REGISTRY_AUDIT_TYPES } from '../storage/audit-evidence.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { scriptedModel } from '../testing/scripted-model.ts';
import type { SelfImprovingAgentOptions } from './agent-options.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 2 });
afterAll(() => sandbox.close());
afterEach(() => vi.useRealTimers());

// Fails with a logic error on legacy input: the hardening rewriter cannot help it.
const v1 = `function parse_amount({ text, legacy }) {
  if (legacy) throw new Error('cannot parse legacy amount ' + text);
  return Number(text);
}`;
const fixed = `function parse_amount({ text, legacy }) {
  const cleaned = legacy ? String(text).replace(/,/g, '') : text;
  return Number(cleaned);
}`;

async function agentWith(options: SelfImprovingAgentOptions = {}) {
  const storage = options.storage ?? memoryStorage();
  const agent = new SelfImprovingAgent({
    sandbox,
    // 0.1's 'window' policy: five calls, three failing, need a rewrite (these tests are about aborts).
    evaluator: new Evaluator({ policy: 'window' }),
    ...options,
    improvement: {
      evaluateEvery: 5,
      evaluateOnAnomaly: false,
      cooldownMs: 0,
      watchCalls: 10,
      ...options.improvement,
    },
    storage,
  });
  if ((await agent.registry.list()).length === 0) {
    await agent.addTool({
      name: 'parse_amount',
      description: 'Parses an amount',
      inputSchema: {
        type: 'object',
        properties: { text: { type: 'string' }, legacy: { type: 'boolean' } },
        required: ['text'],
      },
      source: v1,
      examples: [
        { input: { text: '12.5' }, output: 12.5 },
        { input: { text: '7' }, output: 7 },
      ],
    });
  }
  const failed: ImprovementFailedEvent[] = [];
  const attempts: ImprovementAttemptFailedEvent[] = [];
  const skipped: ImprovementSkippedEvent[] = [];
  let started = 0;
  agent.on('improvement:failed', (event) => failed.push(event));
  agent.on('improvement:attempt-failed', (event) => attempts.push(event));
  agent.on('improvement:skipped', (event) => skipped.push(event));
  agent.on('improvement:started', () => {
    started += 1;
  });
  return { agent, storage, failed, attempts, skipped, started: () => started };
}

/** Five calls, three of them failing: enough for one evaluation that needs a rewrite. */
async function failingCalls(agent: SelfImprovingAgent): Promise<void> {
  for (let index = 0; index < 5; index += 1) {
    const input = index < 3 ? { text: '1,000', legacy: true } : { text: '5' };
    await agent.invoke('parse_amount', input).catch(() => undefined);
  }
}

function fixedRewriter(): Rewriter {
  return {
    name: 'scripted',
    rewrite: async () => ({ source: fixed, rationale: 'handles legacy amounts', author: 'llm-rewriter' }),
  };
}

describe('close() and idle() with model calls that never answer', () => {
  for (const honours of [true, false]) {
    const label = honours ? 'honours' : 'ignores';

    it(`close() aborts an improvement whose model call never answers (the provider ${label} the abort)`, async () => {
      const silent = silentModel(honours);
      const { agent, failed } = await agentWith({ model: silent.model });
      await failingCalls(agent);
      await silent.started;
      await agent.close();
      expect(silent.aborted()).toBe(true);
      expect(failed).toHaveLength(1);
      expect(failed[0]?.codes).toEqual(['ABORTED']);
      expect(AbortedError.isInstance(failed[0]?.error)).toBe(true);
    });

    it(`idle() resolves once modelTimeoutMs passes (the provider ${label} the abort)`, async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const silent = silentModel(honours);
      const { agent, failed } = await agentWith({ model: silent.model, modelTimeoutMs: 45_000 });
      await failingCalls(agent);
      await silent.started;
      let idle = false;
      const waiting = agent.idle().then(() => {
        idle = true;
      });
      await vi.advanceTimersByTimeAsync(44_999);
      expect(idle).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await waiting;
      expect(failed).toHaveLength(1);
      expect(failed[0]?.codes).toEqual(['REWRITERS_FAILED']);
      const chainError = failed[0]?.error as RewritersFailedError;
      expect(RewritersFailedError.isInstance(chainError)).toBe(true);
      expect(ModelTimeoutError.isInstance(chainError.failures[0]?.error)).toBe(true);
      expect(silent.aborted()).toBe(true);
      vi.useRealTimers();
      await agent.close();
    });
  }

  it('close() aborts a pending approve hook', async () => {
    let asked!: () => void;
    const approving = new Promise<void>((resolve) => {
      asked = resolve;
    });
    const { agent, failed } = await agentWith({
      rewriter: fixedRewriter(),
      approve: () => {
        asked();
        return new Promise<boolean>(() => undefined); // a person who never answers
      },
    });
    await failingCalls(agent);
    await approving;
    await agent.close();
    expect(failed.map((event) => event.codes)).toEqual([['ABORTED']]);
  });

  it('close() resolves once closeTimeoutMs passes when the work ignores the abort', async () => {
    const inner = memoryStorage();
    let hang = false;
    let hungAudit!: () => void;
    const hung = new Promise<void>((resolve) => {
      hungAudit = resolve;
    });
    const storage: StorageAdapter = {
      ...inner,
      appendAudit: (entry) => {
        if (hang && entry.type === 'improvement:finished') {
          hungAudit();
          return new Promise(() => undefined); // a storage call that never returns
        }
        return inner.appendAudit(entry);
      },
    };
    const never: Rewriter = {
      name: 'never',
      rewrite: () => {
        hang = true;
        return new Promise(() => undefined);
      },
    };
    const { agent } = await agentWith({ storage, rewriter: never, closeTimeoutMs: 7_000 });
    await failingCalls(agent);
    await vi.waitFor(() => expect(hang).toBe(true));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let closed = false;
    const closing = agent.close().then(() => {
      closed = true;
    });
    await hung; // the abort ended the rewrite; the audit write of the failure now hangs
    await vi.advanceTimersByTimeAsync(6_999);
    expect(closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await closing;
    expect(closed).toBe(true);
  });
});

describe('run() with an abort signal', () => {
  for (const honours of [true, false]) {
    it(`ends with ABORTED while request_new_tool generates (the provider ${honours ? 'honours' : 'ignores'} the abort)`, async () => {
      let generatorAborted = false;
      let generating!: () => void;
      const generationStarted = new Promise<void>((resolve) => {
        generating = resolve;
      });
      let calls = 0;
      const model = new MockLanguageModelV4({
        doGenerate: async (options) => {
          calls += 1;
          if (calls === 1) {
            return {
              content: [
                {
                  type: 'tool-call',
                  toolCallId: 'call-1',
                  toolName: 'request_new_tool',
                  input: JSON.stringify({
                    name: 'add_numbers',
                    description: 'Adds two numbers.',
                    inputSchema: {
                      type: 'object',
                      properties: { a: { type: 'number' }, b: { type: 'number' } },
                      required: ['a', 'b'],
                    },
                    returns: 'the sum',
                  }),
                },
              ],
              finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
              usage: textAnswer('', 1, 1).usage,
              warnings: [],
            };
          }
          generating();
          return new Promise((_resolve, reject) => {
            options.abortSignal?.addEventListener('abort', () => {
              generatorAborted = true;
              if (honours) reject(options.abortSignal?.reason);
            });
          });
        },
      });
      const agent = new SelfImprovingAgent({ model, sandbox, storage: memoryStorage() });
      const controller = new AbortController();
      const running = agent
        .run('add 2 and 3', { abortSignal: controller.signal })
        .catch((error: unknown) => error);
      await generationStarted;
      controller.abort(new Error('user pressed stop'));
      const error = await running;
      expect(AbortedError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'ABORTED' });
      expect(generatorAborted).toBe(true);
      expect(calls).toBe(2);
      expect(await agent.registry.list()).toEqual([]);
      await agent.close();
    });
  }

  it('close() ends a run whose model never answers (and ignores the abort) with ABORTED', async () => {
    const silent = silentModel(false);
    const agent = new SelfImprovingAgent({ model: silent.model, sandbox, storage: memoryStorage() });
    await agent.ready();
    const running = agent.run('anything').catch((error: unknown) => error);
    await silent.started;
    await agent.close();
    const error = await running;
    expect(AbortedError.isInstance(error)).toBe(true);
    expect(silent.aborted()).toBe(true);
  });

  it('a step whose model never answers fails with MODEL_TIMEOUT after modelTimeoutMs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const silent = silentModel(false);
    const agent = new SelfImprovingAgent({
      model: silent.model,
      sandbox,
      storage: memoryStorage(),
      modelTimeoutMs: 20_000,
    });
    await agent.ready();
    let settled = false;
    const running = agent
      .run('anything')
      .catch((error: unknown) => error)
      .finally(() => {
        settled = true;
      });
    await silent.started;
    await vi.advanceTimersByTimeAsync(19_999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await running;
    expect(ModelTimeoutError.isInstance(error) || ModelTimeoutError.isInstance((error as Error).cause)).toBe(
      true,
    );
    vi.useRealTimers();
    await agent.close();
  });
});

describe('the rewrite cap counts improvements with a candidate', () => {
  it('an improvement where every rewriter declines is not counted (no model, a logic error)', async () => {
    const { agent, storage, attempts, skipped, started } = await agentWith({
      improvement: { maxRewritesPerTool: 3 },
    });
    for (let round = 0; round < 4; round += 1) {
      await failingCalls(agent);
      await agent.idle();
    }
    expect(started()).toBe(4);
    expect(skipped.filter((event) => event.reason === 'cap')).toEqual([]);
    expect((await storage.getTool('parse_amount'))?.counters.rewrites).toBe(0);
    expect(attempts.map((event) => event.codes)).toEqual(Array(4).fill(['REWRITE_NOT_APPLICABLE']));
    expect(attempts[0]?.reasons[0]).toMatch(
      /^REWRITE_NOT_APPLICABLE: hardening: the tool does not call the global fetch/,
    );
    await agent.close();
  });

  it('such an improvement still waits cooldownMs before the next one (in memory)', async () => {
    const { agent, skipped, started } = await agentWith({ improvement: { cooldownMs: 3_600_000 } });
    await failingCalls(agent);
    await agent.idle();
    await failingCalls(agent);
    await agent.idle();
    expect(started()).toBe(1);
    expect(skipped.map((event) => event.reason)).toEqual(['cooldown']);
    await agent.close();
  });

  it('a person resets the count (audited), and the tool is improved again', async () => {
    const rejecting: Rewriter = {
      name: 'scripted',
      rewrite: async () => ({
        source: 'function parse_amount({ text }) { return Number(text) + 1; }',
        rationale: 'wrong',
        author: 'llm-rewriter',
      }),
    };
    const { agent, storage, skipped, started } = await agentWith({
      rewriter: rejecting,
      improvement: { maxRewritesPerTool: 1, attemptsPerRewrite: 1 },
    });
    await failingCalls(agent);
    await agent.idle();
    await failingCalls(agent);
    await agent.idle();
    expect(started()).toBe(1);
    expect(skipped.map((event) => event.reason)).toEqual(['cap']);
    expect(await agent.registry.improvementCount('parse_amount')).toBe(1);

    await agent.resetImprovements('parse_amount', { reason: 'new model deployed', actor: 'human:ops' });
    expect(await agent.registry.improvementCount('parse_amount')).toBe(0);
    const [entry] = await storage.listAudit({ type: REGISTRY_AUDIT_TYPES.improvementsReset });
    expect(entry).toMatchObject({
      toolName: 'parse_amount',
      actor: 'human:ops',
      reason: 'new model deployed',
      evidence: { rewrites: 1, to: 0, before: 1 },
    });
    await failingCalls(agent);
    await agent.idle();
    expect(started()).toBe(2);
    expect(await agent.registry.improvementCount('parse_amount')).toBe(1);
    expect((await storage.getTool('parse_amount'))?.counters.rewrites).toBe(2);

    await agent.registry.resetImprovements('parse_amount', { to: 1 });
    expect(await agent.registry.improvementCount('parse_amount')).toBe(1);
    await expect(agent.registry.resetImprovements('parse_amount', { to: -1 })).rejects.toThrow(/to/);
    await agent.close();
  });
});

describe('rejections carry codes', () => {
  it('an approval refusal is APPROVAL_DECLINED', async () => {
    const { agent, attempts, failed } = await agentWith({ rewriter: fixedRewriter(), approve: () => false });
    await failingCalls(agent);
    await agent.idle();
    expect(attempts.map((event) => [event.stage, event.codes])).toEqual([
      ['approval', ['APPROVAL_DECLINED']],
    ]);
    expect(failed[0]?.codes).toEqual(['APPROVAL_DECLINED']);
    await agent.close();
  });

  it('a gate rejection carries the gate codes, a validation failure the validator codes', async () => {
    const answers = [
      'function wrong_name({ text }) { return Number(text); }',
      'function parse_amount({ text }) { return Number(text) + 1; }',
    ];
    const scripted: Rewriter = {
      name: 'scripted',
      rewrite: async () => ({ source: answers.shift() ?? fixed, rationale: 'try', author: 'llm-rewriter' }),
    };
    const { agent, attempts } = await agentWith({
      rewriter: scripted,
      improvement: { attemptsPerRewrite: 2 },
    });
    await failingCalls(agent);
    await agent.idle();
    expect(attempts.map((event) => event.stage)).toEqual(['validate', 'gate']);
    expect(attempts[0]?.codes).toEqual(['WRONG_NAME']);
    expect(attempts[1]?.codes.length).toBe(attempts[1]?.reasons.length);
    expect(attempts[1]?.codes).toContain('CASE_FAILED');
    await agent.close();
  });

  it('request_new_tool answers carry a code', async () => {
    const agent = new SelfImprovingAgent({ sandbox, storage: memoryStorage(), creation: { enabled: false } });
    await agent.ready();
    // Without a model it is not offered at all (asking for it says why).
    expect('request_new_tool' in agent.tools()).toBe(false);
    expect(() => agent.tools({ requestNewTool: true })).toThrow(/requestNewTool.*creation is disabled/s);
    await agent.close();
    const withModel = new SelfImprovingAgent({
      sandbox,
      storage: memoryStorage(),
      model: scriptedModel(() => ({ text: 'no code here' })),
      generator: { generate: async () => Promise.reject(new Error('the generator is down')) },
    });
    await withModel.ready();
    const requestNewTool = withModel.tools().request_new_tool as unknown as {
      execute: (input: unknown, options: unknown) => Promise<{ ok: boolean; error?: { code: string } }>;
    };
    const answer = await requestNewTool.execute(
      { name: 'x_tool', description: 'x', inputSchema: { type: 'object' }, returns: 'x' },
      { toolCallId: '1', messages: [] },
    );
    expect(answer).toMatchObject({ ok: false, error: { code: 'GENERATION_FAILED' } });
    await withModel.close();
  });
});

import type { Telemetry } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, describe, expect, it } from 'vitest';
import { textAnswer } from '../../test/support/model-answer.ts';
import { Evaluator } from '../evaluation/evaluator.ts';
import { AbortedError } from '../generation/generation-errors.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { scriptedModel } from '../testing/scripted-model.ts';
import type { SelfImprovingAgentOptions } from './agent-options.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 2 });
afterAll(() => sandbox.close());

// Fails on legacy input in a way hardening cannot fix: an improvement needs the LLM rewriter.
const v1 = `function parse_amount({ text, legacy }) {
  if (legacy) throw new Error('cannot parse legacy amount ' + text);
  return Number(text);
}`;
const fixed = `function parse_amount({ text, legacy }) {
  const cleaned = legacy ? String(text).replace(/,/g, '') : text;
  return Number(cleaned);
}`;
const doubleSpec = {
  name: 'double_it',
  description: 'Doubles a number',
  inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
  returns: 'the number times two',
  examples: [{ input: { n: 2 }, output: 4 }],
};

async function agentWith(options: SelfImprovingAgentOptions) {
  const agent = new SelfImprovingAgent({
    sandbox,
    storage: memoryStorage(),
    evaluator: new Evaluator({ policy: 'window' }),
    ...options,
    improvement: { evaluateEvery: 5, evaluateOnAnomaly: false, cooldownMs: 0, watchCalls: 10 },
  });
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
  return agent;
}

/** Five calls, three failing: one evaluation that needs a rewrite. */
async function failingCalls(agent: SelfImprovingAgent): Promise<void> {
  for (let index = 0; index < 5; index += 1) {
    const input = index < 3 ? { text: '1,000', legacy: true } : { text: '5' };
    await agent.invoke('parse_amount', input).catch(() => undefined);
  }
}

/** A promise and its resolve. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** A telemetry integration that records the functionId of each operation it hears start. */
function recorder(): { integration: Telemetry; functionIds: string[] } {
  const functionIds: string[] = [];
  return {
    functionIds,
    integration: {
      onStart: (event) => {
        functionIds.push(event.functionId ?? '(none)');
      },
    },
  };
}

/** Requests double_it, calls it, answers; writes double_it and the fixed parse_amount. */
const script = scriptedModel((call) => {
  if (call.kind === 'generator') return { text: 'function double_it({ n }) { return n * 2; }' };
  if (call.kind === 'rewriter') return { text: fixed };
  const done = call.toolResults.map((result) => result.toolName);
  if (!done.includes('request_new_tool'))
    return { toolCalls: [{ toolName: 'request_new_tool', input: doubleSpec }] };
  if (!done.includes('double_it')) return { toolCalls: [{ toolName: 'double_it', input: { n: 21 } }] };
  return { text: 'It is 42.' };
});

describe('telemetry of every model call the agent makes', () => {
  it('reaches orchestration, generation and rewriting, each with its functionId; a run’s settings win', async () => {
    const forAgent = recorder();
    const forRun = recorder();
    const agent = await agentWith({ model: script, telemetry: { integrations: [forAgent.integration] } });
    const promoted: number[] = [];
    agent.on('tool:promoted', (event) => promoted.push(event.toVersion));
    await failingCalls(agent);
    await agent.idle();
    expect(promoted).toEqual([2]);
    expect(forAgent.functionIds).toEqual(['sia.rewrite-tool']);

    const { text } = await agent.run('Double 21', { telemetry: { integrations: [forRun.integration] } });
    expect(text).toBe('It is 42.');
    // The run's integrations replace the agent's for this run: orchestration and its generation.
    expect(forRun.functionIds).toEqual(['sia.run', 'sia.generate-tool']);
    expect(forAgent.functionIds).toEqual(['sia.rewrite-tool']);

    // Without run settings the agent's apply; an app's functionId is kept, never replaced.
    await agent.run('Double 21 again', { telemetry: { functionId: 'chat-turn' } });
    expect(forAgent.functionIds).toEqual(['sia.rewrite-tool', 'chat-turn']);
    await agent.close();
  });

  it('a run’s abortSignal aborts its tool generation, not the improvement rewrite running beside it', async () => {
    const signals: { generation?: AbortSignal; rewrite?: AbortSignal } = {};
    let releaseRewrite: () => void = () => undefined;
    const rewriteReleased = new Promise<void>((resolve) => {
      releaseRewrite = resolve;
    });
    const started = { generation: signal(), rewrite: signal() };
    const model = new MockLanguageModelV4({
      provider: 'scripted',
      modelId: 'gated',
      doGenerate: async (options) => {
        const system = options.prompt.find((message) => message.role === 'system')?.content ?? '';
        if (system.includes('you improve an EXISTING tool')) {
          signals.rewrite = options.abortSignal;
          started.rewrite.resolve();
          await rewriteReleased;
          return textAnswer(fixed, 10, 10);
        }
        if (system.startsWith('You write one JavaScript tool')) {
          signals.generation = options.abortSignal;
          started.generation.resolve();
          return new Promise((_resolve, reject) => {
            options.abortSignal?.addEventListener('abort', () => reject(options.abortSignal?.reason));
          });
        }
        return script.doGenerate(options);
      },
    });
    const agent = await agentWith({ model });
    const promoted: number[] = [];
    agent.on('tool:promoted', (event) => promoted.push(event.toVersion));
    await failingCalls(agent);
    await started.rewrite.promise;
    const controller = new AbortController();
    const run = agent.run('Double 21', { abortSignal: controller.signal });
    await started.generation.promise;
    controller.abort();
    await expect(run).rejects.toSatisfy((error) => AbortedError.isInstance(error));
    expect(signals.generation?.aborted).toBe(true);
    expect(signals.rewrite?.aborted).toBe(false);
    releaseRewrite();
    await agent.idle();
    expect(promoted).toEqual([2]);
    await agent.close();
  });
});

describe('run() with messages and onStepFinish', () => {
  it('continues a conversation given as ModelMessages and calls onStepFinish after each step, in order', async () => {
    const seen: string[] = [];
    const model = scriptedModel((call) => {
      seen.push(call.text);
      return call.toolResults.length === 0
        ? { toolCalls: [{ toolName: 'parse_amount', input: { text: '12.5' } }] }
        : { text: `Parsed ${JSON.stringify(call.toolResults[0]?.output)}` };
    });
    const agent = await agentWith({ model });
    const steps: number[] = [];
    const { text, toolCalls } = await agent.run(
      [
        { role: 'user', content: 'My amount is 12.5' },
        { role: 'assistant', content: 'Noted. Shall I parse it?' },
        { role: 'user', content: [{ type: 'text', text: 'Yes please' }] },
      ],
      {
        onStepFinish: async (step) => {
          steps.push(step.stepNumber);
          // A throwing callback does not fail the run (as in the AI SDK).
          if (step.stepNumber === 0) throw new Error('the app’s callback broke');
        },
      },
    );
    expect(text).toBe('Parsed 12.5');
    expect(steps).toEqual([0, 1]);
    expect(seen[0]).toContain('My amount is 12.5');
    expect(seen[0]).toContain('Yes please');
    expect(toolCalls.map((call) => call.toolName)).toEqual(['parse_amount']);
    await agent.close();
  });

  it('names the invalid message field', async () => {
    const agent = await agentWith({ model: script });
    await expect(agent.run([{ role: 'system', content: 'x' }] as never)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      field: 'messages[0].role',
    });
    await expect(agent.run([{ role: 'tool', content: 'x' }] as never)).rejects.toMatchObject({
      field: 'messages[0].content',
    });
    await expect(agent.run([null] as never)).rejects.toMatchObject({ field: 'messages[0]' });
    await expect(agent.run('hi', { onStepFinish: 'x' } as never)).rejects.toMatchObject({
      field: 'onStepFinish',
    });
    await expect(agent.run('hi', { telemetry: 'on' } as never)).rejects.toMatchObject({ field: 'telemetry' });
    await agent.close();
  });
});

import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { type ScriptedCallKind, type ScriptedReply, scriptedModel } from '../testing/scripted-model.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
afterAll(async () => {
  await sandbox.close();
});

/** Fixed token counts per kind of call, so every sum below is exact. */
const TOKENS: Record<ScriptedCallKind, { input: number; output: number }> = {
  orchestrator: { input: 10, output: 1 },
  generator: { input: 100, output: 20 },
  rewriter: { input: 1000, output: 300 },
};

/**
 * A scripted model whose every answer reports the {@link TOKENS} of its kind, and which counts
 * its calls per kind.
 */
function countingModel(respond: Parameters<typeof scriptedModel>[0]) {
  const calls: Record<ScriptedCallKind, number> = { orchestrator: 0, generator: 0, rewriter: 0 };
  let lastKind: ScriptedCallKind = 'orchestrator';
  const inner = scriptedModel((call) => {
    lastKind = call.kind;
    calls[call.kind] += 1;
    return respond(call);
  });
  const model = new MockLanguageModelV4({
    provider: 'scripted',
    modelId: 'counting-model',
    doGenerate: async (options) => {
      const answer = await inner.doGenerate(options);
      const { input, output } = TOKENS[lastKind];
      return {
        ...answer,
        usage: {
          inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
          outputTokens: { total: output, text: output, reasoning: undefined },
        },
      };
    },
  });
  return { model, calls };
}

const doubleSpec = {
  name: 'double_it',
  description: 'Doubles a number',
  inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
  returns: 'the number times two',
  examples: [{ input: { n: 2 }, output: 4 }],
};

/** Asks for `double_it`, calls it once, then answers; the generator's answers come from `code`. */
function orchestrate(code: (index: number) => string) {
  return (call: Parameters<Parameters<typeof scriptedModel>[0]>[0]): ScriptedReply => {
    if (call.kind === 'generator') return { text: code(call.index) };
    if (call.kind === 'rewriter') return { text: 'no' };
    const done = call.toolResults.map((result) => result.toolName);
    if (!done.includes('request_new_tool')) {
      return { toolCalls: [{ toolName: 'request_new_tool', input: doubleSpec }] };
    }
    const created = call.toolResults.find((result) => result.toolName === 'request_new_tool')?.output as {
      ok?: boolean;
      error?: { code?: string };
    };
    const exists = created?.ok === true || created?.error?.code === 'TOOL_EXISTS';
    if (exists && !done.includes('double_it')) {
      return { toolCalls: [{ toolName: 'double_it', input: { n: 21 } }] };
    }
    return { text: 'done' };
  };
}

describe('run().usage', () => {
  it('includes every generation attempt of the tools request_new_tool created in the run', async () => {
    // Attempt 1 answers prose (EMPTY), attempt 2 the tool: two generator calls.
    const { model, calls } = countingModel(
      orchestrate((index) =>
        index === 0 ? 'I would rather not.' : 'function double_it({ n }) { return n * 2; }',
      ),
    );
    const agent = new SelfImprovingAgent({ model, storage: memoryStorage(), sandbox });
    const created: number[] = [];
    agent.on('tool:created', ({ usage }) => created.push(usage.totalTokens));
    try {
      const result = await agent.run('Double 21');
      expect(result.toolCalls.map((call) => call.toolName)).toEqual(['request_new_tool', 'double_it']);
      expect(result.toolCalls[1]?.output).toBe(42);
      expect(calls).toEqual({ orchestrator: 3, generator: 2, rewriter: 0 });
      const input = 3 * TOKENS.orchestrator.input + 2 * TOKENS.generator.input;
      const output = 3 * TOKENS.orchestrator.output + 2 * TOKENS.generator.output;
      expect(result.usage).toEqual({ inputTokens: input, outputTokens: output, totalTokens: input + output });
      // The creation event reports the generation alone.
      expect(created).toEqual([2 * (TOKENS.generator.input + TOKENS.generator.output)]);
    } finally {
      await agent.close();
    }
  });

  it('counts a generation that failed every attempt, and no generation of an earlier run', async () => {
    const { model, calls } = countingModel(orchestrate(() => 'function wrong_name() { return 1; }'));
    const agent = new SelfImprovingAgent({ model, storage: memoryStorage(), sandbox });
    const refused: string[] = [];
    agent.on('tool:refused', ({ code }) => refused.push(code));
    try {
      const first = await agent.run('Double 21');
      expect(refused).toEqual(['GENERATION_FAILED']);
      expect(calls.generator).toBe(3); // the generator's default maxAttempts
      const orchestratorCalls = calls.orchestrator;
      expect(first.usage.inputTokens).toBe(
        orchestratorCalls * TOKENS.orchestrator.input + 3 * TOKENS.generator.input,
      );
      expect(first.usage.outputTokens).toBe(
        orchestratorCalls * TOKENS.orchestrator.output + 3 * TOKENS.generator.output,
      );

      // A second run generates again (the tool still does not exist) and counts only its own.
      const second = await agent.run('Double 21');
      expect(calls.generator).toBe(6);
      const secondOrchestratorCalls = calls.orchestrator - orchestratorCalls;
      expect(second.usage.inputTokens).toBe(
        secondOrchestratorCalls * TOKENS.orchestrator.input + 3 * TOKENS.generator.input,
      );
    } finally {
      await agent.close();
    }
  });

  it('leaves generation through agent.toolSet() out of run().usage', async () => {
    const { model } = countingModel(orchestrate(() => 'function double_it({ n }) { return n * 2; }'));
    const agent = new SelfImprovingAgent({ model, storage: memoryStorage(), sandbox });
    try {
      const requestNewTool = (await agent.toolSet()).request_new_tool;
      const answer = await requestNewTool?.execute?.(
        doubleSpec as never,
        { toolCallId: 'outside', messages: [] } as never,
      );
      expect(answer).toMatchObject({ ok: true, tool: 'double_it' });
      // The tool exists now: the run only calls it, and its usage is the orchestrator's alone.
      const result = await agent.run('Double 21');
      expect(result.toolCalls.map((call) => call.toolName)).toEqual(['request_new_tool', 'double_it']);
      expect(result.toolCalls[0]?.output).toMatchObject({ ok: false, error: { code: 'TOOL_EXISTS' } });
      expect(result.usage.inputTokens).toBe(3 * TOKENS.orchestrator.input);
    } finally {
      await agent.close();
    }
  });
});

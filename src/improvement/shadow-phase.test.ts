import { describe, expect, it } from 'vitest';
import { ToolRuntime, type ToolRuntimeParts } from '../runtime/tool-runtime.ts';
import { ShadowPhase } from './shadow-phase.ts';
import { evaluationOf, proposal, reportOf, V2 } from './test-fakes.ts';

const run = {
  baseVersion: 1,
  evaluation: evaluationOf(0.5),
  candidate: { proposal: proposal(V2), source: V2, report: reportOf('promote'), attempt: 1 },
  tokens: 10,
};
const catalog = {
  get: () => ({ version: { capabilities: { network: ['api.example.com'], secrets: ['TOKEN'] } } }) as never,
  isDisabled: () => false,
};

/** The real runtime over a fake sandbox (its `run` is what the shadow phase calls). */
function runtimeOver(
  sandbox: ToolRuntimeParts['sandbox'],
  parts: Pick<ToolRuntimeParts, 'secrets' | 'capabilities'> = {},
): ToolRuntime {
  return new ToolRuntime({
    catalog,
    sandbox,
    memory: { record: () => undefined as never },
    events: { emit: () => true },
    ...parts,
  });
}

describe('ShadowPhase', () => {
  it('runs the candidate on the next live inputs of the shadowed version with its grant, then asks the gate', async () => {
    const seen: unknown[] = [];
    const phase = new ShadowPhase({
      runtime: runtimeOver(
        {
          runDetailed: async (call, input) => {
            seen.push({ source: call.source, allow: call.network?.allow, secrets: call.secrets, input });
            return { value: 1, denials: [], startupMs: 0 } as never;
          },
        },
        {
          secrets: { TOKEN: 't' },
          capabilities: async (_name, stored) => ({ network: stored.network, secrets: stored.secrets ?? [] }),
        },
      ),
      catalog,
      calls: 2,
    });
    expect(phase.observe('add', 1, { a: 1 }, { success: true, latencyMs: 1 })).toBeUndefined(); // nothing started
    phase.start('add', run);
    expect(phase.observe('add', 2, { a: 1 }, { success: true, latencyMs: 1 })).toBeUndefined(); // another version
    expect(await phase.observe('add', 1, { a: 1 }, { success: false, latencyMs: 1 })).toBeUndefined();
    const done = await phase.observe('add', 1, { a: 2 }, { success: true, latencyMs: 1 });
    expect(done?.run).toBe(run);
    expect(done?.verdict).toMatchObject({
      verdict: 'promote',
      result: { calls: 2, candidateFailures: 0, activeFailures: 1 },
    });
    expect(seen).toEqual([
      { source: V2, allow: ['api.example.com'], secrets: { TOKEN: 't' }, input: { a: 1 } },
      { source: V2, allow: ['api.example.com'], secrets: { TOKEN: 't' }, input: { a: 2 } },
    ]);
    expect(phase.observe('add', 1, { a: 3 }, { success: true, latencyMs: 1 })).toBeUndefined(); // over
  });

  it('counts a denial the candidate caught as a failure and names the host', async () => {
    const phase = new ShadowPhase({
      runtime: runtimeOver({
        runDetailed: async () =>
          ({ value: 1, denials: [{ target: 'evil.example:443' }], startupMs: 0 }) as never,
      }),
      catalog,
      calls: 1,
    });
    phase.start('add', run);
    const done = await phase.observe('add', 1, {}, { success: true, latencyMs: 1 });
    expect(done?.verdict.verdict).toBe('reject');
    expect(done?.verdict.verdict === 'reject' && done.verdict.codes).toEqual([
      'SHADOW_WORSE',
      'CAPABILITY_DENIED',
    ]);
  });
});

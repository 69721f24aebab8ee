import { describe, expect, it } from 'vitest';
import type { RegressionRunOptions } from '../regression/regression-runner.ts';
import type { RewriteRequest } from '../rewriting/rewriter.ts';
import { type AttemptRejection, improveVersion } from './improve-version.ts';
import { evaluationOf, proposal, registryWithTool, reportOf, scriptedRewriter, V2 } from './test-fakes.ts';

/** A gate that answers each run with the next scripted report; it records what it ran. */
function scriptedGate(reports: ReturnType<typeof reportOf>[]) {
  const runs: { source: string; options: RegressionRunOptions }[] = [];
  const harvested: unknown[] = [];
  return {
    runs,
    harvested,
    run: async (_toolName: string, source: string, options: RegressionRunOptions = {}) => {
      runs.push({ source, options });
      const report = reports.shift();
      if (!report) throw new Error('no scripted report left');
      return report;
    },
    visibleCases: async () => [
      {
        id: 1,
        toolName: 'add',
        input: { a: 1, b: 2 },
        expect: { equals: 3 },
        description: 'example 1',
      } as never,
    ],
    harvest: async (toolName: string, options: unknown) => {
      harvested.push({ toolName, options });
      return { added: [], skipped: 0 } as never;
    },
  };
}

describe('improveVersion: rewrite → validate → gate, without an agent', () => {
  it('returns the first proposal the gate passes, feeding earlier rejections into later requests', async () => {
    const tools = await registryWithTool();
    const seen: RewriteRequest[] = [];
    const gate = scriptedGate([
      reportOf('reject', ['CASE_FAILED: case 1 (example 1) returned 4']),
      reportOf('promote'),
    ]);
    const rejections: AttemptRejection[] = [];
    const proposals: string[] = [];
    const result = await improveVersion({
      toolName: 'add',
      version: 1,
      evaluation: evaluationOf(0.5),
      rewriter: scriptedRewriter(
        [proposal('this is not javascript', 5), proposal(`${V2} `, 7), proposal(V2, 11)],
        seen,
      ),
      gate,
      tools,
      onProposal: (first) => {
        proposals.push(first.source);
      },
      onAttemptFailed: (rejection) => rejections.push(rejection),
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.candidate.attempt).toBe(3);
    expect(result.candidate.proposal.author).toBe('my-rewriter');
    expect([result.attempts, result.tokens]).toEqual([3, 23]);
    expect(rejections.map((rejection) => rejection.stage)).toEqual(['validate', 'gate']);
    expect(rejections[1]?.codes).toEqual(['CASE_FAILED']);
    expect(result.reasons[1]).toBe('attempt 2 (gate): CASE_FAILED: case 1 (example 1) returned 4');
    // The gate ran against version 1, with the validated source.
    expect(gate.runs.map((run) => run.options.baselineVersion)).toEqual([1, 1]);
    // The rewriter saw the tool, the visible cases, and every rejected attempt before its own.
    expect(seen.map((request) => request.previousAttempts.length)).toEqual([0, 1, 2]);
    expect(seen[0]?.visibleCases).toEqual([
      { input: { a: 1, b: 2 }, expect: { equals: 3 }, description: 'example 1' },
    ]);
    expect(seen[0]?.recentErrors).toEqual(['TOOL_ERROR: boom']);
    expect(proposals).toHaveLength(1); // onProposal: once, at the first proposal
  });

  it('stops at a decline, says the rewriter had nothing, and reports that nothing was proposed', async () => {
    const result = await improveVersion({
      toolName: 'add',
      version: 1,
      evaluation: evaluationOf(0.5),
      rewriter: scriptedRewriter([null, proposal(V2)]),
      gate: scriptedGate([]),
      tools: await registryWithTool(),
    });
    expect(result).toMatchObject({
      ok: false,
      attempts: 1,
      proposed: false,
      codes: ['REWRITE_DECLINED'],
      reasons: ['attempt 1 (rewrite): REWRITE_DECLINED: the rewriter "scripted" had nothing to propose'],
    });
  });

  it('stops when beforeAttempt says so (a lost lease), keeping the reason and code', async () => {
    const result = await improveVersion({
      toolName: 'add',
      version: 1,
      evaluation: evaluationOf(0.5),
      rewriter: scriptedRewriter([proposal('nope'), proposal(V2)]),
      gate: scriptedGate([reportOf('promote')]),
      tools: await registryWithTool(),
      beforeAttempt: () => ({ reason: 'the lease is gone', code: 'LEASE_LOST' }),
    });
    expect(result).toMatchObject({ ok: false, attempts: 2, proposed: true });
    expect(result.codes.at(-1)).toBe('LEASE_LOST');
    expect(result.reasons.at(-1)).toBe('attempt 2: the lease is gone');
  });

  it('turns an error into a failed result with its code, and an abort into ABORTED', async () => {
    const failing = await improveVersion({
      toolName: 'add',
      version: 1,
      evaluation: evaluationOf(0.5),
      rewriter: {
        name: 'broken',
        rewrite: async () => Promise.reject(Object.assign(new Error('down'), { code: 'MODEL_CALL_FAILED' })),
      },
      gate: scriptedGate([]),
      tools: await registryWithTool(),
    });
    expect(failing).toMatchObject({
      ok: false,
      codes: ['MODEL_CALL_FAILED'],
      reasons: ['error: MODEL_CALL_FAILED: down'],
    });
    const controller = new AbortController();
    controller.abort();
    const aborted = await improveVersion({
      toolName: 'add',
      version: 1,
      evaluation: evaluationOf(0.5),
      rewriter: scriptedRewriter([proposal(V2)]),
      gate: scriptedGate([reportOf('promote')]),
      tools: await registryWithTool(),
      abortSignal: controller.signal,
    });
    expect(aborted.ok).toBe(false);
    expect(aborted.codes).toEqual(['ABORTED']);
  });

  it('harvests cases from the given memory first, for the version being improved', async () => {
    const gate = scriptedGate([reportOf('promote')]);
    const from = { recent: async () => [] };
    await improveVersion({
      toolName: 'add',
      version: 1,
      evaluation: evaluationOf(0.5),
      rewriter: scriptedRewriter([proposal(V2)]),
      gate,
      tools: await registryWithTool(),
      harvest: { from, max: 4 },
    });
    expect(gate.harvested).toEqual([{ toolName: 'add', options: { from, max: 4, version: 1 } }]);
  });
});

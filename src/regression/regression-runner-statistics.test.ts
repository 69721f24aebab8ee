import { afterAll, describe, expect, it } from 'vitest';
import { createTool } from '../../test/support/create-tool.ts';
import { ToolRegistry } from '../registry/tool-registry.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import type { SandboxCall } from '../sandbox/sandbox-call.ts';
import type { SandboxRunResult } from '../sandbox/sandbox-result.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { RegressionRunner } from './regression-runner.ts';
import type { RegressionRunnerOptions, RegressionSandbox } from './regression-runner-options.ts';

// The gate's sequential statistics through the runner. Latency is scripted through a stand-in
// sandbox (RegressionSandbox is an interface) so nothing depends on the machine's speed; the
// last test runs the real QuickJS sandbox.

const V1 = 'function double({ n }) { return n * 2; }';
const CANDIDATE = 'function double({ n }) { return n + n; }';

/** A run's scripted latency in ms, or an error to throw; `run` counts that side's runs of the case. */
type Script = (side: 'candidate' | 'baseline', run: number, n: number) => number | Error;

/** Answers every call with `n * 2` after the scripted latency, and counts the calls. */
function scriptedSandbox(script: Script): RegressionSandbox & { calls: number } {
  const runs = new Map<string, number>();
  const sandbox = {
    calls: 0,
    runDetailed: async (call: SandboxCall, input: object): Promise<SandboxRunResult> => {
      sandbox.calls += 1;
      const side = call.source === CANDIDATE ? 'candidate' : 'baseline';
      const { n } = input as { n: number };
      const key = `${side}:${n}`;
      const run = runs.get(key) ?? 0;
      runs.set(key, run + 1);
      const latency = script(side, run, n);
      if (latency instanceof Error) throw Object.assign(latency, { code: 'TOOL_ERROR' });
      return {
        value: n * 2,
        logs: [],
        durationMs: latency,
        executionMs: latency,
        startupMs: 0,
        requests: 0,
        denials: [],
      };
    },
  };
  return sandbox;
}

async function setup(script: Script, options: Partial<RegressionRunnerOptions> = {}, cases = 2) {
  const storage = memoryStorage();
  const registry = new ToolRegistry({ storage });
  await createTool(registry, {
    name: 'double',
    description: 'Doubles n',
    inputSchema: { type: 'object', properties: { n: { type: 'number' } } },
    source: V1,
    examples: Array.from({ length: cases }, (_, n) => ({ input: { n }, output: n * 2 })),
  });
  const sandbox = scriptedSandbox(script);
  // The scripted latencies are a few ms: a 5 ms slack, not the 100 ms default floor.
  const runner = new RegressionRunner({
    storage,
    sandbox,
    heldOutFraction: 0,
    latencyMarginMs: 5,
    ...options,
  });
  return { runner, sandbox };
}

describe('RegressionRunner: sequential repeats with a stated error rate', () => {
  it('all pairs equal: not slower at the first look, 3 repeats', async () => {
    const { runner, sandbox } = await setup(() => 10, {}, 4);
    const report = await runner.run('double', CANDIDATE);
    expect(report).toMatchObject({ verdict: 'promote', passed: true, repeats: 3, reasons: [] });
    expect(report.evidence[0]).toMatchObject({
      rule: 'latency',
      decision: 'not-worse',
      pairs: 12,
      exceeding: 0,
      look: 1,
      looks: 3,
    });
    expect(sandbox.calls).toBe(4 * 3 * 2);
  });

  it('ties (exactly half the pairs exceed) run up to maxRepeats, then say INCONCLUSIVE', async () => {
    // Every other candidate run takes 40 ms against the baseline's 10 (allowed: 20).
    const { runner, sandbox } = await setup((side, run) => (side === 'candidate' && run % 2 === 1 ? 40 : 10));
    const rounds: number[] = [];
    const report = await runner.run('double', CANDIDATE, { onProgress: ({ round }) => rounds.push(round) });
    expect(report).toMatchObject({ verdict: 'inconclusive', passed: false, repeats: 12 });
    expect(report.cases.every((result) => result.passed)).toBe(true);
    expect(rounds).toEqual([1, 1, 2, 2, 3, 3]);
    expect(sandbox.calls).toBe(2 * 12 * 2);
    expect(report.evidence[0]).toMatchObject({
      rule: 'latency',
      decision: 'undecided',
      pairs: 24,
      exceeding: 12,
      look: 3,
      repeats: 12,
    });
    expect(report.evidence[1]).toMatchObject({ rule: 'errors', decision: 'not-worse', look: 3, pairs: 24 });
    expect(report.reasons).toEqual([
      expect.stringMatching(
        /^INCONCLUSIVE: after 12 repeats per case \(maxRepeats 12\) the latency rule could not decide whether the candidate is worse than v1, so the current version is kept\. latency: undecided\. .* in 12 of 24 paired runs/,
      ),
    ]);
  });

  it('a single outlier pair: undecided at 3 repeats, not slower at 6', async () => {
    const { runner } = await setup((side, run, n) =>
      side === 'candidate' && run === 0 && n === 1 ? 500 : 10,
    );
    const report = await runner.run('double', CANDIDATE);
    expect(report).toMatchObject({ verdict: 'promote', repeats: 6 });
    expect(report.evidence[0]).toMatchObject({ decision: 'not-worse', pairs: 12, exceeding: 1, look: 2 });
  });

  it('a decided slower candidate is rejected at the first look that shows it', async () => {
    const { runner, sandbox } = await setup((side) => (side === 'candidate' ? 200 : 10), {}, 3);
    const report = await runner.run('double', CANDIDATE);
    expect(report).toMatchObject({ verdict: 'reject', repeats: 3 });
    expect(report.reasons).toEqual([
      expect.stringMatching(/^SLOWER: latency: slower\. .* in 9 of 9 paired runs/),
    ]);
    expect(sandbox.calls).toBe(3 * 3 * 2);
  });

  it('the candidate flaky on one case: its failure in a later round rejects at once', async () => {
    const { runner } = await setup((side, run, n) => {
      if (side !== 'candidate') return 10;
      if (n === 1 && run === 4) return new Error('flaky');
      return run % 2 === 1 ? 40 : 10;
    });
    const report = await runner.run('double', CANDIDATE);
    expect(report).toMatchObject({ verdict: 'reject', repeats: 6 });
    expect(report.reasons).toEqual([
      expect.stringMatching(/^CASE_FAILED: case \d+ \(example 2\): the candidate failed 1 of 6 runs/),
    ]);
    expect(report.evidence[1]).toMatchObject({ rule: 'errors', candidateOnly: 1, baselineOnly: 0 });
  });

  it('a baseline that fails some runs: those pairs count for errors, not for latency', async () => {
    const { runner } = await setup(
      (side, run, n) => (side === 'baseline' && n === 0 && run < 2 ? new Error('down') : 10),
      {},
      4,
    );
    const report = await runner.run('double', CANDIDATE);
    expect(report.verdict).toBe('promote');
    expect(report.evidence[1]).toMatchObject({ rule: 'errors', decision: 'not-worse', baselineOnly: 2 });
    expect(report.evidence[0]).toMatchObject({ rule: 'latency', waived: true, notCompared: 2 });
  });

  it('without a baseline only the cases decide: one round, no evidence', async () => {
    const { runner, sandbox } = await setup((side, run) => (side === 'candidate' && run % 2 === 1 ? 40 : 10));
    const report = await runner.run('double', CANDIDATE, { baselineVersion: null });
    expect(report).toMatchObject({ verdict: 'promote', repeats: 3, evidence: [], baseline: null });
    expect(sandbox.calls).toBe(2 * 3);
  });

  it('maxRepeats equal to repeats: one look at the whole alpha', async () => {
    const { runner } = await setup(() => 10, { repeats: 3, maxRepeats: 3 });
    // 0 of 6 exceeding has p = 1/64 ≤ 0.05.
    const report = await runner.run('double', CANDIDATE);
    expect(report).toMatchObject({ verdict: 'promote', repeats: 3 });
    expect(report.evidence[0]).toMatchObject({ looks: 1, alphaPerLook: 0.05 });
    // With a stricter alpha the same runs cannot decide.
    const { runner: strict } = await setup(() => 10, { repeats: 3, maxRepeats: 3, alpha: 0.01 });
    expect((await strict.run('double', CANDIDATE)).verdict).toBe('inconclusive');
  });

  it('an abort during a round stops before the next round starts', async () => {
    const { runner, sandbox } = await setup((side, run) => (side === 'candidate' && run % 2 === 1 ? 40 : 10));
    const controller = new AbortController();
    await expect(
      runner.run('double', CANDIDATE, {
        signal: controller.signal,
        onProgress: ({ done, total }) => {
          if (done === total) controller.abort(new Error('stop'));
        },
      }),
    ).rejects.toThrow('stop');
    expect(sandbox.calls).toBe(2 * 3 * 2);
  });
});

describe('RegressionRunner statistics in the real sandbox', () => {
  const sandbox = new QuickJsSandbox({ workers: 1 });
  afterAll(() => sandbox.close());

  it('all runs fail on both sides: the failed cases reject; errors and latency have nothing against', async () => {
    const storage = memoryStorage();
    const registry = new ToolRegistry({ storage });
    const failing = "function down({ n }) { throw new Error('down ' + n); }";
    await createTool(registry, {
      name: 'down',
      description: 'Always fails',
      inputSchema: { type: 'object', properties: { n: { type: 'number' } } },
      source: failing,
    });
    const runner = new RegressionRunner({ storage, sandbox, heldOutFraction: 0 });
    for (const n of [1, 2]) {
      await runner.addCase('down', { input: { n }, expect: { type: 'number' }, description: `n = ${n}` });
    }
    const report = await runner.run('down', failing.replace("'down '", "'still down '"));
    expect(report.verdict).toBe('reject');
    expect(report.reasons.map((reason) => reason.split(':')[0])).toEqual(['CASE_FAILED', 'CASE_FAILED']);
    expect(report.repeats).toBe(3);
    expect(report.evidence).toMatchObject([
      { rule: 'latency', decision: 'not-worse', pairs: 0, notCompared: 6 },
      { rule: 'errors', decision: 'not-worse', bothFailed: 6, candidateOnly: 0, baselineOnly: 0 },
    ]);
  });
});

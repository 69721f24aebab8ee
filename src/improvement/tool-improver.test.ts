import { describe, expect, it } from 'vitest';
import { SchemaCache } from '../core/json-schema.ts';
import { TypedEmitter } from '../core/typed-emitter.ts';
import type { Evaluation } from '../evaluation/evaluation.ts';
import { CodeValidator } from '../generation/code-validator.ts';
import type { ToolRegistry } from '../registry/tool-registry.ts';
import { ToolCatalog } from '../runtime/tool-catalog.ts';
import { ToolRuntime } from '../runtime/tool-runtime.ts';
import { readImprovementOutcome } from '../storage/audit-evidence.ts';
import type { InvocationRecord } from '../storage/records.ts';
import { ImprovementBudget } from './improvement-budget.ts';
import type { ImprovementEvents } from './improvement-events.ts';
import { ImprovementLease } from './improvement-lease.ts';
import { type ImprovementOptions, resolveImprovementOptions } from './improvement-options.ts';
import { PromotionWatch } from './promotion-watch.ts';
import { evaluationOf, proposal, registryWithTool, reportOf, scriptedRewriter, V2 } from './test-fakes.ts';
import { ToolImprover } from './tool-improver.ts';

/**
 * The loop's orchestration with fakes: scripted evaluations, a scripted gate and rewriter, a
 * sandbox that answers shadow calls from a script; the registry is real (on the in-memory
 * store), so promotions, counters and audit entries are the real ones.
 */
async function loop(options: {
  evaluations: Evaluation[];
  reports?: ReturnType<typeof reportOf>[];
  answers?: Parameters<typeof scriptedRewriter>[0];
  improvement?: ImprovementOptions;
  approve?: () => boolean;
  shadowOutcomes?: boolean[];
  registry?: ToolRegistry;
}) {
  const registry = options.registry ?? (await registryWithTool());
  const catalog = new ToolCatalog(registry, new CodeValidator(), new SchemaCache());
  await catalog.load();
  const events = new TypedEmitter<ImprovementEvents>();
  const log: string[] = [];
  for (const name of [
    'tool:evaluated',
    'improvement:started',
    'improvement:attempt-failed',
    'improvement:failed',
    'improvement:skipped',
    'tool:promoted',
    'tool:rolled-back',
  ] as const) {
    events.on(name, (event: unknown) =>
      log.push(`${name}${'reason' in (event as object) ? ` ${(event as { reason: string }).reason}` : ''}`),
    );
  }
  const evaluations = [...options.evaluations];
  const evaluate = async () => evaluations.shift() ?? evaluationOf(1, false);
  const reports = [...(options.reports ?? [reportOf('promote')])];
  const shadowOutcomes = [...(options.shadowOutcomes ?? [])];
  const settings = resolveImprovementOptions({
    evaluateEvery: 2,
    cooldownMs: 0,
    watchCalls: 2,
    ...options.improvement,
  });
  // The calls made through `call()`, per version, newest first: what the watch reads.
  const recorded = new Map<number, InvocationRecord[]>();
  const memory = {
    summary: async () => evaluationOf(1).summary,
    recent: async (_tool: string, { version, limit }: { version: number; limit: number }) =>
      (recorded.get(version) ?? []).slice(0, limit),
  };
  const improver = new ToolImprover({
    registry,
    memory,
    evaluator: { evaluate },
    gate: {
      run: async () => reports.shift() ?? reportOf('reject', ['CASE_FAILED: no report left']),
      visibleCases: async () => [],
    },
    rewriter: scriptedRewriter(options.answers ?? [proposal(V2, 50)]),
    validator: new CodeValidator(),
    runtime: new ToolRuntime({
      catalog,
      sandbox: {
        runDetailed: async () => {
          if (shadowOutcomes.shift() === false)
            throw Object.assign(new Error('boom'), { code: 'TOOL_ERROR' });
          return { value: 3, denials: [], startupMs: 0, logs: [] } as never;
        },
      },
      memory: { record: () => undefined as never },
      events: { emit: () => true },
    }),
    catalog,
    events,
    lease: new ImprovementLease({ store: {}, holder: 'me', ttlMs: 1000 }),
    budget: new ImprovementBudget({ ledger: registry, maxTokensPerDay: settings.maxTokensPerDay }),
    watch: new PromotionWatch({
      evaluator: { evaluate },
      memory,
      registry,
      catalog,
      events,
      options: settings,
      actor: 'me',
    }),
    options: settings,
    approve: options.approve,
    sideEffects: new Set(),
    captureEnabled: false,
    instanceId: 'me',
    logger: undefined,
  });
  const call = async (times: number, success = true) => {
    for (let index = 0; index < times; index += 1) {
      const version = catalog.get('add')?.version.version ?? 0;
      recorded.set(version, [
        { toolName: 'add', version, startedAt: Date.now(), latencyMs: 1, success, inputHash: 'h' },
        ...(recorded.get(version) ?? []),
      ]);
      improver.afterCall('add', version, { a: 1, b: 2 }, { success, latencyMs: 1 });
      await improver.idle();
    }
  };
  return { improver, registry, catalog, log, call, events };
}

describe('ToolImprover: the loop composed from its parts', () => {
  it('evaluates every evaluateEvery calls; a failing evaluation rewrites, gates, promotes and watches', async () => {
    const { registry, catalog, log, call } = await loop({ evaluations: [evaluationOf(0.4)] });
    await call(1);
    expect(log).toEqual([]);
    await call(1);
    expect(log).toEqual(['tool:evaluated', 'improvement:started', 'tool:promoted']);
    expect((await registry.tool('add')).activeVersion).toBe(2);
    expect(catalog.get('add')?.version.version).toBe(2);
    expect((await registry.tool('add')).counters.rewrites).toBe(1);
    const [finished] = await registry.improvementsSince(0);
    expect(finished && readImprovementOutcome(finished)).toMatchObject({
      outcome: 'promoted',
      toVersion: 2,
      tokens: 50,
    });
    // The watch tests each next call of v2; after watchCalls (2) good ones it is kept (and scored).
    await call(2);
    expect(log.slice(3)).toEqual(['tool:evaluated']);
    expect((await registry.tool('add')).activeVersion).toBe(2);
  });

  it('evaluates right after a failed call, whatever evaluateEvery says (evaluateOnAnomaly)', async () => {
    const { log, call } = await loop({
      evaluations: [evaluationOf(1, false), evaluationOf(1, false)],
      improvement: { evaluateEvery: 10 },
    });
    await call(3);
    expect(log).toEqual([]);
    await call(1, false);
    expect(log).toEqual(['tool:evaluated']);
    const off = await loop({
      evaluations: [evaluationOf(1, false)],
      improvement: { evaluateEvery: 10, evaluateOnAnomaly: false },
    });
    await off.call(3, false);
    expect(off.log).toEqual([]);
  });

  it('rolls back a promoted version whose calls fail significantly more than the replaced one', async () => {
    const { registry, catalog, log, call } = await loop({
      evaluations: [evaluationOf(0.5), evaluationOf(0.2, false, 2)],
    });
    await call(2);
    // v1's 2 calls succeeded; both of v2's fail: P(2 of 2 | p₀ = 2/22) < 0.01 at the watch's end.
    await call(2, false);
    expect(log).toEqual([
      'tool:evaluated',
      'improvement:started',
      'tool:promoted',
      'tool:evaluated',
      'tool:rolled-back',
    ]);
    expect((await registry.tool('add')).activeVersion).toBe(1);
    expect(catalog.get('add')?.version.version).toBe(1);
  });

  it('records a failed improvement with its reasons when every attempt is rejected', async () => {
    const { registry, log, call } = await loop({
      evaluations: [evaluationOf(0.4)],
      reports: [reportOf('reject', ['CASE_FAILED: one']), reportOf('reject', ['CASE_FAILED: two'])],
      answers: [proposal(V2), proposal(V2)],
      improvement: { attemptsPerRewrite: 2 },
    });
    await call(2);
    expect(log).toEqual([
      'tool:evaluated',
      'improvement:started',
      'improvement:attempt-failed',
      'improvement:attempt-failed',
      'improvement:failed',
    ]);
    const [finished] = await registry.improvementsSince(0);
    expect(finished?.reason).toBe('failed');
    expect(finished && readImprovementOutcome(finished)?.reasons).toEqual([
      'attempt 1 (gate): CASE_FAILED: one',
      'attempt 2 (gate): CASE_FAILED: two',
    ]);
    expect((await registry.tool('add')).activeVersion).toBe(1);
  });

  it('keeps the version when the gate is inconclusive, and says so in the event and the audit entry', async () => {
    const inconclusive = reportOf('inconclusive', [
      'INCONCLUSIVE: after 12 repeats per case (maxRepeats 12) the latency rule could not decide whether the candidate is worse than v1, so the current version is kept. latency: undecided.',
    ]);
    const { registry, log, call, events } = await loop({
      evaluations: [evaluationOf(0.4)],
      reports: [inconclusive],
      improvement: { attemptsPerRewrite: 1 },
    });
    const failed: Parameters<ImprovementEvents['improvement:failed']>[0][] = [];
    events.on('improvement:failed', (event) => failed.push(event));
    await call(2);
    expect(log).toEqual([
      'tool:evaluated',
      'improvement:started',
      'improvement:attempt-failed',
      'improvement:failed',
    ]);
    expect(failed).toMatchObject([{ outcome: 'inconclusive', codes: ['INCONCLUSIVE'] }]);
    expect(failed[0]?.reasons[0]).toMatch(/^attempt 1 \(gate\): INCONCLUSIVE: after 12 repeats/);
    expect((await registry.tool('add')).activeVersion).toBe(1);
    expect((await registry.versions('add')).map((version) => version.version)).toEqual([1]);
    const [finished] = await registry.improvementsSince(0);
    expect(finished?.reason).toMatch(/^inconclusive: .*could not show one not worse.*v1 is kept/);
    expect(finished && readImprovementOutcome(finished)).toMatchObject({
      outcome: 'inconclusive',
      reasons: [expect.stringMatching(/INCONCLUSIVE/)],
    });
    // A candidate was proposed, so the attempt counts against maxRewritesPerTool like any other:
    // a tool whose candidates are never decided cannot rewrite without end.
    expect((await registry.tool('add')).counters.rewrites).toBe(1);
  });

  it('an inconclusive attempt followed by a rejected one is still reported inconclusive', async () => {
    const { call, events } = await loop({
      evaluations: [evaluationOf(0.4)],
      reports: [
        reportOf('inconclusive', ['INCONCLUSIVE: undecided']),
        reportOf('reject', ['CASE_FAILED: two']),
      ],
      answers: [proposal(V2), proposal(V2)],
      improvement: { attemptsPerRewrite: 2 },
    });
    const failed: Parameters<ImprovementEvents['improvement:failed']>[0][] = [];
    events.on('improvement:failed', (event) => failed.push(event));
    await call(2);
    expect(failed).toMatchObject([{ outcome: 'inconclusive', codes: ['INCONCLUSIVE', 'CASE_FAILED'] }]);
  });

  it('keeps the version when the approve hook says no (stage approval)', async () => {
    const { registry, log, call } = await loop({ evaluations: [evaluationOf(0.4)], approve: () => false });
    await call(2);
    expect(log).toEqual([
      'tool:evaluated',
      'improvement:started',
      'improvement:attempt-failed',
      'improvement:failed',
    ]);
    expect((await registry.versions('add')).map((version) => version.version)).toEqual([1]);
  });

  it('skips an improvement the policy refuses (a pinned tool) and says why', async () => {
    const registry = await registryWithTool();
    await registry.pin('add');
    const { log, call } = await loop({ evaluations: [evaluationOf(0.4)], registry });
    await call(2);
    expect(log).toEqual(['tool:evaluated', 'improvement:skipped pinned']);
  });

  it('shadows a gated candidate on the next live inputs and rejects it when it fails more', async () => {
    const { registry, log, call } = await loop({
      evaluations: [evaluationOf(0.4)],
      improvement: { shadowCalls: 2 },
      shadowOutcomes: [false, false],
    });
    await call(2); // evaluation → candidate gated → shadow phase starts
    expect(log).toEqual(['tool:evaluated', 'improvement:started']);
    await call(2); // two live inputs, the candidate fails both (the second is also evaluated as usual)
    expect([...log.slice(2)].sort()).toEqual([
      'improvement:attempt-failed',
      'improvement:failed',
      'tool:evaluated',
    ]);
    expect((await registry.tool('add')).activeVersion).toBe(1);
  });

  it('stops starting work after close()', async () => {
    const { improver, log, call } = await loop({ evaluations: [evaluationOf(0.4)] });
    improver.close();
    await call(4);
    expect(log).toEqual([]);
  });

  it('starts a background evaluation after the call that triggered it, tracked by idle()', async () => {
    const { improver, log, catalog } = await loop({ evaluations: [evaluationOf(1, false)] });
    const version = catalog.get('add')?.version.version ?? 0;
    improver.afterCall('add', version, { a: 1, b: 2 }, { success: true, latencyMs: 1 });
    const work = improver.afterCall('add', version, { a: 1, b: 2 }, { success: true, latencyMs: 1 });
    expect(work).toBeInstanceOf(Promise);
    // The caller's own continuation (its next call) runs first: nothing evaluated in this turn.
    await Promise.resolve();
    expect(log).toEqual([]);
    await improver.idle();
    expect(log).toEqual(['tool:evaluated']);
  });
  it('drops a background evaluation that had not started when close() was called', async () => {
    const { improver, log, catalog } = await loop({ evaluations: [evaluationOf(0.4)] });
    const version = catalog.get('add')?.version.version ?? 0;
    improver.afterCall('add', version, { a: 1, b: 2 }, { success: true, latencyMs: 1 });
    improver.afterCall('add', version, { a: 1, b: 2 }, { success: true, latencyMs: 1 });
    improver.close();
    await improver.idle();
    expect(log).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../core/typed-emitter.ts';
import type { Evaluation } from '../evaluation/evaluation.ts';
import type { ToolVersion } from '../storage/records.ts';
import type { ImprovementEvents } from './improvement-events.ts';
import { MAX_SETTLE_ATTEMPTS, PromotionWatch } from './promotion-watch.ts';
import { evaluationOf, registryWithTool, V2 } from './test-fakes.ts';

/** `failures` of the watched version's calls failed (newest first); the rest succeeded. */
async function watched(failures: number, calls: number, pin = false) {
  const registry = await registryWithTool();
  const v2 = await registry.addCandidate('add', {
    source: V2,
    parentVersion: 1,
    reason: 'better',
    author: 'my-rewriter',
  });
  await registry.promote('add', v2.version, { expectedActive: 1, reason: 'test', automatic: true });
  if (pin) await registry.pin('add');
  const served: ToolVersion[] = [];
  const events = new TypedEmitter<ImprovementEvents>();
  const seen: string[] = [];
  events.on('tool:rolled-back', (event) => seen.push(`rolled-back ${event.fromVersion}→${event.toVersion}`));
  events.on('tool:kept', (event) => seen.push(`kept v${event.version}`));
  events.on('improvement:skipped', (event) => seen.push(`skipped ${event.reason}`));
  events.on('tool:evaluated', (event) => seen.push(`evaluated v${event.version}`));
  const recent = Array.from({ length: calls }, (_, index) => ({
    startedAt: calls - index,
    latencyMs: 5,
    success: index >= failures,
  }));
  const watch = new PromotionWatch({
    evaluator: { evaluate: async (): Promise<Evaluation> => evaluationOf(0.5, false, 2) },
    memory: {
      summary: async () => evaluationOf(0.5).summary,
      recent: async (_tool, { limit }) => recent.slice(0, limit),
    },
    registry,
    catalog: {
      set: (_description, version) => {
        served.push(version);
        return undefined as never;
      },
      refresh: async () => undefined,
    },
    events,
    options: { watchCalls: 40, falseRollbackRate: 0.02, rollbackFailureIncrease: 0.15, pinned: [] },
    actor: 'watcher',
  });
  // The replaced version: 5 failures in its last 100 calls.
  watch.start('add', {
    version: 2,
    previousVersion: 1,
    previousScore: 0.9,
    baseline: { calls: 100, failures: 5 },
  });
  return { registry, watch, served, seen };
}

const watchOf = (calls: number) => ({
  version: 2,
  previousVersion: 1,
  previousScore: 0.9,
  baseline: { calls: 100, failures: 5 },
  calls,
  checking: true,
  settleFailures: 0,
});

describe('PromotionWatch', () => {
  it('hands out a check for each call of the watched version, one check at a time', async () => {
    const { watch } = await watched(0, 3);
    expect(watch.count('add', 1)).toBeUndefined();
    expect(watch.count('other', 2)).toBeUndefined();
    const first = watch.count('add', 2);
    expect(first).toMatchObject({ version: 2, previousVersion: 1, calls: 1 });
    // While that check runs, further calls are only counted (the check re-reads when it ends).
    expect(watch.count('add', 2)).toBe('counted');
    expect(await watch.check('add', first as never)).toBe('watching');
    expect(watch.get('add')).toMatchObject({ calls: 2, checking: false });
  });

  it('goes on watching while the calls so far prove nothing', async () => {
    const { watch, registry, seen } = await watched(1, 10);
    expect(await watch.check('add', watchOf(10))).toBe('watching');
    expect((await registry.tool('add')).activeVersion).toBe(2);
    expect(seen).toEqual([]);
  });

  it('keeps a version as good as the replaced one at the end of the watch, with the evidence', async () => {
    const { watch, registry, seen } = await watched(2, 40);
    const current = watch.get('add');
    if (!current) throw new Error('not watched');
    current.calls = 40;
    expect(await watch.check('add', current)).toBe('kept');
    expect((await registry.tool('add')).activeVersion).toBe(2);
    expect(seen).toEqual(['evaluated v2', 'kept v2']);
    expect(watch.get('add')).toBeUndefined();
    const [entry] = await registry.history('add', { type: 'tool:kept' });
    expect(entry).toMatchObject({ actor: 'watcher', fromVersion: 1, toVersion: 2 });
    expect(entry?.reason).toMatch(
      /^version 2 kept after its watch: 2 of the promoted version's 40 calls failed/,
    );
    expect(entry?.evidence).toMatchObject({
      decision: { test: 'rollback', outcome: 'clear', calls: 40, events: 2 },
    });
  });

  it('rolls back a version shown worse before the watch ends, serves the old one and records why', async () => {
    const { watch, registry, served, seen } = await watched(8, 12);
    expect(await watch.check('add', watchOf(12))).toBe('rolled-back');
    expect((await registry.tool('add')).activeVersion).toBe(1);
    expect(served.map((version) => version.version)).toEqual([1]);
    expect(seen).toEqual(['evaluated v2', 'rolled-back 2→1']);
    const [entry] = await registry.history('add', { type: 'tool:rolled-back' });
    expect(entry?.actor).toBe('watcher');
    expect(entry?.reason).toMatch(
      /^version 2 did worse than version 1: 8 of the promoted version's 12 calls failed, 5 of the replaced version's 100 calls failed; .* at or above the rollback bound/,
    );
    expect(entry?.evidence).toMatchObject({
      decision: { test: 'rollback', outcome: 'flagged', calls: 12, events: 8 },
    });
  });

  it('rolls back at the end of the watch when the failures are significantly more', async () => {
    const { watch, registry } = await watched(7, 40);
    expect(await watch.check('add', watchOf(40))).toBe('rolled-back');
    expect((await registry.tool('add')).activeVersion).toBe(1);
  });

  it('tries a rollback whose storage write fails again on the next check, then gives the watch up', async () => {
    const { watch, registry, seen } = await watched(20, 20);
    const failing = registry.storage.compareAndSetActive;
    registry.storage.compareAndSetActive = async () => {
      throw new Error('disk full');
    };
    const current = watch.get('add');
    if (!current) throw new Error('not watched');
    current.calls = 20;
    for (let attempt = 1; attempt < MAX_SETTLE_ATTEMPTS; attempt += 1) {
      await expect(watch.check('add', current)).rejects.toThrow('disk full');
      expect(watch.get('add')).toBe(current);
    }
    await expect(watch.check('add', current)).rejects.toThrow('disk full');
    expect(watch.get('add')).toBeUndefined();
    expect(seen.at(-1)).toBe('skipped watch-failed');
    registry.storage.compareAndSetActive = failing;
    expect((await registry.tool('add')).activeVersion).toBe(2);
  });

  it('never rolls back a pinned tool; says so instead', async () => {
    const { watch, registry, seen } = await watched(20, 20, true);
    expect(await watch.check('add', watchOf(20))).toBe('pinned');
    expect((await registry.tool('add')).activeVersion).toBe(2);
    expect(seen).toEqual(['evaluated v2', 'skipped pinned']);
  });

  it('loses to a change made meanwhile (compare-and-swap) and re-reads the catalog', async () => {
    const { watch, registry } = await watched(20, 20);
    await registry.rollback('add', { to: 1, expectedActive: 2, reason: 'a person did it' });
    expect(await watch.check('add', watchOf(20))).toBe('conflict');
  });
});

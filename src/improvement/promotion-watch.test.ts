import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../core/typed-emitter.ts';
import type { Evaluation } from '../evaluation/evaluation.ts';
import type { ToolVersion } from '../storage/records.ts';
import type { ImprovementEvents } from './improvement-events.ts';
import { PromotionWatch } from './promotion-watch.ts';
import { evaluationOf, registryWithTool, V2 } from './test-fakes.ts';

async function watched(score: number, pin = false) {
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
  events.on('improvement:skipped', (event) => seen.push(`skipped ${event.reason}`));
  events.on('tool:evaluated', (event) => seen.push(`evaluated v${event.version}`));
  const watch = new PromotionWatch({
    evaluator: { evaluate: async (): Promise<Evaluation> => evaluationOf(score, false, 2) },
    memory: { summary: async () => evaluationOf(score).summary },
    registry,
    catalog: {
      set: (_description, version) => {
        served.push(version);
        return undefined as never;
      },
      refresh: async () => undefined,
    },
    events,
    options: { watchCalls: 3, rollbackMargin: 0.1, pinned: [] },
    actor: 'watcher',
  });
  watch.start('add', { version: 2, previousVersion: 1, previousScore: 0.9 });
  return { registry, watch, served, seen };
}

describe('PromotionWatch', () => {
  it('counts only calls of the watched version and hands the watch over at watchCalls', async () => {
    const { watch } = await watched(0.95);
    expect(watch.count('add', 1)).toBeUndefined();
    expect(watch.count('other', 2)).toBeUndefined();
    expect(watch.count('add', 2)).toBe('counted');
    expect(watch.count('add', 2)).toBe('counted');
    const done = watch.count('add', 2);
    expect(done).toMatchObject({ version: 2, previousVersion: 1, calls: 3 });
    expect(watch.get('add')).toBeUndefined();
  });

  it('keeps a version that scores within the margin', async () => {
    const { watch, registry, seen } = await watched(0.85);
    const finished = { version: 2, previousVersion: 1, previousScore: 0.9, calls: 3 };
    expect(await watch.check('add', finished)).toBe('kept');
    expect((await registry.tool('add')).activeVersion).toBe(2);
    expect(seen).toEqual(['evaluated v2']);
  });

  it('rolls back a version that did worse, serves the old one and records why', async () => {
    const { watch, registry, served, seen } = await watched(0.5);
    expect(await watch.check('add', { version: 2, previousVersion: 1, previousScore: 0.9, calls: 3 })).toBe(
      'rolled-back',
    );
    expect((await registry.tool('add')).activeVersion).toBe(1);
    expect(served.map((version) => version.version)).toEqual([1]);
    expect(seen).toEqual(['evaluated v2', 'rolled-back 2→1']);
    const [entry] = await registry.history('add', { type: 'tool:rolled-back' });
    expect(entry?.actor).toBe('watcher');
    expect(entry?.reason).toMatch(
      /version 2 scored 0\.500 over 20 calls, below the replaced version's 0\.900/,
    );
  });

  it('never rolls back a pinned tool; says so instead', async () => {
    const { watch, registry, seen } = await watched(0.5, true);
    expect(await watch.check('add', { version: 2, previousVersion: 1, previousScore: 0.9, calls: 3 })).toBe(
      'pinned',
    );
    expect((await registry.tool('add')).activeVersion).toBe(2);
    expect(seen).toEqual(['evaluated v2', 'skipped pinned']);
  });

  it('loses to a change made meanwhile (compare-and-swap) and re-reads the catalog', async () => {
    const { watch, registry } = await watched(0.5);
    await registry.rollback('add', { to: 1, expectedActive: 2, reason: 'a person did it' });
    expect(await watch.check('add', { version: 2, previousVersion: 1, previousScore: 0.9, calls: 3 })).toBe(
      'conflict',
    );
  });
});

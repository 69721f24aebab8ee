import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  FORWARD_AT,
  PINNED_AT,
  PROMOTED_AT,
  ROLLED_BACK_AT,
  SCENARIO_START,
  SCENARIO_TOOL,
  V3_PROMOTED_AT,
  writeLongScenario,
  writeScenario,
} from '../../test/support/report-scenario.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { ToolRegistry } from '../registry/tool-registry.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { ToolNotFoundError } from '../storage/storage-errors.ts';
import { collectReport } from './collect-report.ts';

/** The article's score: 0.5 · success + 0.3 · latency + 0.2 · spread consistency. */
/**
 * The article's score as the default ('sequential') evaluator computes it: latency spread below
 * the 100 ms floor does not count against consistency.
 */
function articleScore(successRate: number, avg: number, min: number, max: number): number {
  const latency = avg <= 1000 ? 1 : avg >= 5000 ? 0 : 1 - (avg - 1000) / 4000;
  const consistency = Math.max(0, 1 - Math.max(0, max - min - 100) / (avg * 3));
  return 0.5 * successRate + 0.3 * latency + 0.2 * consistency;
}

describe('collectReport', () => {
  let storage: StorageAdapter;

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    storage = memoryStorage();
    await writeScenario(storage, (time) => vi.setSystemTime(time));
  });
  afterEach(async () => {
    vi.useRealTimers();
    await storage.close();
  });

  it('scores consecutive buckets of calls over time, as the evaluator would', async () => {
    const report = await collectReport(storage, { now: 123 });
    expect(report.generatedAt).toBe(123);
    expect(report.bucketSize).toBe(20);
    expect(report.tools.map((tool) => tool.name)).toEqual(['add_numbers', SCENARIO_TOOL]);
    const tool = report.tools[1];
    expect(tool?.calls).toBe(70);
    expect(tool?.truncated).toBe(false);
    expect(tool?.series).toHaveLength(4);
    const [healthy, degraded, promoted, rolledBack] = tool?.series ?? [];

    expect(healthy).toMatchObject({
      from: SCENARIO_START,
      to: SCENARIO_START + 19_000,
      calls: 20,
      successRate: 1,
      p50LatencyMs: 120,
      p95LatencyMs: 140,
      insufficientData: false,
      versions: [1],
    });
    expect(healthy?.score).toBeCloseTo(articleScore(1, 120, 100, 140), 12);

    expect(degraded).toMatchObject({ calls: 20, successRate: 0.6, p50LatencyMs: 2200, p95LatencyMs: 2400 });
    expect(degraded?.score).toBeCloseTo(articleScore(0.6, 2200, 2000, 2400), 12);
    // 0.5·0.6 + 0.3·(1 − 1200/4000) + 0.2·(1 − (400 − 100)/(3 · 2200)) = 0.700909…
    expect(degraded?.score).toBeCloseTo(0.700909, 6);

    expect(promoted).toMatchObject({ calls: 20, successRate: 1, p95LatencyMs: 200, score: 1, versions: [2] });
    expect(rolledBack).toMatchObject({
      from: SCENARIO_START + 62_000,
      to: SCENARIO_START + 71_000,
      calls: 10,
      successRate: 1,
      p95LatencyMs: 150,
      score: 1,
      versions: [1],
    });
  });

  it('lists versions with their authors, reasons and per-version numbers', async () => {
    const tool = (await collectReport(storage, { tools: [SCENARIO_TOOL] })).tools[0];
    expect(tool).toMatchObject({ name: SCENARIO_TOOL, activeVersion: 1, pinned: false });
    expect(
      tool?.versions.map(({ version, author, reason, parentVersion, active, calls }) => ({
        version,
        author,
        reason,
        parentVersion,
        active,
        calls,
      })),
    ).toEqual([
      {
        version: 1,
        author: 'generator',
        reason: 'requested by the model: convert currencies',
        parentVersion: null,
        active: true,
        calls: 50,
      },
      {
        version: 2,
        author: 'hardening',
        reason: 'retry 429 responses with back-off',
        parentVersion: 1,
        active: false,
        calls: 20,
      },
    ]);
    const [v1, v2] = tool?.versions ?? [];
    expect(v1?.successRate).toBe(42 / 50);
    expect(v1?.p95LatencyMs).toBe(2400);
    // v1's last 20 calls: 10 at 150 ms (ok) and the last 10 degraded ones (4 failed, 2000–2400 ms).
    expect(v1?.score).toBeCloseTo(articleScore(16 / 20, 23_500 / 20, 150, 2400), 12);
    expect(v2).toMatchObject({ successRate: 1, p95LatencyMs: 200, score: 1 });
    expect(v1?.createdAt).toBe(SCENARIO_START - 1000);
    expect(v2?.createdAt).toBe(PROMOTED_AT - 500);
  });

  it('reads version changes with their diff, evaluation and gate from the audit log', async () => {
    const tool = (await collectReport(storage, { tools: [SCENARIO_TOOL] })).tools[0];
    expect(tool?.changes).toHaveLength(2);
    const [promotion, rollback] = tool?.changes ?? [];
    expect(promotion).toMatchObject({
      kind: 'promoted',
      direction: 'forward',
      at: PROMOTED_AT,
      atCall: 40,
      fromVersion: 1,
      toVersion: 2,
      actor: 'agent-1',
      reason: 'LOW_SUCCESS: gate passed (3 cases)',
      evaluation: { score: 0.41, reasons: ['success rate 0.60 (12 of 20 calls) is below the minimum 0.80'] },
      gate: {
        verdict: 'promote',
        cases: 3,
        passedCases: 3,
        reasons: [],
        candidateMedianMs: 3,
        baselineMedianMs: 4,
        candidateErrorRate: 0,
        baselineErrorRate: 0.25,
      },
      shadow: null,
    });
    expect(promotion?.diff).toContain('--- fetch_rate@v1');
    expect(promotion?.diff).toContain('+  // retried with back-off by the hardening rewriter');
    expect(rollback).toMatchObject({
      kind: 'rolled-back',
      direction: 'backward',
      at: ROLLED_BACK_AT,
      atCall: 60,
      fromVersion: 2,
      toVersion: 1,
      actor: 'cli',
      reason: 'v2 answered slower than v1 in production',
      evaluation: null,
      gate: null,
    });
    expect(rollback?.diff).toContain('-  // retried with back-off by the hardening rewriter');
  });

  it("reads each version's recent window apart from all its calls, and the active version since it became active", async () => {
    const tool = (await collectReport(storage, { tools: [SCENARIO_TOOL] })).tools[0];
    const [v1, v2] = tool?.versions ?? [];
    // v1's last 20 calls: 10 at 150 ms after the rollback, and the last 10 degraded ones.
    expect(v1?.recent).toEqual({ calls: 20, successRate: 16 / 20, p95LatencyMs: 2400 });
    expect(v1).toMatchObject({ calls: 50, successRate: 42 / 50 });
    expect(v2?.recent).toEqual({ calls: 20, successRate: 1, p95LatencyMs: 200 });
    // v1 active again since the rollback: only the 10 calls after it.
    expect(tool?.activeSince).toEqual({
      version: 1,
      at: ROLLED_BACK_AT,
      calls: 10,
      successRate: 1,
      p95LatencyMs: 150,
    });
    // Too few calls to score: no score rather than the evaluator's placeholder 1.
    const small = (await collectReport(storage, { tools: ['add_numbers'], maxCallsPerTool: 2 })).tools[0];
    expect(small?.versions[0]).toMatchObject({ calls: 2, score: null, recent: { calls: 2, successRate: 1 } });
    expect(small?.activeSince).toMatchObject({ version: 1, at: null, calls: 2 });
  });

  it('places changes, pins and idle gaps by call; a forward rollback is forward', async () => {
    const long = memoryStorage();
    try {
      await writeLongScenario(long, (time) => vi.setSystemTime(time));
      const tool = (await collectReport(long, { tools: [SCENARIO_TOOL] })).tools[0];
      expect(tool?.calls).toBe(140);
      expect(tool?.series.map((point) => [point.firstCall, point.calls])).toEqual(
        [1, 21, 41, 61, 81, 101, 121].map((first) => [first, 20]),
      );
      expect(
        tool?.changes.map(({ kind, direction, fromVersion, toVersion, atCall, actor }) => [
          kind,
          direction,
          `v${fromVersion}→v${toVersion}`,
          atCall,
          actor,
        ]),
      ).toEqual([
        ['promoted', 'forward', 'v1→v2', 40, 'agent-1'],
        ['rolled-back', 'backward', 'v2→v1', 60, 'cli'],
        ['rolled-back', 'forward', 'v1→v2', 70, 'cli'],
        ['promoted', 'forward', 'v2→v3', 100, 'agent-1'],
      ]);
      expect(tool?.changes[2]?.at).toBe(FORWARD_AT);
      // One pause: after the 70th call until the first call after the forward rollback.
      expect(tool?.gaps).toEqual([{ afterCall: 70, from: SCENARIO_START + 71_000, to: FORWARD_AT + 1000 }]);
      expect(tool?.pins).toEqual([
        {
          kind: 'pinned',
          at: PINNED_AT,
          atCall: 140,
          actor: 'human:alice',
          reason: 'frozen while the rate service migrates',
        },
      ]);
      expect(tool?.activeSince).toEqual({
        version: 3,
        at: V3_PROMOTED_AT,
        calls: 40,
        successRate: 38 / 40,
        p95LatencyMs: 95,
      });
      // A higher idleGapMs than the pause: no gap.
      const calm = (await collectReport(long, { tools: [SCENARIO_TOOL], idleGapMs: 3_600_000 })).tools[0];
      expect(calm?.gaps).toEqual([]);
      await expect(collectReport(long, { idleGapMs: 0 })).rejects.toThrow(/idleGapMs/);
    } finally {
      await long.close();
    }
  });

  it('counts the app feedback per version from the audit log, ignoring unreadable evidence', async () => {
    const entry = (toVersion: number | undefined, evidence: unknown) =>
      storage.appendAudit({
        type: 'tool:feedback',
        toolName: SCENARIO_TOOL,
        actor: 'app',
        reason: 'feedback',
        ...(toVersion === undefined ? {} : { toVersion }),
        evidence: evidence as never,
      });
    await entry(1, { correct: false, callId: null });
    await entry(1, { correct: false });
    await entry(1, { correct: true });
    await entry(2, { correct: true });
    await entry(2, { correct: 'no' });
    await entry(undefined, { correct: false });
    await entry(2, null);
    const report = await collectReport(storage, { now: 123 });
    const versions = report.tools.find((tool) => tool.name === SCENARIO_TOOL)?.versions ?? [];
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect(versions.map((version) => [version.version, version.feedback])).toEqual([
      [1, { correct: 1, wrong: 2 }],
      [2, { correct: 1, wrong: 0 }],
      ...versions.slice(2).map((version) => [version.version, { correct: 0, wrong: 0 }]),
    ]);
  });

  it('lists the outcomes of improvement attempts', async () => {
    const tool = (await collectReport(storage, { tools: [SCENARIO_TOOL] })).tools[0];
    expect(tool?.improvements).toEqual([
      {
        at: PROMOTED_AT,
        outcome: 'promoted',
        fromVersion: 1,
        toVersion: 2,
        attempts: 1,
        tokens: 0,
        reasons: [],
      },
      {
        at: SCENARIO_START + 75_000,
        outcome: 'failed',
        fromVersion: 1,
        toVersion: null,
        attempts: 2,
        tokens: 120,
        reasons: ['attempt 1 (gate): CASE_FAILED: case 1'],
      },
    ]);
  });

  it('honours bucketSize, maxCallsPerTool and evaluator options', async () => {
    const small = (await collectReport(storage, { tools: ['add_numbers'], bucketSize: 2 })).tools[0];
    expect(small?.series.map((point) => [point.calls, point.score, point.insufficientData])).toEqual([
      [2, 1, true],
      [1, 1, true],
    ]);
    const recent = (
      await collectReport(storage, { tools: [SCENARIO_TOOL], maxCallsPerTool: 30, history: false })
    ).tools[0];
    expect(recent?.calls).toBe(30);
    expect(recent?.historyCalls).toBe(0);
    expect(recent?.truncated).toBe(true);
    expect(recent?.series.map((point) => point.versions)).toEqual([[2], [1]]);
    // With history (the default), the 40 calls not read are charted from it, approximately.
    const whole = (await collectReport(storage, { tools: [SCENARIO_TOOL], maxCallsPerTool: 30 })).tools[0];
    expect(whole).toMatchObject({ calls: 30, historyCalls: 40, truncated: true });
    expect(whole?.series.reduce((sum, point) => sum + point.calls, 0)).toBe(70);
    expect(whole?.series.at(-1)).toEqual(recent?.series.at(-1) && { ...recent.series.at(-1), firstCall: 61 });
    const strict = (
      await collectReport(storage, {
        tools: [SCENARIO_TOOL],
        evaluator: { targetLatencyMs: 100, maxLatencyMs: 200 },
      })
    ).tools[0];
    // 200 ms average at a 100–200 ms scale: latency component 0, so v2's buckets score 0.7.
    expect(strict?.series[2]?.score).toBeCloseTo(0.7, 12);
  });

  it('charts pruned calls from the store’s history, marked approximate, and each version’s whole life', async () => {
    const exact = (await collectReport(storage, { tools: [SCENARIO_TOOL] })).tools[0];
    expect(exact?.historyCalls).toBe(0);
    expect(exact?.series.every((point) => !point.approximate)).toBe(true);
    expect(exact?.versions.map((version) => version.lifetime)).toEqual([
      { calls: 50, successRate: 42 / 50, p95LatencyMs: expect.any(Number), rolledUpCalls: 0 },
      { calls: 20, successRate: 1, p95LatencyMs: 200, rolledUpCalls: 0 },
    ]);

    // Keep the newest 5 calls of each version; the rest become rollups.
    await storage.pruneInvocations({ maxRecordsPerVersion: 5, now: SCENARIO_START + 3_600_000 });
    const tool = (await collectReport(storage, { tools: [SCENARIO_TOOL] })).tools[0];
    expect(tool).toMatchObject({ calls: 10, historyCalls: 60, truncated: false });
    // Minute 12:00 of v1 (40 calls) and v2 (15 not read), v2's 4 calls read in that minute,
    // minute 12:01 of v1 (5 not read), then the calls read after it.
    expect(
      tool?.series.map(({ firstCall, calls, versions, approximate }) => [
        firstCall,
        calls,
        versions,
        approximate,
      ]),
    ).toEqual([
      [1, 40, [1], true],
      [41, 15, [2], true],
      [56, 4, [2], false],
      [60, 5, [1], true],
      [65, 6, [1, 2], false],
    ]);
    const [first] = tool?.series ?? [];
    expect(first).toMatchObject({ from: SCENARIO_START, to: SCENARIO_START, successRate: 32 / 40 });
    // p95 of 20 calls at 100–140 ms and 20 at 2000–2400 ms: estimated within the 2–5 s range.
    expect(first?.p95LatencyMs).toBeGreaterThanOrEqual(2000);
    expect(first?.p95LatencyMs).toBeLessThanOrEqual(2400);
    // Each version's whole life is still there, now mostly from rollups.
    expect(tool?.versions.map((version) => version.lifetime)).toEqual([
      { calls: 50, successRate: 42 / 50, p95LatencyMs: expect.any(Number), rolledUpCalls: 45 },
      { calls: 20, successRate: 1, p95LatencyMs: 200, rolledUpCalls: 15 },
    ]);
    // Changes sit on the same axis (at minute precision where calls were rolled up).
    expect(tool?.changes.map((change) => change.atCall)).toEqual([55, 65]);
    // Without history, only the calls read: the old behaviour.
    const readOnly = (await collectReport(storage, { tools: [SCENARIO_TOOL], history: false })).tools[0];
    expect(readOnly).toMatchObject({ calls: 10, historyCalls: 0 });
    expect(readOnly?.series.map((point) => [point.firstCall, point.calls, point.approximate])).toEqual([
      [1, 10, false],
    ]);
    expect(readOnly?.versions.map((version) => version.lifetime)).toEqual([null, null]);
    await expect(collectReport(storage, { history: 'yes' as never })).rejects.toThrow(/history/);
  });

  it('throws ToolNotFoundError for an unknown tool and InvalidOptionError for bad options', async () => {
    await expect(collectReport(storage, { tools: ['nope'] })).rejects.toSatisfy(ToolNotFoundError.isInstance);
    await expect(collectReport(storage, { bucketSize: 0 })).rejects.toSatisfy(InvalidOptionError.isInstance);
    await expect(collectReport(storage, { maxCallsPerTool: 1.5 })).rejects.toThrow(/maxCallsPerTool/);
  });

  it('reports an empty store as no tools', async () => {
    const empty = memoryStorage();
    const report = await collectReport(empty, { now: 5 });
    expect(report).toEqual({
      generatedAt: 5,
      storage: 'memory',
      bucketSize: 20,
      maxCallsPerTool: 50_000,
      createdByModel: 0,
      maxTools: 50,
      tools: [],
    });
    await empty.close();
  });

  it('reports kind, disabled state and version labels, and counts model-created tools against maxTools', async () => {
    const storage = memoryStorage();
    const registry = new ToolRegistry({ storage });
    const weather = { name: 'get_weather', description: 'W', inputSchema: { type: 'object' } };
    await registry.registerHostTool({ ...weather, label: '2026.11.0' });
    await registry.registerHostTool({ ...weather, label: '2026.12.1' });
    await registry.create({
      name: 'made_by_model',
      description: 'M',
      inputSchema: { type: 'object' },
      source: 'function made_by_model() { return 1; }',
      author: 'generator',
    });
    await registry.setDisabled('made_by_model', true);
    const report = await collectReport(storage, { maxTools: 3 });
    expect(report).toMatchObject({ createdByModel: 1, maxTools: 3 });
    const [host, model] = report.tools;
    expect(host).toMatchObject({ name: 'get_weather', kind: 'host', disabled: false, activeVersion: 2 });
    expect(host?.versions.map((version) => [version.version, version.label, version.author])).toEqual([
      [1, '2026.11.0', 'host'],
      [2, '2026.12.1', 'host'],
    ]);
    expect(model).toMatchObject({ kind: 'sandboxed', disabled: true });
    expect('label' in (model?.versions[0] ?? {})).toBe(false);
    // Counted over the whole store, also when only some tools are reported.
    expect((await collectReport(storage, { tools: ['get_weather'] })).createdByModel).toBe(1);
    for (const maxTools of [-1, 1.5, '50'])
      await expect(collectReport(storage, { maxTools: maxTools as number })).rejects.toSatisfy(
        (error: unknown) => InvalidOptionError.isInstance(error) && error.field === 'maxTools',
      );
    await storage.close();
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  PROMOTED_AT,
  ROLLED_BACK_AT,
  SCENARIO_START,
  SCENARIO_TOOL,
  writeScenario,
} from '../../test/support/report-scenario.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { ToolNotFoundError } from '../storage/storage-errors.ts';
import type { StorageAdapter } from '../storage/types.ts';
import { collectReport } from './collect-report.ts';

/** The article's score: 0.5 · success + 0.3 · latency + 0.2 · spread consistency. */
function articleScore(successRate: number, avg: number, min: number, max: number): number {
  const latency = avg <= 1000 ? 1 : avg >= 5000 ? 0 : 1 - (avg - 1000) / 4000;
  const consistency = Math.max(0, 1 - (max - min) / (avg * 3));
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
    expect(degraded?.score).toBeCloseTo(0.697879, 6);

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
      at: PROMOTED_AT,
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
      at: ROLLED_BACK_AT,
      fromVersion: 2,
      toVersion: 1,
      actor: 'cli',
      reason: 'v2 answered slower than v1 in production',
      evaluation: null,
      gate: null,
    });
    expect(rollback?.diff).toContain('-  // retried with back-off by the hardening rewriter');
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
    const recent = (await collectReport(storage, { tools: [SCENARIO_TOOL], maxCallsPerTool: 30 })).tools[0];
    expect(recent?.calls).toBe(30);
    expect(recent?.truncated).toBe(true);
    expect(recent?.series.map((point) => point.versions)).toEqual([[2], [1]]);
    const strict = (
      await collectReport(storage, {
        tools: [SCENARIO_TOOL],
        evaluator: { targetLatencyMs: 100, maxLatencyMs: 200 },
      })
    ).tools[0];
    // 200 ms average at a 100–200 ms scale: latency component 0, so v2's buckets score 0.7.
    expect(strict?.series[2]?.score).toBeCloseTo(0.7, 12);
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
      tools: [],
    });
    await empty.close();
  });
});

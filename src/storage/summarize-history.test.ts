import { describe, expect, it } from 'vitest';
import { memoryStorage } from './memory-storage.ts';
import { summarizeHistory } from './summarize-history.ts';

describe('summarizeHistory', () => {
  it('adds buckets of any versions up: exact counts and extremes, estimated percentiles, codes by frequency', async () => {
    const storage = memoryStorage();
    const start = Date.UTC(2025, 0, 1);
    await storage.appendInvocations(
      Array.from({ length: 40 }, (_, index) => ({
        toolName: 't',
        version: 1 + (index % 2),
        startedAt: start + index * 30_000,
        latencyMs: index < 38 ? 80 : 900,
        success: index % 4 !== 0,
        ...(index % 4 === 0 ? { errorCode: index % 8 === 0 ? 'TIMEOUT' : 'TOOL_ERROR' } : {}),
        inputHash: `h${index}`,
      })),
    );
    await storage.pruneInvocations({ maxRecordsPerVersion: 3, now: start + 3_600_000 });
    const buckets = (await storage.invocationHistory?.({ toolName: 't' })) ?? [];
    const summary = summarizeHistory(buckets);
    expect(summary).toMatchObject({
      invocations: 40,
      successes: 30,
      firstAt: start,
      lastAt: start + 19 * 60_000,
    });
    expect(summary.latencyMs).toMatchObject({ min: 80, max: 900, avg: (38 * 80 + 2 * 900) / 40 });
    // 38 of 40 calls at 80 ms: p50 and p95 fall in the 50–100 ms range, at most its top.
    expect(summary.latencyMs?.p50).toBeGreaterThanOrEqual(80);
    expect(summary.latencyMs?.p95).toBeLessThanOrEqual(100);
    expect(summary.recentErrors).toEqual(['TIMEOUT', 'TOOL_ERROR']);
    expect(summarizeHistory([])).toEqual({
      invocations: 0,
      successes: 0,
      latencyMs: null,
      recentErrors: [],
      firstAt: null,
      lastAt: null,
    });
    await storage.close();
  });
});

import { describe, expect, it } from 'vitest';
import { Evaluator } from '../evaluation/evaluator.ts';
import { PerformanceMemory } from '../memory/performance-memory.ts';
import { aggregateInvocations } from '../storage/aggregate-invocations.ts';
import type { InvocationStore } from '../storage/invocation-store.ts';
import type { InvocationQuery, InvocationRecord, StoredInvocation } from '../storage/records.ts';
import { runInvocationStoreContract } from './index.ts';

/**
 * A metrics-only backend written from scratch: one array, no tools, versions, test cases or
 * audit. It stands for a user's own metrics service, so it shares no code with the built-in
 * adapters beyond the public `aggregateInvocations`.
 */
function arrayInvocationStore(): InvocationStore {
  let rows: StoredInvocation[] = [];
  let nextId = 1;
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new Error('the array store is closed');
  };
  const newestFirst = (a: StoredInvocation, b: StoredInvocation) => b.startedAt - a.startedAt || b.id - a.id;
  const window = (query: InvocationQuery) =>
    rows
      .filter(
        (row) =>
          row.toolName === query.toolName &&
          (query.version === undefined || row.version === query.version) &&
          (query.since === undefined || row.startedAt >= query.since),
      )
      .sort(newestFirst)
      .slice(0, query.limit);

  return {
    name: 'array',
    async appendInvocations(records: readonly InvocationRecord[]) {
      assertOpen();
      // Check every record before storing any: a batch is all or nothing.
      for (const record of records) {
        if (typeof record.toolName !== 'string' || record.toolName === '')
          throw new TypeError(`toolName must be a non-empty string, got ${String(record.toolName)}`);
        if (!Number.isFinite(record.startedAt) || !Number.isFinite(record.latencyMs))
          throw new TypeError('startedAt and latencyMs must be finite numbers');
      }
      for (const record of records) rows.push({ ...structuredClone(record), id: nextId++ });
    },
    async recentInvocations(query) {
      assertOpen();
      return window(query).map((row) => structuredClone(row));
    },
    async aggregateWindow(query) {
      assertOpen();
      return aggregateInvocations(window(query));
    },
    async pruneInvocations({ maxRecordsPerVersion, maxRecords, olderThan }) {
      assertOpen();
      const seenPerVersion = new Map<string, number>();
      const kept = [...rows].sort(newestFirst).filter((row) => {
        const key = `${row.toolName}\u0000${row.version}`;
        const rank = seenPerVersion.get(key) ?? 0;
        seenPerVersion.set(key, rank + 1);
        const tooMany = maxRecordsPerVersion !== undefined && rank >= maxRecordsPerVersion;
        const tooOld = olderThan !== undefined && row.startedAt < olderThan;
        return !tooMany && !tooOld;
      });
      kept.sort((a, b) => a.id - b.id);
      // The store-wide bound last, over what is left: the smallest ids go.
      if (maxRecords !== undefined && kept.length > maxRecords) kept.splice(0, kept.length - maxRecords);
      const deleted = rows.length - kept.length;
      rows = kept;
      return { deleted };
    },
    async close() {
      closed = true;
    },
  };
}

runInvocationStoreContract('a metrics-only array store', () => arrayInvocationStore());

describe('a metrics-only backend with PerformanceMemory and Evaluator', () => {
  it('takes the memory’s records and serves its summaries, pruning and the evaluator’s verdicts', async () => {
    const store = arrayInvocationStore();
    const memory = new PerformanceMemory({
      storage: store,
      retention: { maxRecordsPerVersion: 12 },
      batch: { maxRecords: 1_000, maxDelayMs: 60_000 },
    });
    const call = (version: number, index: number, success: boolean) =>
      memory.record({
        toolName: 'add',
        version,
        startedAt: 10_000 + index,
        latencyMs: 100 + index,
        success,
        inputHash: `h${index}`,
        ...(success ? {} : { errorCode: 'TOOL_ERROR', errorMessage: `bad input ${index}` }),
      });
    // Version 1 succeeds every time; version 2 fails four calls out of five.
    for (let index = 0; index < 15; index += 1) call(1, index, true);
    for (let index = 0; index < 10; index += 1) call(2, 100 + index, index % 5 === 0);
    await memory.flush();

    // The records reached the store itself, not only the memory's buffer.
    expect(await store.recentInvocations({ toolName: 'add', version: 1, limit: 100 })).toHaveLength(15);
    const stored = await store.recentInvocations({ toolName: 'add', version: 2, limit: 1 });
    expect(stored[0]).toMatchObject({ version: 2, startedAt: 10_109, errorMessage: 'bad input 109' });

    const summary = await memory.summary('add', { version: 2, window: 20 });
    expect(summary).toMatchObject({ invocations: 10, successes: 2, failures: 8, successRate: 0.2 });
    expect(summary.recentErrors[0]).toBe('bad input 109');

    const evaluator = new Evaluator();
    const healthy = await evaluator.evaluate(memory, 'add', { version: 1 });
    expect(healthy.needsRewrite).toBe(false);
    const failing = await evaluator.evaluate(memory, 'add', { version: 2 });
    expect(failing.needsRewrite).toBe(true);
    expect(failing.reasons.map((reason) => reason.code)).toContain('LOW_SUCCESS');

    // Retention goes through the store's pruneInvocations: version 1 keeps its newest 12.
    expect(await memory.prune()).toEqual({ deleted: 3 });
    const left = await store.recentInvocations({ toolName: 'add', version: 1, limit: 100 });
    expect(left.map((record) => record.startedAt).at(-1)).toBe(10_003);

    // The memory leaves a store it was given open; its owner closes it.
    await memory.close();
    expect(await store.recentInvocations({ toolName: 'add', limit: 100 })).toHaveLength(22);
    await store.close();
    await expect(store.recentInvocations({ toolName: 'add', limit: 1 })).rejects.toThrow('closed');
  });
});

import type { InvocationStore } from '../storage/invocation-store.ts';
import { LATENCY_HISTOGRAM_BOUNDS_MS } from '../storage/latency-histogram.ts';
import type { HistoryBucket, HistoryQuery, InvocationRecord, StoredInvocation } from '../storage/records.ts';
import { expectAggregateOf } from './expect-aggregate.ts';
import { referenceHistory, seededRandom } from './reference-math.ts';
import { vitestApi } from './vitest-api.ts';

/** Options of {@link runInvocationStoreContract}. */
export interface InvocationStoreContractOptions {
  /**
   * Time limit of each test in ms. Raise it for adapters that talk to a remote server.
   * @default 20_000
   */
  timeoutMs?: number;
  /**
   * Seed of the pseudo-random data (latencies, start times, outcomes), so a failure can be
   * replayed exactly.
   * @default 20_240_601
   */
  seed?: number;
}

/**
 * Registers a vitest suite that checks an {@link InvocationStore} (a metrics backend for
 * `PerformanceMemory`) against the behaviour the library relies on: ordering, filters,
 * atomic batches, nearest-rank percentiles against an independent computation, retention
 * (per version, by age and over the whole store), ids that are never reused, and the lifecycle
 * (`ready`, `flush`, an idempotent `close()`). When the store has `invocationHistory`, also its
 * history against an independent computation, the same history after pruning as before (every
 * count, sum, extreme, histogram entry and error count), and rollups that coarsen with age.
 * `runStorageContract` runs it too, so a full `StorageAdapter` needs only that one.
 *
 * `factory` is called once per test and must return a store over an EMPTY store (a fresh
 * temp file, a new schema, …). The suite closes each store after its test.
 *
 * @example
 * ```ts
 * // my-metrics-store.test.ts
 * import { runInvocationStoreContract } from 'self-improving-agent/testing';
 * runInvocationStoreContract('my metrics store', () => myMetricsStore({ url: freshDatabaseUrl() }));
 * ```
 */
export function runInvocationStoreContract(
  name: string,
  factory: () => InvocationStore | Promise<InvocationStore>,
  options: InvocationStoreContractOptions = {},
): void {
  const { afterEach, describe, expect, it } = vitestApi('runInvocationStoreContract');
  const timeout = options.timeoutMs ?? 20_000;
  const seed = options.seed ?? 20_240_601;

  describe(`invocation store contract: ${name}`, () => {
    const opened: InvocationStore[] = [];
    const open = async (): Promise<InvocationStore> => {
      const storage = await factory();
      opened.push(storage);
      return storage;
    };
    afterEach(async () => {
      for (const storage of opened.splice(0)) await storage.close();
    });

    describe('invocations', () => {
      it(
        'returns the most recent invocations newest first, by startedAt then id, with every field intact',
        async () => {
          const storage = await open();
          const full: InvocationRecord = {
            toolName: 'fetch_rate',
            version: 1,
            startedAt: 1_000,
            latencyMs: 12.5,
            success: false,
            errorCode: 'TIMEOUT',
            errorMessage: 'took "too" long\nline 2 — ünïcödé ✓ 😀',
            inputHash: 'in-1',
            outputHash: 'out-1',
            input: { base: 'EUR', nested: { list: [1, 2.5, -3, null, true, 'x'] }, empty: {} },
            output: null,
          };
          await storage.appendInvocations([
            full,
            invocation({ startedAt: 3_000, inputHash: 'b' }),
            invocation({ startedAt: 2_000, inputHash: 'c' }),
          ]);
          // Same startedAt as the newest: the later insert (larger id) comes first.
          await storage.appendInvocations([invocation({ startedAt: 3_000, inputHash: 'd' })]);

          const recent = await storage.recentInvocations({ toolName: 'fetch_rate', limit: 10 });
          expect(recent.map((record) => record.inputHash)).toEqual(['d', 'b', 'c', 'in-1']);
          const byHash = new Map(recent.map((record) => [record.inputHash, record]));
          const ids = ['in-1', 'b', 'c', 'd'].map((hash) => byHash.get(hash)?.id as number);
          expect(ids.every((id) => Number.isInteger(id))).toBe(true);
          expect([...ids].sort((a, b) => a - b)).toEqual(ids);
          expect(new Set(ids).size).toBe(4);

          const { id: _id, ...stored } = byHash.get('in-1') as StoredInvocation;
          expect(stored).toEqual(full);
          expect(stored.output).toBeNull();
          const minimal = byHash.get('b') as StoredInvocation;
          for (const key of ['errorCode', 'errorMessage', 'outputHash', 'input', 'output'] as const)
            expect(minimal[key]).toBeUndefined();
        },
        timeout,
      );

      it(
        'honours limit, version and since (inclusive), and returns nothing for unknown tools',
        async () => {
          const storage = await open();
          const records: InvocationRecord[] = [];
          for (let index = 0; index < 30; index += 1)
            records.push(
              invocation({ version: (index % 3) + 1, startedAt: 100 + index, inputHash: `h${index}` }),
            );
          records.push(invocation({ toolName: 'other_tool', startedAt: 500 }));
          await storage.appendInvocations(records);

          const hashes = (list: StoredInvocation[]) => list.map((record) => record.inputHash);
          expect(hashes(await storage.recentInvocations({ toolName: 'fetch_rate', limit: 3 }))).toEqual([
            'h29',
            'h28',
            'h27',
          ]);
          expect(
            hashes(await storage.recentInvocations({ toolName: 'fetch_rate', version: 2, limit: 4 })),
          ).toEqual(['h28', 'h25', 'h22', 'h19']);
          expect(
            hashes(
              await storage.recentInvocations({ toolName: 'fetch_rate', version: 2, limit: 50, since: 122 }),
            ),
          ).toEqual(['h28', 'h25', 'h22']);
          expect(
            hashes(await storage.recentInvocations({ toolName: 'fetch_rate', limit: 50, since: 127 })),
          ).toEqual(['h29', 'h28', 'h27']);
          expect(await storage.recentInvocations({ toolName: 'fetch_rate', limit: 0 })).toEqual([]);
          expect(await storage.recentInvocations({ toolName: 'fetch_rate', version: 9, limit: 5 })).toEqual(
            [],
          );
          expect(await storage.recentInvocations({ toolName: 'missing', limit: 5 })).toEqual([]);
          expect(hashes(await storage.recentInvocations({ toolName: 'other_tool', limit: 5 }))).toHaveLength(
            1,
          );
        },
        timeout,
      );

      it(
        'appends a batch atomically: a batch with one unstorable record stores nothing',
        async () => {
          const storage = await open();
          await storage.appendInvocations([invocation({ inputHash: 'kept' })]);
          const broken = [
            invocation({ inputHash: 'first' }),
            invocation({ inputHash: 'second' }),
            { ...invocation({ inputHash: 'third' }), toolName: null } as unknown as InvocationRecord,
          ];
          await expect(storage.appendInvocations(broken)).rejects.toBeInstanceOf(Error);
          const recent = await storage.recentInvocations({ toolName: 'fetch_rate', limit: 10 });
          expect(recent.map((record) => record.inputHash)).toEqual(['kept']);
          await storage.appendInvocations([]);
          expect(await storage.recentInvocations({ toolName: 'fetch_rate', limit: 10 })).toHaveLength(1);
        },
        timeout,
      );

      it(
        'aggregates a window like an independent computation on random data (nearest-rank p50/p95)',
        async () => {
          const storage = await open();
          const random = seededRandom(seed);
          const records: InvocationRecord[] = [];
          for (let index = 0; index < 600; index += 1) {
            const success = random() < 0.75;
            const record = invocation({
              toolName: random() < 0.8 ? 'fetch_rate' : 'other_tool',
              version: 1 + Math.floor(random() * 3),
              // Many equal start times, so the id tie-break matters.
              startedAt: 10_000 + Math.floor(random() * 200),
              latencyMs: Math.round(random() * 50_000) / 100,
              success,
              inputHash: `h${index}`,
            });
            if (!success) record.errorMessage = `failure ${index}`;
            records.push(record);
          }
          for (let start = 0; start < records.length; start += 97)
            await storage.appendInvocations(records.slice(start, start + 97));

          const inserted = records.map((record, order) => ({ record, order }));
          const queries = [
            { toolName: 'fetch_rate', version: 2, limit: 20 },
            { toolName: 'fetch_rate', version: 1, limit: 1000 },
            { toolName: 'fetch_rate', limit: 50 },
            { toolName: 'fetch_rate', version: 3, limit: 100, since: 10_100 },
            { toolName: 'other_tool', limit: 7 },
            { toolName: 'fetch_rate', version: 2, limit: 1 },
          ];
          for (const query of queries) {
            const expected = inserted
              .filter(
                ({ record }) =>
                  record.toolName === query.toolName &&
                  (query.version === undefined || record.version === query.version) &&
                  (query.since === undefined || record.startedAt >= query.since),
              )
              .sort((a, b) => b.record.startedAt - a.record.startedAt || b.order - a.order)
              .slice(0, query.limit)
              .map(({ record }) => record);
            const recent = await storage.recentInvocations(query);
            expect(recent.map((record) => record.inputHash)).toEqual(
              expected.map((record) => record.inputHash),
            );

            expectAggregateOf(await storage.aggregateWindow(query), expected);
          }
        },
        timeout,
      );

      it(
        'reports the five newest failures, newest first, and an empty window as nulls',
        async () => {
          const storage = await open();
          const records = Array.from({ length: 10 }, (_, index) =>
            invocation({
              startedAt: 1_000 + index,
              success: false,
              latencyMs: index,
              errorMessage: `error ${index}`,
            }),
          );
          records.push(invocation({ startedAt: 2_000, success: true }));
          records.push(invocation({ startedAt: 2_001, success: false, errorCode: 'TIMEOUT' }));
          await storage.appendInvocations(records);
          const aggregate = await storage.aggregateWindow({ toolName: 'fetch_rate', limit: 100 });
          expect(aggregate.invocations).toBe(12);
          expect(aggregate.successes).toBe(1);
          expect(aggregate.recentErrors).toEqual(['TIMEOUT', 'error 9', 'error 8', 'error 7', 'error 6']);
          expect(await storage.aggregateWindow({ toolName: 'fetch_rate', version: 5, limit: 20 })).toEqual({
            invocations: 0,
            successes: 0,
            latencyMs: null,
            recentErrors: [],
            firstAt: null,
            lastAt: null,
          });
        },
        timeout,
      );

      it(
        'prunes per (tool, version) to the most recent N, by age, or both, and counts deletions',
        async () => {
          const storage = await open();
          const records: InvocationRecord[] = [];
          for (const toolName of ['fetch_rate', 'other_tool'])
            for (const version of [1, 2])
              for (let index = 0; index < 10; index += 1)
                records.push(
                  invocation({
                    toolName,
                    version,
                    startedAt: 1_000 + index,
                    inputHash: `${version}-${index}`,
                  }),
                );
          // Inserted last but started first: pruning goes by start time, not insertion order.
          records.push(invocation({ version: 1, startedAt: 500, inputHash: 'late-old' }));
          await storage.appendInvocations(records);
          const everyId = [
            ...(await storage.recentInvocations({ toolName: 'fetch_rate', limit: 100 })),
            ...(await storage.recentInvocations({ toolName: 'other_tool', limit: 100 })),
          ].map((record) => record.id);
          expect(everyId).toHaveLength(41);

          expect(await storage.pruneInvocations({})).toEqual({ deleted: 0 });
          expect(await storage.pruneInvocations({ maxRecordsPerVersion: 6 })).toEqual({ deleted: 17 });
          const version1 = await storage.recentInvocations({
            toolName: 'fetch_rate',
            version: 1,
            limit: 100,
          });
          expect(version1.map((record) => record.inputHash)).toEqual([
            '1-9',
            '1-8',
            '1-7',
            '1-6',
            '1-5',
            '1-4',
          ]);
          expect(
            await storage.recentInvocations({ toolName: 'other_tool', version: 2, limit: 100 }),
          ).toHaveLength(6);

          expect(await storage.pruneInvocations({ olderThan: 1_006 })).toEqual({ deleted: 8 });
          const left = await storage.recentInvocations({ toolName: 'fetch_rate', limit: 100 });
          expect(left.every((record) => record.startedAt >= 1_006)).toBe(true);
          expect(left).toHaveLength(8);

          expect(await storage.pruneInvocations({ maxRecordsPerVersion: 3, olderThan: 1_009 })).toEqual({
            deleted: 12,
          });
          expect(await storage.recentInvocations({ toolName: 'other_tool', limit: 100 })).toHaveLength(2);
          expect(await storage.pruneInvocations({ maxRecordsPerVersion: 0 })).toEqual({ deleted: 4 });
          expect(await storage.recentInvocations({ toolName: 'fetch_rate', limit: 100 })).toEqual([]);

          // Ids are never reused, not even those of the newest rows after everything was deleted.
          const maxIdBefore = Math.max(...everyId);
          await storage.appendInvocations([invocation({ inputHash: 'after-prune' })]);
          const [after] = await storage.recentInvocations({ toolName: 'fetch_rate', limit: 1 });
          expect(after?.id).toBeGreaterThan(maxIdBefore);
        },
        timeout,
      );
      it(
        'prunes ties in start time by id: the later inserts are the more recent ones',
        async () => {
          const storage = await open();
          await storage.appendInvocations(
            Array.from({ length: 5 }, (_, index) =>
              invocation({ startedAt: 7_000, inputHash: `tie-${index}` }),
            ),
          );
          await storage.appendInvocations([invocation({ startedAt: 6_999, inputHash: 'older' })]);
          expect(await storage.pruneInvocations({ maxRecordsPerVersion: 2 })).toEqual({ deleted: 4 });
          const left = await storage.recentInvocations({ toolName: 'fetch_rate', limit: 10 });
          expect(left.map((record) => record.inputHash)).toEqual(['tie-4', 'tie-3']);
        },
        timeout,
      );
    });

    describe('store-wide bound', () => {
      it(
        'prunes the whole store to maxRecords: the first inserted go first, across tools and versions',
        async () => {
          const storage = await open();
          // Start times deliberately out of insertion order: the bound goes by insertion (id).
          const batches: InvocationRecord[][] = [
            Array.from({ length: 10 }, (_, index) =>
              invocation({ version: 1, startedAt: 5_000 + index, inputHash: `a1-${index}` }),
            ),
            Array.from({ length: 10 }, (_, index) =>
              invocation({
                toolName: 'other_tool',
                version: 2,
                startedAt: 1_000 + index,
                inputHash: `b2-${index}`,
              }),
            ),
            Array.from({ length: 10 }, (_, index) =>
              invocation({ version: 2, startedAt: 9_000 + index, inputHash: `a2-${index}` }),
            ),
          ];
          for (const batch of batches) await storage.appendInvocations(batch);
          const everything = async () =>
            [
              ...(await storage.recentInvocations({ toolName: 'fetch_rate', limit: 100 })),
              ...(await storage.recentInvocations({ toolName: 'other_tool', limit: 100 })),
            ]
              .sort((a, b) => a.id - b.id)
              .map((record) => record.inputHash);
          const inserted = batches.flat().map((record) => record.inputHash);
          expect(await everything()).toEqual(inserted);

          expect(await storage.pruneInvocations({ maxRecords: 30 })).toEqual({ deleted: 0 });
          expect(await storage.pruneInvocations({ maxRecords: 25 })).toEqual({ deleted: 5 });
          expect(await everything()).toEqual(inserted.slice(5));

          // The per-version rule first (2 oldest starts of each 10-row version), then the bound
          // over what is left: 21 rows down to 12, the 9 inserted first.
          expect(await storage.pruneInvocations({ maxRecordsPerVersion: 8, maxRecords: 12 })).toEqual({
            deleted: 13,
          });
          expect(await everything()).toEqual([
            'b2-6',
            'b2-7',
            'b2-8',
            'b2-9',
            ...Array.from({ length: 8 }, (_, index) => `a2-${index + 2}`),
          ]);

          const maxIdBefore = Math.max(
            ...(await storage.recentInvocations({ toolName: 'fetch_rate', limit: 100 })).map(
              (record) => record.id,
            ),
          );
          expect(await storage.pruneInvocations({ maxRecords: 0 })).toEqual({ deleted: 12 });
          expect(await everything()).toEqual([]);
          await storage.appendInvocations([invocation({ inputHash: 'after' })]);
          const [after] = await storage.recentInvocations({ toolName: 'fetch_rate', limit: 1 });
          expect(after?.id).toBeGreaterThan(maxIdBefore);
        },
        timeout,
      );
    });

    describe('history (stores with invocationHistory)', () => {
      /** A store's answer without `rolledUpCalls`, to compare with the reference. */
      const withoutRollupCounts = (buckets: readonly HistoryBucket[]) =>
        buckets.map(({ rolledUpCalls: _rolledUp, ...bucket }) => bucket);
      /** Random calls of two tools, versions 1–3, in the `spanMs` before `end`; latencies exact in binary. */
      const randomCalls = (random: () => number, count: number, end: number, spanMs: number) =>
        Array.from({ length: count }, (_, index) => {
          const success = random() < 0.8;
          const record = invocation({
            toolName: random() < 0.75 ? 'fetch_rate' : 'other_tool',
            version: 1 + Math.floor(random() * 3),
            startedAt: end - 1 - Math.floor(random() * spanMs),
            // Multiples of 1/4 ms add up exactly in any order, so sums compare exactly.
            latencyMs: Math.floor(random() ** 3 * 160_000) / 4,
            success,
            inputHash: `h${index}`,
          });
          if (!success) {
            const code = ['TIMEOUT', 'TOOL_ERROR', '', undefined][Math.floor(random() * 4)];
            if (code !== undefined) record.errorCode = code;
          }
          return record;
        });
      const appendAll = async (storage: InvocationStore, records: readonly InvocationRecord[]) => {
        for (let start = 0; start < records.length; start += 250)
          await storage.appendInvocations(records.slice(start, start + 250));
      };

      it(
        'buckets stored calls per version on a grid of whole minutes, within since/until',
        async (context) => {
          const storage = await open();
          if (storage.invocationHistory === undefined) return context.skip();
          const end = Date.UTC(2025, 0, 10, 12);
          const records = randomCalls(seededRandom(seed + 1), 800, end, 3 * 3_600_000);
          await appendAll(storage, records);
          const ofTool = records.filter((record) => record.toolName === 'fetch_rate');
          const queries: Array<[HistoryQuery, InvocationRecord[]]> = [
            [{ toolName: 'fetch_rate' }, ofTool],
            [{ toolName: 'fetch_rate', bucketMs: 300_000 }, ofTool],
            [
              { toolName: 'fetch_rate', version: 2, bucketMs: 3_600_000 },
              ofTool.filter((r) => r.version === 2),
            ],
            [
              { toolName: 'other_tool', bucketMs: 7 * 60_000 },
              records.filter((r) => r.toolName === 'other_tool'),
            ],
          ];
          for (const [query, calls] of queries) {
            const history = await storage.invocationHistory(query);
            expect(withoutRollupCounts(history)).toEqual(
              referenceHistory(calls, query.bucketMs ?? 60_000, LATENCY_HISTOGRAM_BOUNDS_MS),
            );
            expect(history.every((bucket) => bucket.rolledUpCalls === 0)).toBe(true);
          }
          // since/until are widened to whole buckets: [floor(since), ceil(until)).
          const since = end - 2 * 3_600_000 + 123_456;
          const until = end - 3_600_000 + 1;
          const bucketMs = 600_000;
          const from = Math.floor(since / bucketMs) * bucketMs;
          const to = Math.ceil(until / bucketMs) * bucketMs;
          expect(
            withoutRollupCounts(
              await storage.invocationHistory({ toolName: 'fetch_rate', since, until, bucketMs }),
            ),
          ).toEqual(
            referenceHistory(
              ofTool.filter((record) => record.startedAt >= from && record.startedAt < to),
              bucketMs,
              LATENCY_HISTOGRAM_BOUNDS_MS,
            ),
          );
          expect(await storage.invocationHistory({ toolName: 'missing' })).toEqual([]);
        },
        timeout,
      );

      it(
        'keeps the history of pruned calls: the same buckets after pruning as before, every field',
        async (context) => {
          const storage = await open();
          if (storage.invocationHistory === undefined) return context.skip();
          const now = Date.UTC(2025, 0, 10, 12);
          const records = randomCalls(seededRandom(seed + 2), 1_200, now, 4 * 3_600_000);
          await appendAll(storage, records);
          const queries: HistoryQuery[] = [
            { toolName: 'fetch_rate' },
            { toolName: 'fetch_rate', version: 3, bucketMs: 900_000 },
            { toolName: 'other_tool', bucketMs: 3_600_000, since: now - 3 * 3_600_000 },
          ];
          const before = await Promise.all(queries.map((query) => storage.invocationHistory?.(query)));
          let deleted = 0;
          for (const policy of [
            { maxRecordsPerVersion: 150, now },
            { olderThan: now - 3 * 3_600_000, now },
            { maxRecords: 300, now },
            { maxRecordsPerVersion: 0, now },
          ])
            deleted += (await storage.pruneInvocations(policy)).deleted;
          expect(deleted).toBe(records.length);
          const after = await Promise.all(queries.map((query) => storage.invocationHistory?.(query)));
          for (const [index, buckets] of after.entries()) {
            expect(withoutRollupCounts(buckets ?? [])).toEqual(withoutRollupCounts(before[index] ?? []));
            // Every call is now known from rollups only.
            expect((buckets ?? []).every((bucket) => bucket.rolledUpCalls === bucket.calls)).toBe(true);
          }
          // Stored rows and rollups in one bucket add up (new calls in pruned minutes).
          const late = records
            .slice(0, 40)
            .map((record, index) => ({ ...record, inputHash: `late-${index}` }));
          await appendAll(storage, late);
          const mixed =
            (await storage.invocationHistory({ toolName: 'fetch_rate', bucketMs: 3_600_000 })) ?? [];
          expect(withoutRollupCounts(mixed)).toEqual(
            referenceHistory(
              [...records, ...late].filter((record) => record.toolName === 'fetch_rate'),
              3_600_000,
              LATENCY_HISTOGRAM_BOUNDS_MS,
            ),
          );
          expect(mixed.reduce((sum, bucket) => sum + bucket.calls - bucket.rolledUpCalls, 0)).toBe(
            late.filter((record) => record.toolName === 'fetch_rate').length,
          );
        },
        timeout,
      );

      it(
        'coarsens rollups with age (minutes for a day, hours for 30 days, then days) without losing a call',
        async (context) => {
          const storage = await open();
          if (storage.invocationHistory === undefined) return context.skip();
          const day = 86_400_000;
          const now = Date.UTC(2025, 2, 1, 12, 30);
          // One call every 20 minutes of version 1 for 40 days before `now`.
          const records: InvocationRecord[] = [];
          for (let at = now - 40 * day; at < now; at += 1_200_000)
            records.push(
              invocation({
                startedAt: at,
                latencyMs: (at / 1_200_000) % 97,
                success: at % 7 !== 0,
                errorCode: 'TIMEOUT',
              }),
            );
          await appendAll(storage, records);
          const byDay = referenceHistory(records, day, LATENCY_HISTOGRAM_BOUNDS_MS);
          expect(await storage.pruneInvocations({ maxRecordsPerVersion: 0, now })).toEqual({
            deleted: records.length,
          });
          // On a one-minute grid: day rollups before 30 days, hours before a day, minutes after.
          const fine = await storage.invocationHistory({ toolName: 'fetch_rate' });
          const hourBefore = Math.floor((now - day) / 3_600_000) * 3_600_000;
          const dayBefore = Math.floor((now - 30 * day) / day) * day;
          for (const bucket of fine) {
            const expected = bucket.start < dayBefore ? day : bucket.start < hourBefore ? 3_600_000 : 60_000;
            expect([bucket.start, bucket.widthMs]).toEqual([bucket.start, expected]);
          }
          expect(fine.reduce((sum, bucket) => sum + bucket.calls, 0)).toBe(records.length);
          expect(
            withoutRollupCounts(await storage.invocationHistory({ toolName: 'fetch_rate', bucketMs: day })),
          ).toEqual(byDay);
          // 40 days later, everything is a day; each day still holds every call it had.
          await storage.pruneInvocations({ now: now + 40 * day });
          const coarse = await storage.invocationHistory({ toolName: 'fetch_rate' });
          expect(coarse.every((bucket) => bucket.widthMs === day)).toBe(true);
          expect(withoutRollupCounts(coarse)).toEqual(byDay);
        },
        timeout,
      );
    });

    describe('lifecycle', () => {
      it(
        'opens with ready(), flushes with flush(), and closes idempotently',
        async () => {
          const storage = await open();
          expect(typeof storage.name).toBe('string');
          expect(storage.name.length).toBeGreaterThan(0);
          await storage.ready?.();
          await storage.appendInvocations([invocation()]);
          await storage.flush?.();
          await storage.close();
          await storage.close();
          await expect(Promise.all([storage.close(), storage.close()])).resolves.toBeDefined();
        },
        timeout,
      );
    });
  });
}

function invocation(overrides: Partial<InvocationRecord> = {}): InvocationRecord {
  return {
    toolName: 'fetch_rate',
    version: 1,
    startedAt: 1_000,
    latencyMs: 10,
    success: true,
    inputHash: 'hash',
    ...overrides,
  };
}

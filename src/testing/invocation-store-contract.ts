import type { InvocationStore } from '../storage/invocation-store.ts';
import type { InvocationRecord, StoredInvocation } from '../storage/records.ts';
import { expectAggregateOf } from './expect-aggregate.ts';
import { seededRandom } from './reference-math.ts';
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
 * atomic batches, nearest-rank percentiles against an independent computation, retention,
 * ids that are never reused, and the lifecycle (`ready`, `flush`, an idempotent `close()`).
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

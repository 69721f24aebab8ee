import { SiaError } from '../core/sia-error.ts';
import type { JsonValue, NewToolVersion, StoredTestCase, ToolVersion } from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import {
  StorageInputError,
  ToolExistsError,
  ToolNotFoundError,
  VersionNotFoundError,
} from '../storage/storage-errors.ts';
import {
  type InvocationStoreContractOptions,
  runInvocationStoreContract,
} from './invocation-store-contract.ts';
import { vitestApi } from './vitest-api.ts';

/** Options of {@link runStorageContract}: those of `runInvocationStoreContract`, which it runs. */
export interface StorageContractOptions extends InvocationStoreContractOptions {}

/**
 * Registers a vitest suite that checks a {@link StorageAdapter} against the behaviour the
 * library relies on: every method; the invocation part with `runInvocationStoreContract`
 * (ordering, filters, nearest-rank percentiles against an independent computation, retention,
 * an idempotent `close()`); atomic compare-and-swap under concurrency, version numbers without
 * gaps, one transaction per change, JSON round-trips and error types.
 *
 * `factory` is called once per test and must return an adapter over an EMPTY store (a fresh
 * temp file, a new schema, …). The suite closes each adapter after its test.
 *
 * @example
 * ```ts
 * // my-storage.test.ts
 * import { runStorageContract } from 'self-improving-agent/testing';
 * runStorageContract('my storage', () => myStorage({ url: freshDatabaseUrl() }));
 * ```
 */
export function runStorageContract(
  name: string,
  factory: () => StorageAdapter | Promise<StorageAdapter>,
  options: StorageContractOptions = {},
): void {
  const { afterEach, describe, expect, it } = vitestApi('runStorageContract');
  const timeout = options.timeoutMs ?? 20_000;

  describe(`storage contract: ${name}`, () => {
    const opened: StorageAdapter[] = [];
    const open = async (): Promise<StorageAdapter> => {
      const storage = await factory();
      opened.push(storage);
      return storage;
    };
    afterEach(async () => {
      for (const storage of opened.splice(0)) await storage.close();
    });

    // The invocation part (and the lifecycle every role shares) is its own suite, so a
    // metrics-only backend can run just that.
    runInvocationStoreContract(name, factory, options);

    describe('tools and versions', () => {
      it(
        'creates a tool with version 1 active, and reads it back every way',
        async () => {
          const storage = await open();
          const before = Date.now();
          const created = await storage.createTool({
            name: 'fetch_rate',
            description: 'Fetches an exchange rate',
            firstVersion: toolVersion({ reason: 'generated from a spec', author: 'generator' }),
          });
          const after = Date.now();
          expect(created.tool).toEqual({
            name: 'fetch_rate',
            description: 'Fetches an exchange rate',
            createdAt: created.tool.createdAt,
            activeVersion: 1,
            pinned: false,
            counters: { rewrites: 0, lastRewriteAt: null },
            kind: 'sandboxed',
            disabled: false,
          });
          expect(created.tool.createdAt).toBeGreaterThanOrEqual(before);
          expect(created.tool.createdAt).toBeLessThanOrEqual(after);
          expect(created.version).toEqual({
            ...toolVersion({ reason: 'generated from a spec', author: 'generator' }),
            toolName: 'fetch_rate',
            version: 1,
            createdAt: created.version.createdAt,
          });
          expect(created.version.createdAt).toBeGreaterThanOrEqual(before);
          expect(await storage.getTool('fetch_rate')).toEqual(created.tool);
          expect(await storage.getVersion('fetch_rate', 1)).toEqual(created.version);
          expect(await storage.getActiveVersion('fetch_rate')).toEqual(created.version);
          expect(await storage.listVersions('fetch_rate')).toEqual([created.version]);

          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          await storage.createTool({ name: 'zip_code', description: 'Zips', firstVersion: toolVersion() });
          expect((await storage.listTools()).map((tool) => tool.name)).toEqual([
            'add',
            'fetch_rate',
            'zip_code',
          ]);
        },
        timeout,
      );

      it(
        'returns undefined or empty for what does not exist, and throws typed errors from writers',
        async () => {
          const storage = await open();
          expect(await storage.getTool('missing')).toBeUndefined();
          expect(await storage.getVersion('missing', 1)).toBeUndefined();
          expect(await storage.getActiveVersion('missing')).toBeUndefined();
          expect(await storage.listVersions('missing')).toEqual([]);
          expect(await storage.listTools()).toEqual([]);

          // Each rejection is handled as soon as it is created: with a networked store they settle
          // at different times, and one settling while another is awaited must not go unhandled.
          const notFound = [
            rejection(storage.addVersion('missing', toolVersion({ parentVersion: 1 }))),
            rejection(storage.compareAndSetActive('missing', 1, 2)),
            rejection(storage.setPinned('missing', true)),
            rejection(storage.recordRewrite('missing', 1)),
            rejection(storage.addTestCase('missing', testCase())),
          ];
          for (const attempt of notFound) {
            const error = await attempt;
            expect(ToolNotFoundError.isInstance(error)).toBe(true);
            expect(SiaError.isInstance(error)).toBe(true);
            expect((error as ToolNotFoundError).toolName).toBe('missing');
          }

          const original = await storage.createTool({
            name: 'add',
            description: 'Adds',
            firstVersion: toolVersion({ source: 'original' }),
          });
          const exists = await rejection(
            storage.createTool({
              name: 'add',
              description: 'Other',
              firstVersion: toolVersion({ source: 'other' }),
            }),
          );
          expect(ToolExistsError.isInstance(exists)).toBe(true);
          expect(await storage.getTool('add')).toEqual(original.tool);
          expect(await storage.listVersions('add')).toEqual([original.version]);
          expect(await storage.getVersion('add', 2)).toBeUndefined();
        },
        timeout,
      );

      it(
        'adds immutable versions numbered without gaps, also when added concurrently',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          const second = await storage.addVersion(
            'add',
            toolVersion({
              source: 'function add({ a, b }) { return a + b; }',
              inputSchema: {
                type: 'object',
                properties: { a: { type: 'number' }, b: { type: 'number', description: 'ünïcödé ✓' } },
                required: ['a', 'b'],
              },
              capabilities: { network: ['api.example.com:443', 'localhost'] },
              parentVersion: 1,
              reason: 'handle strings',
              author: 'llm-rewriter',
            }),
          );
          expect(second.version).toBe(2);
          expect(second.parentVersion).toBe(1);
          expect(await storage.getVersion('add', 2)).toEqual(second);

          const concurrent = await Promise.all(
            Array.from({ length: 20 }, (_, index) =>
              storage.addVersion(
                'add',
                toolVersion({ parentVersion: 2, reason: `attempt ${index}`, author: 'hardening' }),
              ),
            ),
          );
          expect(concurrent.map((version) => version.version).sort((a, b) => a - b)).toEqual(
            Array.from({ length: 20 }, (_, index) => index + 3),
          );
          const versions = await storage.listVersions('add');
          expect(versions.map((version) => version.version)).toEqual(
            Array.from({ length: 22 }, (_, index) => index + 1),
          );
          expect(versions[1]).toEqual(second);
          // Adding versions does not change which one is active.
          expect((await storage.getTool('add'))?.activeVersion).toBe(1);
        },
        timeout,
      );

      it(
        "keeps a version's outputSchema when it has one, and leaves it out when it has none",
        async () => {
          const storage = await open();
          const outputSchema = {
            type: 'object',
            properties: {
              total: { type: 'number', minimum: 0 },
              label: { type: 'string', description: 'ünï ✓' },
            },
            required: ['total'],
          };
          const created = await storage.createTool({
            name: 'add',
            description: 'Adds',
            firstVersion: toolVersion({ outputSchema }),
          });
          expect(created.version.outputSchema).toEqual(outputSchema);
          const without = await storage.addVersion('add', toolVersion({ parentVersion: 1 }));
          expect('outputSchema' in without).toBe(false);
          const scalar = await storage.addVersion(
            'add',
            toolVersion({ parentVersion: 1, outputSchema: { type: 'integer' } }),
          );
          expect(scalar.outputSchema).toEqual({ type: 'integer' });
          const versions = await storage.listVersions('add');
          expect(versions.map((version) => version.outputSchema)).toEqual([
            outputSchema,
            undefined,
            { type: 'integer' },
          ]);
          expect('outputSchema' in (versions[1] as object)).toBe(false);
          expect(await storage.getVersion('add', 1)).toEqual(created.version);
          expect(await storage.getActiveVersion('add')).toEqual(created.version);
          expect(await storage.getVersion('add', 2)).toEqual(without);
          // What a read returns is a copy: changing it changes nothing stored.
          const read = (await storage.getVersion('add', 1)) as ToolVersion;
          (read.outputSchema as { type: string }).type = 'array';
          expect((await storage.getVersion('add', 1))?.outputSchema).toEqual({
            type: 'object',
            properties: {
              total: { type: 'number', minimum: 0 },
              label: { type: 'string', description: 'ünï ✓' },
            },
            required: ['total'],
          });
        },
        timeout,
      );

      it(
        'stores any author name, not only the built-in ones',
        async () => {
          const storage = await open();
          // Authors are open: a third-party rewriter names itself instead of posing as a built-in.
          const created = await storage.createTool({
            name: 'add',
            description: 'Adds',
            firstVersion: toolVersion({ author: 'my-rewriter' }),
          });
          expect(created.version.author).toBe('my-rewriter');
          const second = await storage.addVersion(
            'add',
            toolVersion({ parentVersion: 1, author: 'my-rewriter' }),
          );
          expect(second.author).toBe('my-rewriter');
          expect(await storage.getActiveVersion('add')).toEqual(created.version);
          expect((await storage.listVersions('add')).map((version) => version.author)).toEqual([
            'my-rewriter',
            'my-rewriter',
          ]);
        },
        timeout,
      );

      it(
        'sets the active version only from the expected one (compare-and-swap)',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          await storage.addVersion('add', toolVersion({ parentVersion: 1 }));
          await storage.addVersion('add', toolVersion({ parentVersion: 1 }));

          expect(await storage.compareAndSetActive('add', 1, 2)).toEqual({ swapped: true });
          expect((await storage.getActiveVersion('add'))?.version).toBe(2);
          expect(await storage.compareAndSetActive('add', 1, 3)).toEqual({ swapped: false, actual: 2 });
          expect((await storage.getTool('add'))?.activeVersion).toBe(2);
          // Rolling back is a swap like any other.
          expect(await storage.compareAndSetActive('add', 2, 1)).toEqual({ swapped: true });

          const missing = await rejection(storage.compareAndSetActive('add', 1, 4));
          expect(VersionNotFoundError.isInstance(missing)).toBe(true);
          expect((missing as VersionNotFoundError).version).toBe(4);
          expect((await storage.getTool('add'))?.activeVersion).toBe(1);
        },
        timeout,
      );

      it(
        'adds a version and the audit entry made from it in one transaction (both or neither)',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          const seen: number[] = [];
          const added = await storage.addVersion('add', toolVersion({ parentVersion: 1 }), (version) => {
            seen.push(version.version);
            return {
              type: 'tool:candidate-added',
              actor: 'contract',
              reason: 'r',
              fromVersion: 1,
              toVersion: version.version,
              evidence: { source: version.source },
            };
          });
          expect(added.version).toBe(2);
          expect(seen).toEqual([2]);
          expect(await storage.listAudit({ toolName: 'add' })).toEqual([
            expect.objectContaining({
              type: 'tool:candidate-added',
              toolName: 'add',
              toVersion: 2,
              evidence: { source: added.source },
            }),
          ]);

          // An entry that cannot be made or stored takes the version with it.
          const failing = [
            () => {
              throw new Error('entry failed');
            },
            () => ({
              type: 'tool:candidate-added',
              actor: 'contract',
              reason: 'r',
              evidence: { unstorable: 1n } as unknown as JsonValue,
            }),
          ];
          for (const entry of failing) {
            await expect(
              storage.addVersion('add', toolVersion({ parentVersion: 1 }), entry),
            ).rejects.toThrow();
            expect((await storage.listVersions('add')).map((version) => version.version)).toEqual([1, 2]);
            expect(await storage.listAudit({ toolName: 'add' })).toHaveLength(1);
          }
          // Nothing was taken: the next version is still 3, without gaps.
          expect((await storage.addVersion('add', toolVersion({ parentVersion: 2 }))).version).toBe(3);
        },
        timeout,
      );

      it(
        'refuses a compare-and-swap with requireUnpinned while the tool is pinned, writing nothing',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          await storage.addVersion('add', toolVersion({ parentVersion: 1 }));
          await storage.setPinned('add', true);
          const before = await storage.listAudit({ toolName: 'add' });

          expect(
            await storage.compareAndSetActive(
              'add',
              1,
              2,
              { type: 'tool:promoted', actor: 'contract', reason: 'automatic' },
              { requireUnpinned: true },
            ),
          ).toEqual({ swapped: false, actual: 1, pinned: true });
          expect((await storage.getTool('add'))?.activeVersion).toBe(1);
          expect(await storage.listAudit({ toolName: 'add' })).toEqual(before);
          // Without the flag (a change made by a person) the pin does not stop it.
          expect(await storage.compareAndSetActive('add', 1, 2)).toEqual({ swapped: true });
          await storage.setPinned('add', false);
          expect(
            await storage.compareAndSetActive('add', 2, 1, undefined, { requireUnpinned: true }),
          ).toEqual({
            swapped: true,
          });
        },
        timeout,
      );

      it(
        'lets exactly one of several concurrent compare-and-swaps from the same expected version win',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          for (let index = 0; index < 6; index += 1)
            await storage.addVersion('add', toolVersion({ parentVersion: 1 }));
          for (let round = 0; round < 5; round += 1) {
            const current = (await storage.getTool('add'))?.activeVersion as number;
            const candidates = [1, 2, 3, 4, 5, 6, 7].filter((version) => version !== current);
            const results = await Promise.all(
              candidates.map((next) => storage.compareAndSetActive('add', current, next)),
            );
            const winners = candidates.filter((_, index) => results[index]?.swapped);
            expect(winners).toHaveLength(1);
            const winner = winners[0] as number;
            for (const result of results) if (!result.swapped) expect(result.actual).toBe(winner);
            expect((await storage.getTool('add'))?.activeVersion).toBe(winner);
          }
        },
        timeout,
      );

      it(
        'pins, unpins and counts rewrites',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          await storage.setPinned('add', true);
          expect((await storage.getTool('add'))?.pinned).toBe(true);
          await storage.setPinned('add', false);
          expect((await storage.getTool('add'))?.pinned).toBe(false);

          expect(await storage.recordRewrite('add', 1_700_000_000_000)).toEqual({
            rewrites: 1,
            lastRewriteAt: 1_700_000_000_000,
          });
          expect(await storage.recordRewrite('add', 1_700_000_000_500)).toEqual({
            rewrites: 2,
            lastRewriteAt: 1_700_000_000_500,
          });
          expect((await storage.getTool('add'))?.counters).toEqual({
            rewrites: 2,
            lastRewriteAt: 1_700_000_000_500,
          });
        },
        timeout,
      );
    });

    describe('one transaction per change', () => {
      /** Evidence no store can hold (JSON has no BigInt): the entry fails inside the change. */
      const unstorable = { count: 1n } as unknown as JsonValue;

      it(
        'creates a tool with its test cases and audit entry together, or writes nothing and can be retried',
        async () => {
          const storage = await open();
          const entry = { type: 'tool:created', actor: 'test', reason: 'created', toVersion: 1 };
          const failed = await rejection(
            storage.createTool({
              name: 'add',
              description: 'Adds',
              firstVersion: toolVersion(),
              testCases: [testCase()],
              audit: { ...entry, evidence: unstorable },
            }),
          );
          expect(SiaError.isInstance(failed) || failed instanceof Error).toBe(true);
          const badCase = await rejection(
            storage.createTool({
              name: 'add',
              description: 'Adds',
              firstVersion: toolVersion(),
              testCases: [testCase(), { ...testCase(), input: unstorable }],
              audit: entry,
            }),
          );
          expect(badCase).toBeInstanceOf(Error);
          expect(await storage.getTool('add')).toBeUndefined();
          expect(await storage.listVersions('add')).toEqual([]);
          expect(await storage.listTestCases('add')).toEqual([]);
          expect(await storage.listAudit()).toEqual([]);

          // The retry is not refused with ToolExistsError: nothing of the failed attempts exists.
          const created = await storage.createTool({
            name: 'add',
            description: 'Adds',
            firstVersion: toolVersion(),
            testCases: [testCase(), { ...testCase(), description: 'second', heldOut: true }],
            audit: { ...entry, evidence: { sideEffects: true } },
          });
          expect(
            created.testCases.map((stored) => [stored.toolName, stored.description, stored.heldOut]),
          ).toEqual([
            ['add', 'adds small numbers', false],
            ['add', 'second', true],
          ]);
          expect(await storage.listTestCases('add')).toEqual(created.testCases);
          expect(created.audit).toEqual({
            ...entry,
            toolName: 'add',
            evidence: { sideEffects: true },
            id: created.audit?.id,
            at: created.audit?.at,
          });
          expect(await storage.listAudit({ toolName: 'add' })).toEqual([created.audit]);
          // Without cases and entry: none stored, none returned.
          const plain = await storage.createTool({
            name: 'sub',
            description: 'Subtracts',
            firstVersion: toolVersion(),
          });
          expect(plain.testCases).toEqual([]);
          expect(plain.audit).toBeUndefined();
          expect(await storage.listAudit({ toolName: 'sub' })).toEqual([]);
        },
        timeout,
      );

      it(
        'swaps the active version together with its audit entry, or writes neither',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          await storage.addVersion('add', toolVersion({ parentVersion: 1 }));
          const entry = {
            type: 'tool:promoted',
            actor: 'test',
            reason: 'gate passed',
            fromVersion: 1,
            toVersion: 2,
          };

          const failed = await rejection(
            storage.compareAndSetActive('add', 1, 2, { ...entry, evidence: unstorable }),
          );
          expect(failed).toBeInstanceOf(Error);
          expect((await storage.getTool('add'))?.activeVersion).toBe(1);
          expect(await storage.listAudit()).toEqual([]);

          const swapped = await storage.compareAndSetActive('add', 1, 2, {
            ...entry,
            evidence: { cases: 3 },
          });
          expect(swapped.swapped).toBe(true);
          const stored = swapped.swapped ? swapped.audit : undefined;
          expect(stored).toEqual({
            ...entry,
            toolName: 'add',
            evidence: { cases: 3 },
            id: stored?.id,
            at: stored?.at,
          });
          expect(await storage.listAudit()).toEqual([stored]);
          expect((await storage.getTool('add'))?.activeVersion).toBe(2);

          // A swap that does not happen writes no entry.
          expect(await storage.compareAndSetActive('add', 1, 2, entry)).toEqual({
            swapped: false,
            actual: 2,
          });
          expect(await storage.listAudit()).toEqual([stored]);
          // Without an entry: none written, none returned.
          expect(await storage.compareAndSetActive('add', 2, 1)).toEqual({ swapped: true });
          expect(await storage.listAudit()).toEqual([stored]);
        },
        timeout,
      );

      it(
        'pins and unpins together with the audit entry, or writes neither',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          const entry = {
            type: 'tool:pinned',
            actor: 'test',
            reason: 'frozen',
            fromVersion: 1,
            toVersion: 1,
          };
          const failed = await rejection(storage.setPinned('add', true, { ...entry, evidence: unstorable }));
          expect(failed).toBeInstanceOf(Error);
          expect((await storage.getTool('add'))?.pinned).toBe(false);
          expect(await storage.listAudit()).toEqual([]);

          const pinned = await storage.setPinned('add', true, entry);
          expect(pinned).toEqual({
            ...entry,
            toolName: 'add',
            evidence: null,
            id: pinned?.id,
            at: pinned?.at,
          });
          expect((await storage.getTool('add'))?.pinned).toBe(true);
          const unpinned = await storage.setPinned('add', false, { ...entry, type: 'tool:unpinned' });
          expect((await storage.getTool('add'))?.pinned).toBe(false);
          expect(await storage.listAudit()).toEqual([pinned, unpinned]);
          expect(await storage.setPinned('add', true)).toBeUndefined();
          expect(await storage.listAudit()).toHaveLength(2);
        },
        timeout,
      );
      it(
        'adds a test case together with the audit entry made from it, or writes neither',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          const entry = { type: 'tool:feedback', actor: 'test', reason: 'expected output', toVersion: 1 };
          const seen: StoredTestCase[] = [];

          const unstorableEntry = await rejection(
            storage.addTestCase('add', testCase(), (stored) => {
              seen.push(stored);
              return { ...entry, evidence: unstorable };
            }),
          );
          expect(unstorableEntry).toBeInstanceOf(Error);
          const thrown = new Error('the factory failed');
          const factoryFailed = await rejection(
            storage.addTestCase('add', testCase(), () => {
              throw thrown;
            }),
          );
          // Thrown as it came (an adapter may carry it across a thread as a copy).
          expect((factoryFailed as Error).message).toBe('the factory failed');
          const missing = await rejection(storage.addTestCase('missing', testCase(), () => entry));
          expect(ToolNotFoundError.isInstance(missing)).toBe(true);
          expect(await storage.listTestCases('add')).toEqual([]);
          expect(await storage.listTestCases('missing')).toEqual([]);
          expect(await storage.listAudit()).toEqual([]);

          // The retry stores both, once; the factory sees the case as stored (with its id).
          const added = await storage.addTestCase('add', { ...testCase(), heldOut: true }, (stored) => {
            seen.push(stored);
            return { ...entry, evidence: { caseId: stored.id } };
          });
          const { audit, ...stored } = added;
          expect(stored).toEqual({
            ...testCase(),
            id: added.id,
            toolName: 'add',
            heldOut: true,
            createdAt: added.createdAt,
          });
          expect(seen.at(-1)).toEqual(stored);
          expect(audit).toEqual({
            ...entry,
            toolName: 'add',
            evidence: { caseId: added.id },
            id: audit?.id,
            at: audit?.at,
          });
          expect(await storage.listTestCases('add')).toEqual([stored]);
          expect(await storage.listAudit()).toEqual([audit]);

          // Without a factory: no entry written, none returned.
          const plain = await storage.addTestCase('add', testCase());
          expect(plain.audit).toBeUndefined();
          expect(await storage.listTestCases('add')).toEqual([stored, plain]);
          expect(await storage.listAudit()).toEqual([audit]);
        },
        timeout,
      );

      it(
        'removes a test case together with the audit entry made from it, or writes neither',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          const kept = await storage.addTestCase('add', testCase());
          const entry = { type: 'test:removed', actor: 'test', reason: 'never passes' };
          const seen: StoredTestCase[] = [];

          const failed = await rejection(
            storage.removeTestCase('add', kept.id, (removed) => {
              seen.push(removed);
              return { ...entry, evidence: unstorable };
            }),
          );
          expect(failed).toBeInstanceOf(Error);
          const factoryFailed = await rejection(
            storage.removeTestCase('add', kept.id, () => {
              throw new Error('the factory failed');
            }),
          );
          expect((factoryFailed as Error).message).toBe('the factory failed');
          expect(await storage.listTestCases('add')).toEqual([kept]);
          expect(await storage.listAudit()).toEqual([]);

          // Nothing to remove: no entry, the factory is not asked.
          const calls = seen.length;
          expect(await storage.removeTestCase('add', kept.id + 1000, () => entry)).toBe(false);
          expect(await storage.removeTestCase('other', kept.id, () => entry)).toBe(false);
          expect(await storage.listAudit()).toEqual([]);

          expect(
            await storage.removeTestCase('add', kept.id, (removed) => {
              seen.push(removed);
              return { ...entry, evidence: { caseId: removed.id, description: removed.description } };
            }),
          ).toBe(true);
          expect(seen.slice(calls)).toEqual([kept]);
          expect(await storage.listTestCases('add')).toEqual([]);
          const audit = await storage.listAudit();
          expect(audit).toEqual([
            {
              ...entry,
              toolName: 'add',
              evidence: { caseId: kept.id, description: kept.description },
              id: audit[0]?.id,
              at: audit[0]?.at,
            },
          ]);
          expect(await storage.removeTestCase('add', kept.id, () => entry)).toBe(false);
          expect(await storage.listAudit()).toHaveLength(1);
        },
        timeout,
      );
    });

    describe('host tools, labels and disabling', () => {
      /** Evidence no store can hold (JSON has no BigInt): the entry fails inside the change. */
      const unstorable = { count: 1n } as unknown as JsonValue;
      const hostVersion = (overrides: Partial<NewToolVersion> = {}): NewToolVersion => ({
        source: '',
        inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
        capabilities: { network: [] },
        parentVersion: null,
        reason: 'release 2026.1.0',
        author: 'host',
        label: '2026.1.0',
        ...overrides,
      });

      it(
        'stores a host tool (no source, a label per version) and keeps labels apart from numbers',
        async () => {
          const storage = await open();
          const created = await storage.createTool({
            name: 'weather',
            description: 'The app’s weather lookup',
            kind: 'host',
            firstVersion: hostVersion(),
          });
          expect(created.tool).toMatchObject({ kind: 'host', disabled: false, activeVersion: 1 });
          expect(created.version).toEqual({
            ...hostVersion(),
            toolName: 'weather',
            version: 1,
            createdAt: created.version.createdAt,
          });
          expect(await storage.getTool('weather')).toEqual(created.tool);
          expect((await storage.listTools()).map((tool) => [tool.name, tool.kind])).toEqual([
            ['weather', 'host'],
          ]);
          const sha = 'a3f9c2e 🚀 ünï';
          const second = await storage.addVersion(
            'weather',
            hostVersion({ parentVersion: 1, label: sha, reason: 'deployed' }),
          );
          expect(second).toMatchObject({ version: 2, label: sha, source: '', author: 'host' });
          // The same label again is stored: uniqueness is the registry's business.
          const third = await storage.addVersion('weather', hostVersion({ parentVersion: 2, label: sha }));
          expect(third.label).toBe(sha);
          const { label: _none, ...withoutLabel } = hostVersion({ parentVersion: 3 });
          const unlabelled = await storage.addVersion('weather', withoutLabel);
          expect('label' in unlabelled).toBe(false);
          expect((await storage.listVersions('weather')).map((version) => version.label)).toEqual([
            '2026.1.0',
            sha,
            sha,
            undefined,
          ]);
          expect(await storage.getVersion('weather', 2)).toEqual(second);
          expect(await storage.getActiveVersion('weather')).toEqual(created.version);
          // A sandboxed version may carry a label too.
          const sandboxed = await storage.createTool({
            name: 'add',
            description: 'Adds',
            firstVersion: toolVersion({ label: 'x'.repeat(128) }),
          });
          expect(sandboxed.tool.kind).toBe('sandboxed');
          expect((await storage.getVersion('add', 1))?.label).toBe('x'.repeat(128));
        },
        timeout,
      );

      it(
        'refuses a bad label or kind with StorageInputError, writing nothing',
        async () => {
          const storage = await open();
          await storage.createTool({
            name: 'weather',
            description: 'W',
            kind: 'host',
            firstVersion: hostVersion(),
          });
          for (const label of ['', 'x'.repeat(129), 'line\nbreak', 'nul\u0000', 'del\u007f', 42]) {
            const added = await rejection(
              storage.addVersion('weather', hostVersion({ parentVersion: 1, label: label as string })),
            );
            expect(StorageInputError.isInstance(added)).toBe(true);
            expect((added as StorageInputError).field).toBe('version.label');
            const created = await rejection(
              storage.createTool({
                name: 'other',
                description: 'O',
                kind: 'host',
                firstVersion: hostVersion({ label: label as string }),
              }),
            );
            expect(StorageInputError.isInstance(created)).toBe(true);
          }
          const kind = await rejection(
            storage.createTool({
              name: 'other',
              description: 'O',
              kind: 'remote' as 'host',
              firstVersion: hostVersion(),
            }),
          );
          expect(StorageInputError.isInstance(kind)).toBe(true);
          expect((await storage.listTools()).map((tool) => tool.name)).toEqual(['weather']);
          expect(await storage.listVersions('weather')).toHaveLength(1);
        },
        timeout,
      );

      it(
        'disables and re-enables a tool together with its audit entry, or writes neither',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          if (storage.setDisabled === undefined) {
            // An adapter without the optional capability: its tools are never disabled.
            expect((await storage.getTool('add'))?.disabled).not.toBe(true);
            return;
          }
          const entry = { type: 'tool:disabled', actor: 'test', reason: 'broken upstream', toVersion: 1 };
          const failed = await rejection(
            storage.setDisabled('add', true, { ...entry, evidence: unstorable }),
          );
          expect(failed).toBeInstanceOf(Error);
          expect((await storage.getTool('add'))?.disabled).toBe(false);
          expect(await storage.listAudit()).toEqual([]);
          const missing = await rejection(storage.setDisabled('missing', true, entry));
          expect(ToolNotFoundError.isInstance(missing)).toBe(true);
          expect(await storage.listAudit()).toEqual([]);

          const disabled = await storage.setDisabled('add', true, entry);
          expect(disabled).toEqual({
            ...entry,
            toolName: 'add',
            evidence: null,
            id: disabled?.id,
            at: disabled?.at,
          });
          const record = await storage.getTool('add');
          expect(record).toMatchObject({ disabled: true, pinned: false, activeVersion: 1 });
          expect((await storage.listTools())[0]?.disabled).toBe(true);
          // History is kept: versions stay, and so does what a disabled tool could still be given.
          expect(await storage.listVersions('add')).toHaveLength(1);
          const enabled = await storage.setDisabled('add', false, { ...entry, type: 'tool:enabled' });
          expect((await storage.getTool('add'))?.disabled).toBe(false);
          expect(await storage.listAudit()).toEqual([disabled, enabled]);
          expect(await storage.setDisabled('add', true)).toBeUndefined();
          expect((await storage.getTool('add'))?.disabled).toBe(true);
          expect(await storage.listAudit()).toHaveLength(2);
        },
        timeout,
      );

      it(
        'adds a version and makes it active in one transaction with its audit entry (activate)',
        async () => {
          const storage = await open();
          await storage.createTool({
            name: 'weather',
            description: 'W',
            kind: 'host',
            firstVersion: hostVersion(),
          });
          const failing = [
            () => {
              throw new Error('entry failed');
            },
            () => ({ type: 'tool:deployed', actor: 'contract', reason: 'r', evidence: unstorable }),
          ];
          for (const entry of failing) {
            const failed = await rejection(
              storage.addVersion('weather', hostVersion({ parentVersion: 1, label: '2' }), entry, {
                activate: true,
              }),
            );
            expect(failed).toBeInstanceOf(Error);
            expect((await storage.getTool('weather'))?.activeVersion).toBe(1);
            expect(await storage.listVersions('weather')).toHaveLength(1);
            expect(await storage.listAudit()).toEqual([]);
          }
          const added = await storage.addVersion(
            'weather',
            hostVersion({ parentVersion: 1, label: '2026.2.0' }),
            (version) => ({
              type: 'tool:deployed',
              actor: 'contract',
              reason: `deployed ${version.label}`,
              fromVersion: 1,
              toVersion: version.version,
            }),
            { activate: true },
          );
          expect(added.version).toBe(2);
          expect((await storage.getTool('weather'))?.activeVersion).toBe(2);
          expect(await storage.getActiveVersion('weather')).toEqual(added);
          expect(await storage.listAudit()).toEqual([
            expect.objectContaining({
              type: 'tool:deployed',
              toolName: 'weather',
              reason: 'deployed 2026.2.0',
              toVersion: 2,
            }),
          ]);
          // Without an entry, and with activate: false (the default), as before.
          const third = await storage.addVersion(
            'weather',
            hostVersion({ parentVersion: 2, label: '3' }),
            undefined,
            {
              activate: true,
            },
          );
          expect((await storage.getTool('weather'))?.activeVersion).toBe(third.version);
          await storage.addVersion('weather', hostVersion({ parentVersion: 3, label: '4' }), undefined, {
            activate: false,
          });
          expect((await storage.getTool('weather'))?.activeVersion).toBe(3);
          expect(await storage.listAudit()).toHaveLength(1);
          const missing = await rejection(
            storage.addVersion('missing', hostVersion(), undefined, { activate: true }),
          );
          expect(ToolNotFoundError.isInstance(missing)).toBe(true);
        },
        timeout,
      );
    });

    describe('test cases', () => {
      it(
        'adds, lists oldest first, and removes test cases per tool, with JSON intact',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          await storage.createTool({ name: 'other', description: 'Other', firstVersion: toolVersion() });
          const before = Date.now();
          const first = await storage.addTestCase('add', testCase());
          const second = await storage.addTestCase('add', {
            input: { a: 0.1, b: -2e-7, text: 'ünïcödé "quoted"\n', list: [[], {}, null] },
            expect: { kind: 'equals', value: { sum: 0.0999998 } },
            description: 'floats',
            origin: 'harvested',
            inputHash: 'abc123',
            maxLatencyMs: 250,
            heldOut: true,
          });
          const third = await storage.addTestCase('other', {
            ...testCase(),
            input: null,
            expect: 'plain string',
          });

          expect(first).toEqual({
            ...testCase(),
            id: first.id,
            toolName: 'add',
            heldOut: false,
            createdAt: first.createdAt,
          });
          expect(first.createdAt).toBeGreaterThanOrEqual(before);
          expect(second.id).toBeGreaterThan(first.id);
          expect(second).toMatchObject({
            inputHash: 'abc123',
            maxLatencyMs: 250,
            heldOut: true,
            origin: 'harvested',
          });
          expect(await storage.listTestCases('add')).toEqual([first, second]);
          expect(await storage.listTestCases('other')).toEqual([third]);
          expect(third.input).toBeNull();
          expect(await storage.listTestCases('missing')).toEqual([]);

          expect(await storage.removeTestCase('other', first.id)).toBe(false);
          expect(await storage.removeTestCase('add', first.id)).toBe(true);
          expect(await storage.removeTestCase('add', first.id)).toBe(false);
          expect(await storage.listTestCases('add')).toEqual([second]);
        },
        timeout,
      );
    });

    describe('audit log', () => {
      it(
        'appends entries with ids, defaults and evidence, and lists them oldest first with filters and paging',
        async () => {
          const storage = await open();
          const before = Date.now();
          const created = await storage.appendAudit({
            type: 'tool:created',
            toolName: 'add',
            actor: 'agent',
            reason: 'new',
          });
          const after = Date.now();
          expect(created).toEqual({
            id: created.id,
            type: 'tool:created',
            toolName: 'add',
            actor: 'agent',
            reason: 'new',
            evidence: null,
            at: created.at,
          });
          expect(created.at).toBeGreaterThanOrEqual(before);
          expect(created.at).toBeLessThanOrEqual(after);

          const evidence: JsonValue = {
            score: 0.42,
            reasons: ['slow', 'errors'],
            report: { passed: 9, failed: 1 },
          };
          const promoted = await storage.appendAudit({
            type: 'tool:promoted',
            toolName: 'add',
            actor: 'human:alice',
            reason: 'passed the gate',
            fromVersion: 1,
            toVersion: 2,
            evidence,
            at: 5_000,
          });
          expect(promoted).toMatchObject({ fromVersion: 1, toVersion: 2, evidence, at: 5_000 });
          expect(promoted.id).toBeGreaterThan(created.id);
          for (let index = 0; index < 7; index += 1)
            await storage.appendAudit({
              type: index % 2 === 0 ? 'tool:rewrite-rejected' : 'tool:promoted',
              toolName: index < 4 ? 'other' : 'add',
              actor: 'agent',
              reason: `event ${index}`,
              at: 6_000 + index,
            });

          const all = await storage.listAudit();
          expect(all).toHaveLength(9);
          expect(all[0]).toEqual(created);
          expect(all[1]).toEqual(promoted);
          expect(all.map((entry) => entry.id)).toEqual(
            [...all.map((entry) => entry.id)].sort((a, b) => a - b),
          );

          const reasons = (list: { reason: string }[]) => list.map((entry) => entry.reason);
          expect(reasons(await storage.listAudit({ toolName: 'other' }))).toEqual([
            'event 0',
            'event 1',
            'event 2',
            'event 3',
          ]);
          expect(reasons(await storage.listAudit({ type: 'tool:promoted' }))).toEqual([
            'passed the gate',
            'event 1',
            'event 3',
            'event 5',
          ]);
          expect(reasons(await storage.listAudit({ since: 6_004 }))).toEqual([
            'new',
            'event 4',
            'event 5',
            'event 6',
          ]);
          expect(
            reasons(await storage.listAudit({ toolName: 'add', type: 'tool:promoted', since: 6_000 })),
          ).toEqual(['event 5']);
          expect(reasons(await storage.listAudit({ limit: 2 }))).toEqual(['new', 'passed the gate']);

          const paged: string[] = [];
          let afterId = 0;
          for (;;) {
            const page = await storage.listAudit({ limit: 4, afterId });
            if (page.length === 0) break;
            paged.push(...reasons(page));
            afterId = (page[page.length - 1] as { id: number }).id;
          }
          expect(paged).toEqual(reasons(all));
          expect(await storage.listAudit({ afterId: all[8]?.id as number })).toEqual([]);
        },
        timeout,
      );
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to reject, but it resolved');
}

function toolVersion(overrides: Partial<NewToolVersion> = {}): NewToolVersion {
  return {
    source: 'function run(input) { return input; }',
    inputSchema: { type: 'object', properties: { value: { type: 'string' } } },
    capabilities: { network: [] },
    parentVersion: null,
    reason: 'first version',
    author: 'human',
    ...overrides,
  };
}

function testCase() {
  return {
    input: { a: 1, b: 2 },
    expect: { kind: 'equals', value: 3 },
    description: 'adds small numbers',
    origin: 'manual' as const,
  };
}

import { setTimeout as delay } from 'node:timers/promises';
import type { ActiveVersionChange } from '../storage/coordination.ts';
import type { NewToolVersion } from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { StorageInputError } from '../storage/storage-errors.ts';
import { vitestApi } from './vitest-api.ts';

/** Options of {@link runCoordinationContract}. */
export interface CoordinationContractOptions {
  /**
   * Time limit of each test in ms: a hang detector, generous so that a busy CI machine passes.
   * @default 60_000
   */
  timeoutMs?: number;
  /**
   * Opens a second adapter on the same store as `storage`, as another process would. Given,
   * the suite also checks that leases exclude and changes reach across adapters; omit it for
   * stores that live in one adapter (such as `memoryStorage()`).
   * @default undefined
   */
  connect?: (storage: StorageAdapter) => StorageAdapter | Promise<StorageAdapter>;
  /**
   * How long the suite waits for a change to reach a watcher before it fails, in ms. The suite
   * checks that changes arrive, not how fast (that depends on how busy the machine is); measure
   * notice latency in a benchmark.
   * @default 10_000
   */
  noticeWithinMs?: number;
}

/**
 * Registers a vitest suite for the optional coordination capabilities of a
 * {@link StorageAdapter}: `acquireLease`/`releaseLease` (exclusive, extended by the same
 * holder, taken over after expiry, one winner among concurrent takers) and `watchActive`
 * (hears of created tools and successful compare-and-swaps, not of failed ones, stops after
 * unsubscribing, survives a throwing listener). Run it for adapters that implement them.
 *
 * `factory` must return an adapter over an EMPTY store; the suite closes it after each test.
 *
 * @example
 * ```ts
 * import { runCoordinationContract } from 'self-improving-agent/testing';
 * runCoordinationContract('my storage', () => myStorage({ url: freshDatabaseUrl() }), {
 *   connect: (storage) => myStorage({ url: urlOf(storage) }),
 * });
 * ```
 */
export function runCoordinationContract(
  name: string,
  factory: () => StorageAdapter | Promise<StorageAdapter>,
  options: CoordinationContractOptions = {},
): void {
  const { afterEach, describe, expect, it } = vitestApi('runCoordinationContract');
  const timeout = options.timeoutMs ?? 60_000;
  const noticeWithinMs = options.noticeWithinMs ?? 10_000;
  const connect = options.connect;

  describe(`coordination contract: ${name}`, () => {
    const opened: StorageAdapter[] = [];
    const open = async (): Promise<Coordinated> => {
      const storage = await factory();
      opened.push(storage);
      return coordinated(storage);
    };
    afterEach(async () => {
      for (const storage of opened.splice(0).reverse()) await storage.close();
    });

    it(
      'implements acquireLease, releaseLease and watchActive',
      async () => {
        const storage = await factory();
        opened.push(storage);
        expect(typeof storage.acquireLease).toBe('function');
        expect(typeof storage.releaseLease).toBe('function');
        expect(typeof storage.watchActive).toBe('function');
      },
      timeout,
    );

    describe('leases', () => {
      it(
        'grants a free lease, refuses another holder, extends for the same holder, and frees on release',
        async () => {
          const storage = await open();
          expect(await storage.acquireLease('improve:add', 'alice', 60_000)).toBe(true);
          expect(await storage.acquireLease('improve:add', 'bob', 60_000)).toBe(false);
          expect(await storage.acquireLease('improve:add', 'alice', 60_000)).toBe(true);
          // Keys are independent.
          expect(await storage.acquireLease('improve:other', 'bob', 60_000)).toBe(true);
          // Releasing someone else's lease does nothing.
          await storage.releaseLease('improve:add', 'bob');
          expect(await storage.acquireLease('improve:add', 'bob', 60_000)).toBe(false);
          await storage.releaseLease('improve:add', 'alice');
          expect(await storage.acquireLease('improve:add', 'bob', 60_000)).toBe(true);
          expect(await storage.acquireLease('improve:add', 'alice', 60_000)).toBe(false);
          await storage.releaseLease('never-taken', 'alice');
        },
        timeout,
      );

      it(
        'lets another holder take a lease over once it expired, and counts expiry from the last renewal',
        async () => {
          const storage = await open();
          expect(await storage.acquireLease('k', 'alice', 400)).toBe(true);
          await delay(200);
          // Renewed at ≈ 200 ms: runs until ≈ 600 ms.
          expect(await storage.acquireLease('k', 'alice', 400)).toBe(true);
          await delay(250);
          expect(await storage.acquireLease('k', 'bob', 400)).toBe(false);
          await delay(500);
          expect(await storage.acquireLease('k', 'bob', 400)).toBe(true);
          expect(await storage.acquireLease('k', 'alice', 400)).toBe(false);
        },
        timeout,
      );

      it(
        'gives a contested lease to exactly one of many concurrent takers',
        async () => {
          const storage = await open();
          for (let round = 0; round < 5; round += 1) {
            const holders = Array.from({ length: 12 }, (_, index) => `holder-${round}-${index}`);
            const results = await Promise.all(
              holders.map((holder) => storage.acquireLease(`round-${round}`, holder, 60_000)),
            );
            expect(results.filter(Boolean)).toHaveLength(1);
          }
        },
        timeout,
      );

      it(
        'rejects an empty key or holder and a ttl below 1 ms with StorageInputError',
        async () => {
          const storage = await open();
          for (const attempt of [
            () => storage.acquireLease('', 'alice', 1000),
            () => storage.acquireLease('k', '', 1000),
            () => storage.acquireLease('k', 'alice', 0),
            () => storage.acquireLease('k', 'alice', 1.5),
            () => storage.releaseLease('', 'alice'),
          ]) {
            const error = await attempt().then(
              () => undefined,
              (caught: unknown) => caught,
            );
            expect(StorageInputError.isInstance(error)).toBe(true);
          }
          expect(await storage.acquireLease('k', 'alice', 1000)).toBe(true);
        },
        timeout,
      );
    });

    describe('watchActive', () => {
      it(
        'hears of created tools and successful swaps (not failed ones) until unsubscribed',
        async () => {
          const storage = await open();
          const heard = changeLog();
          const unsubscribe = storage.watchActive(heard.listener);
          try {
            await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
            await heard.until([{ toolName: 'add', activeVersion: 1 }], noticeWithinMs);
            await storage.addVersion('add', toolVersion({ parentVersion: 1 }));
            await storage.addVersion('add', toolVersion({ parentVersion: 1 }));
            expect(await storage.compareAndSetActive('add', 1, 2)).toEqual({ swapped: true });
            expect(await storage.compareAndSetActive('add', 1, 3)).toEqual({ swapped: false, actual: 2 });
            expect(await storage.compareAndSetActive('add', 2, 3)).toEqual({ swapped: true });
            await heard.until(
              [
                { toolName: 'add', activeVersion: 1 },
                { toolName: 'add', activeVersion: 2 },
                { toolName: 'add', activeVersion: 3 },
              ],
              noticeWithinMs,
            );
          } finally {
            unsubscribe();
          }
          expect(await storage.compareAndSetActive('add', 3, 1)).toEqual({ swapped: true });
          // A second subscriber hears of the swap: proof it happened and was announced.
          const later = changeLog();
          const unsubscribeLater = storage.watchActive(later.listener);
          try {
            await later.until([{ toolName: 'add', activeVersion: 1 }], noticeWithinMs);
          } finally {
            unsubscribeLater();
          }
          expect(heard.distinct().at(-1)).toEqual({ toolName: 'add', activeVersion: 3 });
        },
        timeout,
      );

      it(
        'first tells a new subscriber the active version of every existing tool',
        async () => {
          const storage = await open();
          await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
          await storage.createTool({ name: 'sub', description: 'Subtracts', firstVersion: toolVersion() });
          await storage.addVersion('sub', toolVersion({ parentVersion: 1 }));
          await storage.compareAndSetActive('sub', 1, 2);
          const heard = changeLog();
          const unsubscribe = storage.watchActive(heard.listener);
          try {
            await heard.untilSet(
              [
                { toolName: 'add', activeVersion: 1 },
                { toolName: 'sub', activeVersion: 2 },
              ],
              noticeWithinMs,
            );
          } finally {
            unsubscribe();
          }
        },
        timeout,
      );

      it(
        'keeps calling the other listeners when one throws',
        async () => {
          const storage = await open();
          const heard = changeLog();
          const unsubscribeThrowing = storage.watchActive(() => {
            throw new Error('faulty listener');
          });
          const unsubscribe = storage.watchActive(heard.listener);
          try {
            await storage.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
            // Until the subscription is set up, only the latest version is promised: wait for it.
            await heard.until([{ toolName: 'add', activeVersion: 1 }], noticeWithinMs);
            await storage.addVersion('add', toolVersion({ parentVersion: 1 }));
            await storage.compareAndSetActive('add', 1, 2);
            await heard.until(
              [
                { toolName: 'add', activeVersion: 1 },
                { toolName: 'add', activeVersion: 2 },
              ],
              noticeWithinMs,
            );
          } finally {
            unsubscribe();
            unsubscribeThrowing();
          }
        },
        timeout,
      );
    });

    if (connect !== undefined)
      describe('across adapters on one store', () => {
        it(
          'excludes holders of one lease across adapters and hands it over on release',
          async () => {
            const first = await open();
            const second = coordinated(await connect(first.storage));
            opened.push(second.storage);
            expect(await first.acquireLease('improve:add', 'first', 60_000)).toBe(true);
            expect(await second.acquireLease('improve:add', 'second', 60_000)).toBe(false);
            await first.releaseLease('improve:add', 'first');
            expect(await second.acquireLease('improve:add', 'second', 60_000)).toBe(true);
            expect(await first.acquireLease('improve:add', 'first', 60_000)).toBe(false);
          },
          timeout,
        );

        it(
          'tells a watcher on one adapter of swaps made through another',
          async () => {
            const first = await open();
            const second = coordinated(await connect(first.storage));
            opened.push(second.storage);
            await first.createTool({ name: 'add', description: 'Adds', firstVersion: toolVersion() });
            await first.addVersion('add', toolVersion({ parentVersion: 1 }));
            const heard = changeLog();
            const unsubscribe = second.watchActive(heard.listener);
            try {
              await heard.until([{ toolName: 'add', activeVersion: 1 }], noticeWithinMs);
              expect(await first.compareAndSetActive('add', 1, 2)).toEqual({ swapped: true });
              await heard.until(
                [
                  { toolName: 'add', activeVersion: 1 },
                  { toolName: 'add', activeVersion: 2 },
                ],
                noticeWithinMs,
              );
            } finally {
              unsubscribe();
            }
          },
          timeout,
        );
      });
  });
}

/** An adapter whose coordination methods are known to exist (the first test checks they do). */
interface Coordinated {
  readonly storage: StorageAdapter;
  acquireLease(key: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(key: string, holder: string): Promise<void>;
  watchActive(listener: (change: ActiveVersionChange) => void): () => void;
  createTool: StorageAdapter['createTool'];
  addVersion: StorageAdapter['addVersion'];
  compareAndSetActive: StorageAdapter['compareAndSetActive'];
}

function coordinated(storage: StorageAdapter): Coordinated {
  const missing = (method: string) => () => {
    throw new Error(`${storage.name} does not implement ${method}`);
  };
  return {
    storage,
    acquireLease: (key, holder, ttlMs) =>
      (storage.acquireLease ?? missing('acquireLease')).call(storage, key, holder, ttlMs),
    releaseLease: (key, holder) =>
      (storage.releaseLease ?? missing('releaseLease')).call(storage, key, holder),
    watchActive: (listener) => (storage.watchActive ?? missing('watchActive')).call(storage, listener),
    createTool: (tool) => storage.createTool(tool),
    addVersion: (toolName, version, audit) => storage.addVersion(toolName, version, audit),
    compareAndSetActive: (toolName, expected, next, audit, options) =>
      storage.compareAndSetActive(toolName, expected, next, audit, options),
  };
}

interface ChangeLog {
  readonly listener: (change: ActiveVersionChange) => void;
  /** Changes heard so far, with repeats of the same change in a row collapsed (delivery is at least once). */
  distinct(): ActiveVersionChange[];
  /** Waits until exactly `expected` was heard (repeats collapsed); fails after `withinMs`. */
  until(expected: readonly ActiveVersionChange[], withinMs: number): Promise<void>;
  /** Waits until every change of `expected` was heard, in any order; fails after `withinMs`. */
  untilSet(expected: readonly ActiveVersionChange[], withinMs: number): Promise<void>;
}

function changeLog(): ChangeLog {
  const heard: ActiveVersionChange[] = [];
  const distinct = () =>
    heard.filter(
      (change, index) =>
        index === 0 ||
        change.toolName !== heard[index - 1]?.toolName ||
        change.activeVersion !== heard[index - 1]?.activeVersion,
    );
  const waitUntil = async (done: () => boolean, withinMs: number, describeExpected: string) => {
    const deadline = performance.now() + withinMs;
    while (!done()) {
      if (performance.now() > deadline)
        throw new Error(
          `watchActive: expected ${describeExpected} within ${withinMs} ms, heard ${JSON.stringify(heard)}`,
        );
      await delay(5);
    }
  };
  return {
    listener: (change) => {
      heard.push({ toolName: change.toolName, activeVersion: change.activeVersion });
    },
    distinct,
    async until(expected, withinMs) {
      await waitUntil(() => distinct().length >= expected.length, withinMs, JSON.stringify(expected));
      vitestApi('runCoordinationContract').expect(distinct()).toEqual(expected);
    },
    async untilSet(expected, withinMs) {
      const has = (wanted: ActiveVersionChange) =>
        heard.some(
          (change) => change.toolName === wanted.toolName && change.activeVersion === wanted.activeVersion,
        );
      await waitUntil(() => expected.every(has), withinMs, JSON.stringify(expected));
    },
  };
}

function toolVersion(overrides: Partial<NewToolVersion> = {}): NewToolVersion {
  return {
    source: 'function run(input) { return input; }',
    inputSchema: { type: 'object' },
    capabilities: { network: [] },
    parentVersion: null,
    reason: 'first version',
    author: 'human',
    ...overrides,
  };
}

/**
 * The in-memory window of PerformanceMemory: running statistics per version, seeding from
 * storage once, no record counted twice or lost while writes race the seeding read, and reads
 * answered from memory equal to what the storage path gives for the same data. Storage calls are
 * counted through a wrapping store (real memoryStorage / sql.js underneath); no timing asserted.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Evaluator } from '../evaluation/evaluator.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { InvocationQuery, InvocationRecord, StoredInvocation } from '../storage/records.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { seededRandom } from '../testing/reference-math.ts';
import { PerformanceMemory, type RecordInput } from './performance-memory.ts';
import type { PerformanceMemoryOptions } from './performance-memory-options.ts';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close().catch(() => {});
});

function open<T extends { close(): Promise<void> }>(item: T): T {
  opened.push(item);
  return item;
}

/**
 * A real store whose reads and writes are counted, and can be held back: `readGate` holds a
 * `recentInvocations` answer (read before the gate with `readAt: 'before'`, after it with
 * `'after'`); `ackGate` holds the acknowledgement of a write that is already committed.
 */
function instrumented(inner: StorageAdapter) {
  const control = {
    reads: [] as InvocationQuery[],
    aggregates: 0,
    appends: 0,
    readGate: null as Promise<void> | null,
    readAt: 'before' as 'before' | 'after',
    ackGate: null as Promise<void> | null,
  };
  const storage: StorageAdapter = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'recentInvocations') {
        return async (query: InvocationQuery) => {
          control.reads.push(query);
          const gate = control.readGate;
          if (gate === null) return target.recentInvocations(query);
          if (control.readAt === 'after') {
            await gate;
            return target.recentInvocations(query);
          }
          const rows = await target.recentInvocations(query);
          await gate;
          return rows;
        };
      }
      if (property === 'aggregateWindow') {
        return (query: InvocationQuery) => {
          control.aggregates += 1;
          return target.aggregateWindow(query);
        };
      }
      if (property === 'appendInvocations') {
        return async (records: readonly InvocationRecord[]) => {
          control.appends += 1;
          await target.appendInvocations(records);
          if (control.ackGate) await control.ackGate;
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
  return { storage, control };
}

function gate(): { promise: Promise<void>; release: () => void } {
  let release: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

let clock = 1_700_000_000_000;
function call(overrides: Partial<RecordInput> = {}): RecordInput {
  clock += 10;
  return {
    toolName: 'fetch_rate',
    version: 1,
    startedAt: clock,
    latencyMs: 100,
    success: true,
    inputHash: `call ${clock}`,
    ...overrides,
  };
}

/** A stored row as `recent()` returns it: without the store's id. */
function withoutId({ id: _id, ...record }: StoredInvocation): InvocationRecord {
  return record;
}

/** What storage holds for the version, newest first, as `recent()` returns it. */
async function storedTruth(storage: StorageAdapter, version: number, limit = 10_000) {
  return (await storage.recentInvocations({ toolName: 'fetch_rate', version, limit })).map(withoutId);
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('PerformanceMemory: running statistics', () => {
  it('counts each version recorded here: calls, failures by code, latency, time span, window', async () => {
    const memory = open(new PerformanceMemory({ statistics: { recentCalls: 4 } }));
    expect(memory.statistics('fetch_rate', 1)).toBeUndefined();
    const start = clock;
    memory.record(call({ latencyMs: 10 }));
    memory.record(
      call({ latencyMs: 30, success: false, errorCode: 'TIMEOUT', errorMessage: 'took too long' }),
    );
    memory.record(call({ latencyMs: 20, success: false, errorCode: 'TOOL_ERROR', errorMessage: 'boom' }));
    memory.record(call({ latencyMs: 40, success: false, errorCode: 'TIMEOUT', errorMessage: 'again' }));
    memory.record(call({ latencyMs: 50 }));
    memory.record(call({ version: 2, latencyMs: 7 }));
    await memory.recent('fetch_rate', { version: 1 }); // waits for the seeding read
    const v1 = memory.statistics('fetch_rate', 1);
    expect(v1).toMatchObject({
      toolName: 'fetch_rate',
      version: 1,
      calls: 5,
      successes: 2,
      failures: 3,
      errorCodes: { TIMEOUT: 2, TOOL_ERROR: 1 },
      firstCallAt: start + 10,
      lastCallAt: start + 50,
      seeded: true,
    });
    expect(v1?.latencyMs).toEqual({ count: 5, sum: 150, sumOfSquares: 5_500, min: 10, max: 50, mean: 30 });
    // The window: the newest 4 (recentCalls), newest first, with what decisions read.
    expect(v1?.recent).toEqual([
      { startedAt: start + 50, latencyMs: 50, success: true },
      { startedAt: start + 40, latencyMs: 40, success: false, errorCode: 'TIMEOUT', errorMessage: 'again' },
      { startedAt: start + 30, latencyMs: 20, success: false, errorCode: 'TOOL_ERROR', errorMessage: 'boom' },
      {
        startedAt: start + 20,
        latencyMs: 30,
        success: false,
        errorCode: 'TIMEOUT',
        errorMessage: 'took too long',
      },
    ]);
    expect(memory.statistics('fetch_rate', 2)).toMatchObject({ calls: 1, successes: 1, failures: 0 });
    // A snapshot does not change afterwards.
    memory.record(call());
    expect(v1?.calls).toBe(5);
    expect(memory.statistics('fetch_rate', 1)?.calls).toBe(6);
  });

  it('tracks at most statistics.maxVersions versions, forgetting the least recently used', async () => {
    const memory = open(new PerformanceMemory({ statistics: { maxVersions: 3 } }));
    for (let index = 0; index < 50; index += 1) memory.record(call({ toolName: `tool_${index}` }));
    const tracked = Array.from({ length: 50 }, (_, index) => memory.statistics(`tool_${index}`, 1));
    expect(tracked.filter((statistics) => statistics !== undefined).map((s) => s?.toolName)).toEqual([
      'tool_47',
      'tool_48',
      'tool_49',
    ]);
    // A read uses a version too: tool_47 is kept, tool_48 (least recent now) goes.
    await memory.recent('tool_47', { version: 1 });
    memory.record(call({ toolName: 'tool_50' }));
    expect(memory.statistics('tool_48', 1)).toBeUndefined();
    expect(memory.statistics('tool_47', 1)?.calls).toBe(1);
    // A forgotten version used again starts over, its window seeded from storage again.
    memory.record(call({ toolName: 'tool_0' }));
    expect((await memory.recent('tool_0', { version: 1, limit: 10 })).length).toBe(2);
    expect(memory.statistics('tool_0', 1)).toMatchObject({ calls: 1, seeded: true });
  });

  it('validates the statistics options, naming the field', () => {
    const field = (options: PerformanceMemoryOptions) => {
      try {
        new PerformanceMemory(options);
      } catch (error) {
        return (error as { field?: string }).field;
      }
      return undefined;
    };
    expect(field({ statistics: { recentCalls: -1 } })).toBe('statistics.recentCalls');
    expect(field({ statistics: { recentCalls: 1.5 } })).toBe('statistics.recentCalls');
    expect(field({ statistics: { maxVersions: 0 } })).toBe('statistics.maxVersions');
    expect(field({ statistics: 'all' as never })).toBe('statistics');
    const memory = open(new PerformanceMemory({ retention: { maxRecordsPerVersion: 30 } }));
    expect(memory.options.statistics).toEqual({ recentCalls: 30, maxVersions: 2_000 });
    expect(Object.isFrozen(memory.options.statistics)).toBe(true);
  });
});

describe('PerformanceMemory: the window is seeded once from storage', () => {
  it('reads the stored history once (sql.js filled by another writer), then answers from memory', async () => {
    const inner = open(sqlJsStorage());
    const history: InvocationRecord[] = [];
    for (let index = 0; index < 150; index += 1) {
      history.push({
        ...(call({ success: index % 9 !== 0 }) as InvocationRecord),
        ...(index % 9 === 0 ? { errorCode: 'TOOL_ERROR', errorMessage: `stored failure ${index}` } : {}),
      });
    }
    history.push(call({ version: 2 }) as InvocationRecord);
    await inner.appendInvocations(history);
    const { storage, control } = instrumented(inner);
    const memory = open(new PerformanceMemory({ storage }));

    const first = await memory.recent('fetch_rate', { version: 1, limit: 40 });
    expect(first).toEqual((await storedTruth(inner, 1)).slice(0, 40));
    expect(control.reads).toEqual([{ toolName: 'fetch_rate', version: 1, limit: 100 }]);
    expect(memory.statistics('fetch_rate', 1)).toMatchObject({ seeded: true, calls: 0 });
    expect(memory.statistics('fetch_rate', 1)?.recent).toHaveLength(100);

    // Calls recorded from now on join the window; no further storage read for covered reads.
    for (let index = 0; index < 12; index += 1) memory.record(call({ latencyMs: 1_000 + index }));
    const summary = await memory.summary('fetch_rate', { version: 1, window: 20 });
    const recent = await memory.recent('fetch_rate', { version: 1, limit: 100 });
    expect(control.reads).toHaveLength(1);
    expect(control.aggregates).toBe(0);
    expect(summary.invocations).toBe(20);
    expect(summary.latencyMs?.min).toBe(100);
    expect(recent.slice(0, 12).map((record) => record.latencyMs)).toEqual(
      Array.from({ length: 12 }, (_, index) => 1_011 - index),
    );
    await memory.flush();
    expect(recent).toEqual((await storedTruth(inner, 1)).slice(0, 100));

    // Beyond the window: storage, as before.
    expect(await memory.recent('fetch_rate', { version: 1, limit: 101 })).toHaveLength(101);
    expect(control.reads).toHaveLength(2);
    expect(await memory.recent('fetch_rate', { limit: 5 })).toHaveLength(5); // no version
    expect(control.reads).toHaveLength(3);
  });

  it('seeds a version first seen in record() in the background, with the history before it', async () => {
    const inner = memoryStorage();
    await inner.appendInvocations([call() as InvocationRecord, call() as InvocationRecord]);
    const { storage, control } = instrumented(inner);
    const memory = open(new PerformanceMemory({ storage, batch: { maxRecords: 1_000, maxDelayMs: 60_000 } }));
    memory.record(call());
    await settle();
    expect(control.reads).toHaveLength(1);
    expect(memory.statistics('fetch_rate', 1)).toMatchObject({ seeded: true, calls: 1 });
    expect(memory.statistics('fetch_rate', 1)?.recent).toHaveLength(3);
  });

  it('reads a limit past the window from storage without seeding; a complete window answers any limit', async () => {
    const inner = memoryStorage();
    await inner.appendInvocations(Array.from({ length: 5 }, () => call() as InvocationRecord));
    const { storage, control } = instrumented(inner);
    const memory = open(new PerformanceMemory({ storage }));
    expect(await memory.recent('fetch_rate', { version: 1, limit: 500 })).toHaveLength(5);
    expect(control.reads.map((query) => query.limit)).toEqual([500]);
    expect(memory.statistics('fetch_rate', 1)).toBeUndefined(); // not tracked by that read
    await memory.recent('fetch_rate', { version: 1 }); // seeds: all 5 stored calls fit
    expect(await memory.recent('fetch_rate', { version: 1, limit: 500 })).toEqual(
      await storedTruth(inner, 1),
    );
    expect(control.reads.map((query) => query.limit)).toEqual([500, 100]);
  });

  it('does not retry a failed seeding read on every call; the next read tries again', async () => {
    const inner = memoryStorage();
    await inner.appendInvocations([call() as InvocationRecord]);
    const reads = { count: 0, failing: true };
    const storage: StorageAdapter = new Proxy(inner, {
      get(target, property, receiver) {
        if (property === 'recentInvocations') {
          return async (query: InvocationQuery) => {
            reads.count += 1;
            if (reads.failing) throw new Error('database unavailable');
            return target.recentInvocations(query);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const warnings: string[] = [];
    const memory = open(
      new PerformanceMemory({
        storage,
        batch: { maxRecords: 1_000, maxDelayMs: 60_000 },
        logger: { warn: (message: string) => warnings.push(message) },
      }),
    );
    for (let index = 0; index < 10; index += 1) memory.record(call());
    await settle();
    expect(reads.count).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not read the recent calls of fetch_rate v1/);
    await expect(memory.recent('fetch_rate', { version: 1 })).rejects.toThrow('database unavailable');
    expect(memory.statistics('fetch_rate', 1)).toMatchObject({ calls: 10, seeded: false });
    reads.failing = false;
    expect(await memory.recent('fetch_rate', { version: 1, limit: 100 })).toHaveLength(11);
    expect(memory.statistics('fetch_rate', 1)?.seeded).toBe(true);
  });

  it('keeps no window with statistics.recentCalls 0: every read goes to storage', async () => {
    const { storage, control } = instrumented(memoryStorage());
    const memory = open(new PerformanceMemory({ storage, statistics: { recentCalls: 0 } }));
    for (let index = 0; index < 5; index += 1) memory.record(call());
    await memory.recent('fetch_rate', { version: 1 });
    await memory.recent('fetch_rate', { version: 1 });
    expect(control.reads).toHaveLength(2);
    expect(memory.statistics('fetch_rate', 1)).toMatchObject({ calls: 5, recent: [], seeded: false });
  });
});

describe('PerformanceMemory: no record counted twice or lost while the seed is read', () => {
  async function prefilled() {
    const inner = memoryStorage();
    const history = Array.from({ length: 20 }, () => call() as InvocationRecord);
    await inner.appendInvocations(history);
    return inner;
  }

  for (const readAt of ['before', 'after'] as const) {
    it(`a write that completes while the seeding read runs (rows read ${readAt} the write)`, async () => {
      const inner = await prefilled();
      const { storage, control } = instrumented(inner);
      const memory = open(new PerformanceMemory({ storage, batch: { maxRecords: 3, maxDelayMs: 0 } }));
      const held = gate();
      control.readGate = held.promise;
      control.readAt = readAt;
      memory.record(call()); // starts the seeding read, which is held
      expect(control.reads).toHaveLength(1);
      memory.record(call());
      memory.record(call()); // a full batch: written while the read is held
      await expect.poll(() => memory.stats().flushed).toBe(3);
      control.readGate = null;
      held.release();
      const recent = await memory.recent('fetch_rate', { version: 1, limit: 100 });
      expect(recent).toHaveLength(23);
      expect(new Set(recent.map((record) => record.inputHash)).size).toBe(23);
      expect(recent).toEqual(await storedTruth(inner, 1));
      expect(control.reads.length).toBeGreaterThanOrEqual(2); // the raced read was done again
    });
  }

  it('a write committed but not yet acknowledged when the seed is read', async () => {
    const inner = await prefilled();
    const { storage, control } = instrumented(inner);
    const memory = open(
      new PerformanceMemory({
        storage,
        batch: { maxRecords: 3, maxDelayMs: 0 },
        statistics: { maxVersions: 5 },
      }),
    );
    const ack = gate();
    control.ackGate = ack.promise;
    // Version 2 takes the write path first so version 1's window is seeded by the read below.
    for (let index = 0; index < 3; index += 1) memory.record(call({ version: 2 }));
    await expect.poll(() => control.appends).toBe(1);
    for (let index = 0; index < 3; index += 1) memory.record(call());
    // Committed rows of version 2 are in storage, not acknowledged; version 1's are buffered.
    const reading = memory.recent('fetch_rate', { version: 1, limit: 100 });
    await settle();
    control.ackGate = null;
    ack.release();
    const recent = await reading;
    expect(recent).toHaveLength(23);
    expect(new Set(recent.map((record) => record.inputHash)).size).toBe(23);
    await memory.flush();
    expect(recent).toEqual(await storedTruth(inner, 1));
    expect(await memory.recent('fetch_rate', { version: 2, limit: 100 })).toEqual(
      await storedTruth(inner, 2),
    );
  });

  it('records buffered while the seeding read runs (no write meanwhile)', async () => {
    const inner = await prefilled();
    const { storage, control } = instrumented(inner);
    const memory = open(new PerformanceMemory({ storage, batch: { maxRecords: 1_000, maxDelayMs: 60_000 } }));
    const held = gate();
    control.readGate = held.promise;
    memory.record(call());
    for (let index = 0; index < 4; index += 1) memory.record(call());
    control.readGate = null;
    held.release();
    const recent = await memory.recent('fetch_rate', { version: 1, limit: 100 });
    expect(control.reads).toHaveLength(1);
    expect(recent).toHaveLength(25);
    await memory.flush();
    expect(recent).toEqual(await storedTruth(inner, 1));
    expect(memory.statistics('fetch_rate', 1)?.calls).toBe(5);
  });

  it('leaves records dropped from the buffer out of the window, as they never reach storage', async () => {
    const inner = memoryStorage();
    const { storage, control } = instrumented(inner);
    const failing = { left: 1_000 };
    const flaky: StorageAdapter = new Proxy(storage, {
      get(target, property, receiver) {
        if (property === 'appendInvocations') {
          return async (records: readonly InvocationRecord[]) => {
            if (failing.left > 0) {
              failing.left -= 1;
              throw new Error('disk unavailable');
            }
            return target.appendInvocations(records);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const memory = open(
      new PerformanceMemory({
        storage: flaky,
        batch: { maxRecords: 10, maxDelayMs: 0 },
        maxBufferedRecords: 30,
        retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
      }),
    );
    for (let index = 0; index < 80; index += 1) memory.record(call({ latencyMs: index }));
    expect(memory.stats().dropped).toBeGreaterThan(0);
    const buffered = await memory.recent('fetch_rate', { version: 1, limit: 100 });
    failing.left = 0;
    await memory.flush();
    expect(buffered).toEqual(await storedTruth(inner, 1));
    expect(buffered).toHaveLength(memory.stats().flushed);
    expect(memory.statistics('fetch_rate', 1)?.calls).toBe(80); // the counters saw every call
    const reads = control.reads.length;
    expect(await memory.recent('fetch_rate', { version: 1, limit: 100 })).toEqual(buffered);
    expect(control.reads).toHaveLength(reads);
  });
});

describe('PerformanceMemory: answers from the window equal the storage path', () => {
  /** Random calls of two versions: out-of-order starts, equal starts, failures with and without codes. */
  function randomCalls(seed: number, count: number, base: number): RecordInput[] {
    const random = seededRandom(seed);
    let time = base;
    return Array.from({ length: count }, (_, index) => {
      time += Math.floor(random() * 3); // equal start times happen
      const late = random() < 0.2; // started a while before calls that finished first
      const success = random() > 0.25;
      const record: RecordInput = {
        toolName: 'fetch_rate',
        version: random() < 0.7 ? 1 : 2,
        startedAt: late ? time - Math.floor(random() * 40) : time,
        latencyMs: Math.round(random() * 50_000) / 100,
        success,
        inputHash: `h${seed}-${index}`,
        input: { n: index },
        output: success ? { rate: index / 3 } : undefined,
      };
      if (!success) {
        const shape = random();
        if (shape < 0.4) record.errorCode = 'TOOL_ERROR';
        if (shape > 0.2) record.errorMessage = `failure ${index}`;
      } else {
        record.outputHash = `o${index}`;
      }
      return record;
    });
  }

  const backends = {
    memoryStorage: () => memoryStorage(),
    sqlJsStorage: () => sqlJsStorage(),
  };

  for (const [backend, create] of Object.entries(backends)) {
    for (const capture of [false, true]) {
      it(`${backend}${capture ? ', inputs and outputs captured' : ''}: recent() and summary() deep-equal`, async () => {
        // Twins fed the same history and calls; one answers from its window, one reads storage.
        const options = (storage: StorageAdapter): PerformanceMemoryOptions => ({
          storage,
          batch: { maxRecords: 7, maxDelayMs: 60_000 },
          ...(capture ? { capture: { inputs: true, outputs: true } } : {}),
        });
        const history = randomCalls(1, 300, 1_700_000_000_000).map(
          ({ input: _input, output: _output, ...record }) => record as InvocationRecord,
        );
        const windowStore = instrumented(open(create()));
        const storageStore = open(create());
        await windowStore.storage.appendInvocations(history);
        await storageStore.appendInvocations(history);
        const windowed = open(new PerformanceMemory(options(windowStore.storage)));
        const direct = open(
          new PerformanceMemory({ ...options(storageStore), statistics: { recentCalls: 0 } }),
        );
        const calls = randomCalls(2, 400, 1_700_000_000_000 + 200);
        const random = seededRandom(3);
        let compared = 0;
        for (let index = 0; index < calls.length; index += 1) {
          windowed.record(calls[index] as RecordInput);
          direct.record(calls[index] as RecordInput);
          if (random() < 0.05) {
            await windowed.flush();
            await direct.flush();
          }
          if (index % 37 !== 0) continue;
          for (const version of [1, 2]) {
            for (const limit of [1, 5, 20, 40, 100]) {
              expect(await windowed.recent('fetch_rate', { version, limit })).toEqual(
                await direct.recent('fetch_rate', { version, limit }),
              );
              expect(await windowed.summary('fetch_rate', { version, window: limit })).toEqual(
                await direct.summary('fetch_rate', { version, window: limit }),
              );
              compared += 2;
            }
            const since = (calls[Math.max(0, index - 30)] as RecordInput).startedAt;
            expect(await windowed.recent('fetch_rate', { version, limit: 100, since })).toEqual(
              await direct.recent('fetch_rate', { version, limit: 100, since }),
            );
          }
        }
        expect(compared).toBeGreaterThan(100);
        // After the first read of each version, the window answered: two seeding reads in all
        // (plus any `since` reads reaching past the window).
        const unsinced = windowStore.control.reads.filter((query) => query.since === undefined);
        expect(unsinced).toHaveLength(2);
        expect(windowStore.control.aggregates).toBe(0);
      });
    }
  }

  it('after an age-based prune, as storage forgets old calls', async () => {
    const now = Date.now();
    const retention = { maxAgeMs: 60_000, pruneEveryMs: 3_600_000 };
    const old = Array.from({ length: 10 }, (_, index) => call({ startedAt: now - 600_000 + index }));
    const fresh = Array.from({ length: 10 }, (_, index) => call({ startedAt: now - 1_000 + index }));
    const windowed = open(new PerformanceMemory({ retention }));
    const direct = open(new PerformanceMemory({ retention, statistics: { recentCalls: 0 } }));
    for (const memory of [windowed, direct]) {
      for (const record of [...old, ...fresh]) memory.record(record);
      await memory.flush();
    }
    expect(await windowed.recent('fetch_rate', { version: 1, limit: 100 })).toHaveLength(20);
    await windowed.prune();
    await direct.prune();
    const after = await windowed.recent('fetch_rate', { version: 1, limit: 100 });
    expect(after).toHaveLength(10);
    expect(after).toEqual(await direct.recent('fetch_rate', { version: 1, limit: 100 }));
  });
});

describe('PerformanceMemory: the window and the store-wide bound', () => {
  it('after the store-wide bound deleted calls of a version in a window, reads equal storage again', async () => {
    const retention = { maxRecords: 15, pruneEveryMs: 3_600_000 };
    const counted = instrumented(open(memoryStorage()));
    const windowed = open(new PerformanceMemory({ storage: counted.storage, retention }));
    const direct = open(new PerformanceMemory({ retention, statistics: { recentCalls: 0 } }));
    // v1 is called first, then v2 a lot: the bound deletes the oldest inserts, v1's.
    const first = Array.from({ length: 10 }, () => call({ version: 1 }));
    const later = Array.from({ length: 12 }, () => call({ version: 2 }));
    for (const memory of [windowed, direct]) {
      for (const record of first) memory.record(record);
      await memory.flush();
      expect(await memory.recent('fetch_rate', { version: 1, limit: 20 })).toHaveLength(10);
      for (const record of later) memory.record(record);
      await memory.flush();
    }
    const readsBefore = counted.control.reads.length;
    expect(await windowed.prune()).toEqual({ deleted: 7 });
    expect(await direct.prune()).toEqual({ deleted: 7 });
    // The window forgot what it held and read storage again, once.
    const after = await windowed.recent('fetch_rate', { version: 1, limit: 20 });
    const summary = await windowed.summary('fetch_rate', { version: 1 });
    expect(counted.control.reads.length - readsBefore).toBe(1);
    expect(after).toHaveLength(3);
    expect(after).toEqual(await direct.recent('fetch_rate', { version: 1, limit: 20 }));
    expect(summary).toEqual(await direct.summary('fetch_rate', { version: 1 }));
    expect(after).toEqual(await storedTruth(counted.storage, 1));
    // A prune within the bound leaves the windows as they are.
    const readsNow = counted.control.reads.length;
    await windowed.prune();
    await windowed.recent('fetch_rate', { version: 1, limit: 20 });
    expect(counted.control.reads.length).toBe(readsNow);
  });
});

describe('PerformanceMemory: decisions read no storage after warm-up', () => {
  it('the window policy reads the window, not storage.recentInvocations/aggregateWindow', async () => {
    const { storage, control } = instrumented(open(sqlJsStorage()));
    const memory = open(new PerformanceMemory({ storage }));
    const evaluator = new Evaluator({ policy: 'window' });
    for (let index = 0; index < 30; index += 1) memory.record(call({ latencyMs: 100 + index }));
    await evaluator.evaluate(memory, 'fetch_rate', { version: 1 }); // warm-up: the version is seeded
    const readsAfterWarmUp = control.reads.length;
    const aggregatesAfterWarmUp = control.aggregates;
    const evaluations = [];
    for (let index = 0; index < 50; index += 1) {
      memory.record(call({ success: index % 2 === 0, latencyMs: 100 + index }));
      if (index % 5 === 4) evaluations.push(await evaluator.evaluate(memory, 'fetch_rate', { version: 1 }));
      if (index === 20) await memory.flush();
    }
    expect(control.reads).toHaveLength(readsAfterWarmUp);
    expect(control.aggregates).toBe(aggregatesAfterWarmUp);
    expect(readsAfterWarmUp).toBe(1);
    // The evaluations saw the calls: half of the last 20 failed.
    expect(evaluations.at(-1)?.summary).toMatchObject({ invocations: 20, successes: 10 });
    expect(evaluations.at(-1)?.baseline?.invocations).toBe(20);
  });

  it('a default (sequential) Evaluator reads its 100-call history and counters from memory alone', async () => {
    const { storage, control } = instrumented(open(sqlJsStorage()));
    const memory = open(new PerformanceMemory({ storage }));
    const evaluator = new Evaluator();
    for (let index = 0; index < 150; index += 1) memory.record(call({ latencyMs: 100 + (index % 7) }));
    await evaluator.evaluate(memory, 'fetch_rate', { version: 1 }); // warm-up: the version is seeded
    const readsAfterWarmUp = control.reads.length;
    let last: Awaited<ReturnType<Evaluator['evaluate']>> | undefined;
    for (let index = 0; index < 50; index += 1) {
      memory.record(call({ success: index % 10 !== 0, latencyMs: 100 }));
      last = await evaluator.evaluate(memory, 'fetch_rate', { version: 1 });
      if (index === 20) await memory.flush();
    }
    expect(control.reads).toHaveLength(readsAfterWarmUp);
    expect(readsAfterWarmUp).toBeLessThanOrEqual(1);
    // The success-rate test counted every call of this process; the change tests read 100.
    expect(last?.evidence.find((entry) => entry.test === 'success-rate')).toMatchObject({
      calls: 200,
      events: 5,
    });
    expect(last?.evidence.find((entry) => entry.test === 'failure-change')).toMatchObject({ calls: 100 });
  });
});

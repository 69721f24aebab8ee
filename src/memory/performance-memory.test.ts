import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson, hashValue } from '../core/hash-value.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { InvocationRecord } from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { expectAggregateOf } from '../testing/expect-aggregate.ts';
import { seededRandom } from '../testing/reference-math.ts';
import { MemoryFlushError } from './memory-errors.ts';
import type { MemoryDroppedEvent, MemoryStorageErrorEvent } from './memory-events.ts';
import { PerformanceMemory, type RecordInput } from './performance-memory.ts';

const memories: PerformanceMemory[] = [];
afterEach(async () => {
  for (const memory of memories.splice(0)) await memory.close().catch(() => {});
});

function track(memory: PerformanceMemory): PerformanceMemory {
  memories.push(memory);
  return memory;
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
    inputHash: 'h',
    ...overrides,
  };
}

/** A real memoryStorage whose appendInvocations can be made to fail or to acknowledge late. */
function controllableStorage(inner: StorageAdapter = memoryStorage()) {
  const control = {
    failuresLeft: 0,
    appendCalls: [] as number[],
    /** When set, rows are committed at once but the promise resolves only when this resolves. */
    ackGate: null as Promise<void> | null,
  };
  const storage: StorageAdapter = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'appendInvocations') {
        return async (records: readonly InvocationRecord[]) => {
          control.appendCalls.push(records.length);
          if (control.failuresLeft > 0) {
            control.failuresLeft -= 1;
            throw new Error('disk unavailable');
          }
          await target.appendInvocations(records);
          if (control.ackGate) await control.ackGate;
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
  return { storage, control };
}

describe('PerformanceMemory', () => {
  it('sees buffered records before they are written (read-your-writes) and keeps versions apart', async () => {
    const { storage, control } = controllableStorage();
    const memory = track(new PerformanceMemory({ storage, batch: { maxRecords: 1000, maxDelayMs: 60_000 } }));
    for (let i = 0; i < 6; i += 1)
      memory.record(call({ version: 1, success: false, errorMessage: `v1 fail ${i}` }));
    for (let i = 0; i < 4; i += 1) memory.record(call({ version: 2, latencyMs: 50 + i }));

    const v2 = await memory.summary('fetch_rate', { version: 2, window: 20 });
    expect(control.appendCalls).toEqual([]); // nothing written yet
    expect(v2).toMatchObject({ version: 2, invocations: 4, successes: 4, failures: 0, successRate: 1 });
    expect(v2.latencyMs).toEqual({ avg: 51.5, min: 50, max: 53, p50: 51, p95: 53 });
    expect(v2.recentErrors).toEqual([]);

    const v1 = await memory.summary('fetch_rate', { version: 1 });
    expect(v1).toMatchObject({ invocations: 6, successes: 0, successRate: 0 });
    expect(v1.recentErrors).toEqual(['v1 fail 5', 'v1 fail 4', 'v1 fail 3', 'v1 fail 2', 'v1 fail 1']);

    const all = await memory.summary('fetch_rate', { window: 5 });
    expect(all.version).toBeNull();
    expect(all.invocations).toBe(5);
  });

  it('computes the same summary as an independent calculation over random flushed and buffered data', async () => {
    const storage = memoryStorage();
    const memory = track(
      new PerformanceMemory({ storage, batch: { maxRecords: 10_000, maxDelayMs: 60_000 } }),
    );
    const random = seededRandom(42);
    const v3: RecordInput[] = [];
    for (let i = 0; i < 1_234; i += 1) {
      const version = 1 + Math.floor(random() * 3);
      const record = call({
        version,
        latencyMs: Math.round(random() * 5_000) / 10,
        success: random() > 0.3,
      });
      if (!record.success) record.errorMessage = `error ${i}`;
      memory.record(record);
      if (version === 3) v3.push(record);
      if (i === 800) await memory.flush();
    }
    // Part of the data is written, part is still buffered.
    expect(memory.stats().buffered).toBeGreaterThan(0);
    expect(memory.stats().flushed).toBeGreaterThan(0);

    for (const window of [1, 20, 100, 1_000]) {
      const expected = v3.slice(-window);
      const summary = await memory.summary('fetch_rate', { version: 3, window });
      expectAggregateOf(summary, [...expected].reverse(), 9);
    }
    await memory.flush();
    const afterFlush = await memory.summary('fetch_rate', { version: 3, window: 1_000 });
    expect(afterFlush.invocations).toBe(Math.min(1_000, v3.length));
  });

  it('writes in batches of at most maxRecords, and after maxDelayMs for a partial batch', async () => {
    const { storage, control } = controllableStorage();
    const memory = track(new PerformanceMemory({ storage, batch: { maxRecords: 100, maxDelayMs: 40 } }));
    for (let i = 0; i < 30; i += 1) memory.record(call());
    await new Promise((resolve) => setImmediate(resolve));
    expect(control.appendCalls).toEqual([]); // a partial batch waits for maxDelayMs
    await expect.poll(() => control.appendCalls, { interval: 5 }).toEqual([30]);
    // Full batches are written at once; the partial rest waits for maxDelayMs again.
    for (let i = 0; i < 250; i += 1) memory.record(call());
    await new Promise((resolve) => setImmediate(resolve));
    expect(control.appendCalls).toEqual([30, 100, 100]);
    await expect.poll(() => control.appendCalls, { interval: 5 }).toEqual([30, 100, 100, 50]);
    expect(memory.stats()).toMatchObject({ recorded: 280, flushed: 280, buffered: 0 });
    expect((await storage.recentInvocations({ toolName: 'fetch_rate', limit: 1_000 })).length).toBe(280);
  });

  it('keeps records when storage fails, reports each failure, retries, and never throws into record()', async () => {
    const { storage, control } = controllableStorage();
    const memory = track(
      new PerformanceMemory({
        storage,
        batch: { maxRecords: 10, maxDelayMs: 0 },
        retry: { initialDelayMs: 5, maxDelayMs: 20 },
      }),
    );
    const errors: MemoryStorageErrorEvent[] = [];
    memory.on('storage:error', (event) => errors.push(event));
    control.failuresLeft = 3;
    for (let i = 0; i < 25; i += 1) expect(() => memory.record(call())).not.toThrow();
    // Visible while storage is down.
    expect((await memory.summary('fetch_rate', { window: 100 })).invocations).toBe(25);
    await expect.poll(() => memory.stats().flushed, { timeout: 2_000 }).toBe(25);
    expect(errors.map((event) => event.attempt)).toEqual([1, 2, 3]);
    expect(
      errors.every(
        (event) => event.operation === 'flush' && (event.error as Error).message === 'disk unavailable',
      ),
    ).toBe(true);
    expect(errors[0]?.retryInMs).toBeGreaterThanOrEqual(2);
    expect(memory.stats()).toMatchObject({ flushFailures: 3, dropped: 0, buffered: 0 });
    const stored = await storage.recentInvocations({ toolName: 'fetch_rate', limit: 100 });
    expect(stored).toHaveLength(25);
    // Order kept across the failed attempts: ids increase with startedAt.
    const ascending = [...stored].reverse();
    expect(ascending.map((record) => record.startedAt)).toEqual(
      [...ascending.map((r) => r.startedAt)].sort(),
    );
  });

  it('flush() rejects with MemoryFlushError while storage fails, and a later flush() saves everything', async () => {
    const { storage, control } = controllableStorage();
    const memory = track(new PerformanceMemory({ storage, batch: { maxRecords: 50, maxDelayMs: 60_000 } }));
    for (let i = 0; i < 7; i += 1) memory.record(call());
    control.failuresLeft = 1;
    const error = await memory.flush().catch((caught: unknown) => caught);
    expect(MemoryFlushError.isInstance(error)).toBe(true);
    expect((error as MemoryFlushError).buffered).toBe(7);
    expect((error as MemoryFlushError).message).toMatch(/kept in memory/);
    expect(((error as MemoryFlushError).cause as Error).message).toBe('disk unavailable');
    await memory.flush();
    expect(await storage.recentInvocations({ toolName: 'fetch_rate', limit: 100 })).toHaveLength(7);
  });

  it('drops the oldest records past maxBufferedRecords, counts them, and says so', async () => {
    const { storage, control } = controllableStorage();
    const memory = track(
      new PerformanceMemory({
        storage,
        batch: { maxRecords: 10, maxDelayMs: 0 },
        maxBufferedRecords: 100,
        retry: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
      }),
    );
    const dropped: MemoryDroppedEvent[] = [];
    memory.on('memory:dropped', (event) => dropped.push(event));
    control.failuresLeft = 1_000;
    const records: RecordInput[] = [];
    for (let i = 0; i < 150; i += 1) {
      const record = call({ latencyMs: i });
      records.push(record);
      memory.record(record);
    }
    const stats = memory.stats();
    expect(stats.buffered).toBeLessThanOrEqual(100);
    expect(stats.dropped).toBe(150 - stats.buffered);
    expect(dropped.at(-1)?.totalDropped).toBe(stats.dropped);
    expect(dropped.every((event) => event.maxBufferedRecords === 100)).toBe(true);
    control.failuresLeft = 0;
    await memory.flush();
    const stored = await storage.recentInvocations({ toolName: 'fetch_rate', limit: 1_000 });
    // What survived: the batch that was being written when the outage began (it cannot be
    // dropped mid-write) and the newest records; the oldest buffered ones were dropped.
    expect(stored).toHaveLength(100);
    expect(stored.map((record) => record.latencyMs).sort((a, b) => a - b)).toEqual([
      ...records.slice(0, 10).map((record) => record.latencyMs),
      ...records.slice(-90).map((record) => record.latencyMs),
    ]);
  });

  it('never counts a record twice when a write commits while a summary reads', async () => {
    const { storage, control } = controllableStorage();
    const memory = track(new PerformanceMemory({ storage, batch: { maxRecords: 5, maxDelayMs: 0 } }));
    let release: () => void = () => {};
    control.ackGate = new Promise((resolve) => {
      release = resolve;
    });
    for (let i = 0; i < 5; i += 1) memory.record(call());
    await new Promise((resolve) => setImmediate(resolve));
    // The batch is committed in storage but not yet acknowledged.
    expect((await storage.recentInvocations({ toolName: 'fetch_rate', limit: 100 })).length).toBe(5);
    const summaries = [
      memory.summary('fetch_rate', { window: 100 }),
      memory.recent('fetch_rate', { limit: 100 }),
    ];
    for (let i = 0; i < 3; i += 1) memory.record(call());
    setTimeout(() => {
      control.ackGate = null;
      release();
    }, 20);
    const [summary, recent] = await Promise.all(summaries);
    expect((summary as { invocations: number }).invocations).toBe(8);
    expect((recent as unknown[]).length).toBe(8);
    await memory.flush();
    expect((await memory.summary('fetch_rate', { window: 100 })).invocations).toBe(8);
  });

  it('refuses invalid records with an event naming the field, without throwing', () => {
    const memory = track(new PerformanceMemory());
    const reasons: string[] = [];
    memory.on('memory:record-rejected', ({ reason }) => reasons.push(reason));
    memory.record(call({ version: 0 }));
    memory.record(call({ latencyMs: Number.NaN }));
    memory.record({ ...call(), toolName: '' });
    memory.record(call({ success: 'yes' as unknown as boolean }));
    expect(reasons).toEqual([
      'version must be a positive integer, received 0',
      'latencyMs must be a finite number ≥ 0, received NaN',
      'toolName must be a non-empty string, received ""',
      'success must be true or false, received yes',
    ]);
    expect(memory.stats()).toMatchObject({ rejected: 4, recorded: 0 });
  });

  it('stores inputs and outputs only when asked to, redacted, as detached JSON', async () => {
    const plain = track(new PerformanceMemory());
    plain.record(call({ input: { card: '4111' }, output: 3.5 }));
    await plain.flush();
    const [withoutCapture] = await plain.storage.recentInvocations({ toolName: 'fetch_rate', limit: 1 });
    expect(withoutCapture?.input).toBeUndefined();
    expect(withoutCapture?.output).toBeUndefined();

    const capturing = track(
      new PerformanceMemory({
        capture: {
          inputs: true,
          outputs: true,
          redact: (value, { kind }) =>
            kind === 'input' ? { ...(value as Record<string, unknown>), card: '[redacted]' } : value,
        },
      }),
    );
    const input = { card: '4111', amount: 5 };
    capturing.record(call({ input, output: { rate: 3.5 } }));
    input.amount = 999; // later mutation by the caller must not reach storage
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    capturing.record(call({ input: cyclic, output: 1n as unknown }));
    await capturing.flush();
    const [second, first] = await capturing.storage.recentInvocations({ toolName: 'fetch_rate', limit: 2 });
    expect(first?.input).toEqual({ card: '[redacted]', amount: 5 });
    expect(first?.output).toEqual({ rate: 3.5 });
    expect(second?.input).toBeUndefined(); // not JSON: the record is kept without it
    expect(second?.output).toBeUndefined();
  });

  it('prunes by the retention policy after writes', async () => {
    const memory = track(
      new PerformanceMemory({
        batch: { maxRecords: 500, maxDelayMs: 0 },
        retention: { maxRecordsPerVersion: 5, pruneEveryMs: 0 },
      }),
    );
    const pruned: number[] = [];
    memory.on('memory:pruned', ({ deleted }) => pruned.push(deleted));
    for (let i = 0; i < 12; i += 1) memory.record(call({ version: 1 + (i % 2) }));
    await memory.flush();
    await expect.poll(() => pruned.reduce((a, b) => a + b, 0)).toBe(2);
    expect(
      await memory.storage.recentInvocations({ toolName: 'fetch_rate', version: 1, limit: 100 }),
    ).toHaveLength(5);
    expect(
      await memory.storage.recentInvocations({ toolName: 'fetch_rate', version: 2, limit: 100 }),
    ).toHaveLength(5);
  });

  it('bounds the whole store with retention.maxRecords, keeping pruned calls as history', async () => {
    const memory = track(
      new PerformanceMemory({
        batch: { maxRecords: 500, maxDelayMs: 0 },
        retention: { maxRecordsPerVersion: 100, maxRecords: 10, pruneEveryMs: 3_600_000 },
      }),
    );
    expect(memory.options.retention.maxRecords).toBe(10);
    // Four tools, each under the per-version bound: only the store-wide one applies.
    for (let i = 0; i < 24; i += 1)
      memory.record(call({ toolName: `tool_${i % 4}`, success: i % 3 !== 0, errorCode: 'TOOL_ERROR' }));
    await memory.flush();
    expect(await memory.prune()).toEqual({ deleted: 14 });
    let stored = 0;
    for (let tool = 0; tool < 4; tool += 1)
      stored += (await memory.storage.recentInvocations({ toolName: `tool_${tool}`, limit: 100 })).length;
    expect(stored).toBe(10);
    // The oldest calls went: tool_0 keeps its last ones only, and its history still has all 6.
    const history =
      (await memory.storage.invocationHistory?.({ toolName: 'tool_0', bucketMs: 3_600_000 })) ?? [];
    expect(history.reduce((sum, bucket) => sum + bucket.calls, 0)).toBe(6);
    expect(history.reduce((sum, bucket) => sum + bucket.rolledUpCalls, 0)).toBe(4);
    expect(history.reduce((sum, bucket) => sum + (bucket.errorCodes.TOOL_ERROR ?? 0), 0)).toBe(2); // calls 0 and 12
    expect(new PerformanceMemory().options.retention.maxRecords).toBe(1_000_000);
  });

  it('prunes after a tenth of retention.maxRecords (at least a batch) was written, whatever pruneEveryMs says', async () => {
    const memory = track(
      new PerformanceMemory({
        batch: { maxRecords: 50, maxDelayMs: 0 },
        retention: { maxRecordsPerVersion: 100_000, maxRecords: 1000, pruneEveryMs: 86_400_000 },
      }),
    );
    let prunes = 0;
    memory.on('memory:pruned', () => {
      prunes += 1;
    });
    let stored = 0;
    for (let round = 0; round < 30; round += 1) {
      for (let i = 0; i < 100; i += 1) memory.record(call({ startedAt: round * 100 + i }));
      await memory.flush();
      stored = (await memory.storage.recentInvocations({ toolName: 'fetch_rate', limit: 1_000_000 })).length;
      // The bound, plus at most the tenth written since the last prune (and one batch in flight).
      expect(stored).toBeLessThanOrEqual(1000 + 100 + 50);
    }
    expect(prunes).toBeGreaterThanOrEqual(15);
    expect(stored).toBeGreaterThanOrEqual(1000);
  });

  it('prunes under continuous load, while the buffer never empties', async () => {
    // Each write lets the app record a new batch before it resolves, so the buffer is never
    // empty when a batch completes: retention must not wait for a quiet moment.
    const store = memoryStorage();
    let rounds = 0;
    let memory: PerformanceMemory | undefined;
    const storage: StorageAdapter = {
      ...store,
      async appendInvocations(records) {
        await store.appendInvocations(records);
        rounds += 1;
        if (rounds < 60) for (let i = 0; i < 10; i += 1) memory?.record(call({ startedAt: rounds * 10 + i }));
      },
    };
    memory = track(
      new PerformanceMemory({
        storage,
        batch: { maxRecords: 10, maxDelayMs: 0 },
        retention: { maxRecordsPerVersion: 100_000, maxRecords: 100, pruneEveryMs: 86_400_000 },
      }),
    );
    let prunesWhileLoaded = 0;
    memory.on('memory:pruned', () => {
      if (rounds < 60) prunesWhileLoaded += 1;
    });
    for (let i = 0; i < 10; i += 1) memory.record(call({ startedAt: i }));
    await memory.flush();
    expect(rounds).toBe(60);
    expect(prunesWhileLoaded).toBeGreaterThanOrEqual(3);
  });

  it('close() flushes, closes the storage it created, and refuses later records', async () => {
    const memory = new PerformanceMemory({ batch: { maxRecords: 100, maxDelayMs: 60_000 } });
    memory.record(call());
    const storage = memory.storage;
    await memory.close();
    expect(memory.stats()).toMatchObject({ flushed: 1, buffered: 0 });
    const reasons: string[] = [];
    memory.on('memory:record-rejected', ({ reason }) => reasons.push(reason));
    memory.record(call());
    expect(reasons[0]).toMatch(/closed/);
    expect(storage.name).toBe('memory');
  });

  it('validates options at construction, naming the field and value', () => {
    const attempt = (options: ConstructorParameters<typeof PerformanceMemory>[0]) => {
      try {
        new PerformanceMemory(options);
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const badBatch = attempt({ batch: { maxRecords: 0 } }) as InvalidOptionError;
    expect(InvalidOptionError.isInstance(badBatch)).toBe(true);
    expect(badBatch.field).toBe('batch.maxRecords');
    expect(badBatch.message).toContain('received 0');
    expect((attempt({ retention: { maxRecordsPerVersion: 1.5 } }) as InvalidOptionError).field).toBe(
      'retention.maxRecordsPerVersion',
    );
    const badBound = attempt({ retention: { maxRecords: 0 } }) as InvalidOptionError;
    expect(badBound.field).toBe('retention.maxRecords');
    expect(badBound.message).toContain('received 0');
    expect((attempt({ capture: { redact: 'x' as never } }) as InvalidOptionError).field).toBe(
      'capture.redact',
    );
    expect((attempt({ maxBufferedRecords: 10, batch: { maxRecords: 20 } }) as InvalidOptionError).field).toBe(
      'maxBufferedRecords',
    );
    expect(
      (attempt({ retry: { initialDelayMs: 100, maxDelayMs: 50 } }) as InvalidOptionError).message,
    ).toContain('retry.maxDelayMs');
  });

  it('rejects bad read arguments with an InvalidOptionError naming them', async () => {
    const memory = track(new PerformanceMemory());
    const rejection = (read: Promise<unknown>) =>
      read.then(
        () => {
          throw new Error('expected the read to be refused');
        },
        (error: unknown) => {
          expect(InvalidOptionError.isInstance(error)).toBe(true);
          const invalid = error as InvalidOptionError;
          return [invalid.field, invalid.value];
        },
      );
    expect(await rejection(memory.summary('t', { window: 0 }))).toEqual(['window', 0]);
    expect(await rejection(memory.recent('t', { limit: 1.5 }))).toEqual(['limit', 1.5]);
    expect(await rejection(memory.summary('t', { version: -1 }))).toEqual(['version', -1]);
    expect(await rejection(memory.recent('t', { since: Number.NaN }))).toEqual(['since', Number.NaN]);
    expect(await rejection(memory.summary(''))).toEqual(['toolName', '']);
    await expect(memory.summary('t', { window: 0 })).rejects.toThrow(
      'Invalid option "window": expected an integer between 1 and 1000000, received 0.',
    );
  });
});

describe('hashValue', () => {
  it('ignores key order and distinguishes different values', () => {
    expect(hashValue({ from: 'USD', to: 'EUR', nested: { b: 1, a: [1, 2] } })).toBe(
      hashValue({ nested: { a: [1, 2], b: 1 }, to: 'EUR', from: 'USD' }),
    );
    expect(hashValue({ from: 'USD' })).not.toBe(hashValue({ from: 'EUR' }));
    expect(hashValue([1, 2])).not.toBe(hashValue([2, 1]));
    expect(hashValue({ a: 1 })).toMatch(/^[0-9a-f]{16}$/);
    expect(canonicalJson({ b: undefined, a: 1 })).toBe('{"a":1}');
  });

  it('is the first 16 hex digits of the SHA-256 of the canonical JSON (stable across releases)', () => {
    for (const value of [{ to: 'EUR', from: 'USD' }, [1, 'two', null], 'text', 3.5, undefined]) {
      const text = canonicalJson(value) ?? 'undefined';
      expect(hashValue(value)).toBe(createHash('sha256').update(text).digest('hex').slice(0, 16));
    }
    expect(hashValue({ a: 1 })).toBe('015abd7f5cc57a2d');
  });

  it('throws on cycles instead of hashing something wrong', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => hashValue(cyclic)).toThrow(/cycle/);
    const shared = { x: 1 };
    expect(() => hashValue({ a: shared, b: shared })).not.toThrow();
  });
});

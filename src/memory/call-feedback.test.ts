import { describe, expect, it } from 'vitest';
import { memoryStorage } from '../storage/memory-storage.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import { PerformanceMemory } from './performance-memory.ts';

const call = (startedAt: number, inputHash: string, callId?: string) => ({
  toolName: 't',
  version: 1,
  startedAt,
  latencyMs: 1,
  success: true,
  inputHash,
  ...(callId === undefined ? {} : { callId }),
});

describe('call ids and feedback in the memory window', () => {
  it('keeps call ids in the window, marks feedback by id or newest input, and counts each call once', async () => {
    const memory = new PerformanceMemory({ storage: memoryStorage() });
    memory.record(call(1, 'h1', 'a'));
    memory.record(call(2, 'h2', 'b'));
    memory.record(call(3, 'h1', 'c'));
    const before = memory.statistics('t', 1);
    expect(before?.recent.map((entry) => entry.callId)).toEqual(['c', 'b', 'a']);
    expect(before?.feedback).toEqual({ correct: 0, wrong: 0 });

    expect(memory.findCall('t', 1, { callId: 'b' })).toMatchObject({ startedAt: 2, inputHash: 'h2' });
    expect(memory.giveFeedback('t', 1, { callId: 'a' }, false)).toMatchObject({ startedAt: 1 });
    // By input: the newest call with that hash.
    expect(memory.giveFeedback('t', 1, { inputHash: 'h1' }, false)).toMatchObject({ startedAt: 3 });
    expect(memory.giveFeedback('t', 1, { inputHash: 'h1' }, true)).toMatchObject({ startedAt: 3 });
    expect(memory.giveFeedback('t', 1, { callId: 'nope' }, false)).toBeUndefined();
    const after = memory.statistics('t', 1);
    expect(after?.recent.map((entry) => [entry.callId, entry.feedback])).toEqual([
      ['c', 'correct'],
      ['b', undefined],
      ['a', 'wrong'],
    ]);
    expect(after?.feedback).toEqual({ correct: 1, wrong: 2 });
    // Snapshots are frozen and not changed afterwards.
    expect(Object.isFrozen(after?.recent[0])).toBe(true);
    expect(before?.recent[0]?.feedback).toBeUndefined();
    // Neither the id nor the feedback goes to storage.
    await memory.flush();
    const stored = await memory.storage.recentInvocations({ toolName: 't', limit: 10 });
    expect(
      stored.map((record) => Object.keys(record).filter((key) => key === 'callId' || key === 'feedback')),
    ).toEqual([[], [], []]);
    await memory.close();
  });

  it('refuses a callId that is not a string, and writes a record with one through the storage thread', async () => {
    const storage = sqlJsStorage();
    const memory = new PerformanceMemory({ storage });
    const rejected: string[] = [];
    memory.on('memory:record-rejected', ({ reason }) => rejected.push(reason));
    memory.record({ ...call(1, 'h'), callId: 7 as never });
    expect(rejected).toEqual(['callId must be a string, received number']);
    memory.record(call(2, 'h', 't@1:x'));
    await memory.flush();
    expect(await storage.recentInvocations({ toolName: 't', limit: 5 })).toHaveLength(1);
    await memory.close();
    await storage.close();
  });
});

import { describe, expect, it } from 'vitest';
import { runStorageContract } from '../testing/index.ts';
import { memoryStorage } from './memory-storage.ts';
import type { StoredInvocation } from './records.ts';
import { StorageClosedError } from './storage-errors.ts';

runStorageContract('memoryStorage()', () => memoryStorage());

describe('memoryStorage()', () => {
  it('copies JSON values in and out, so callers cannot change stored data by mutation', async () => {
    const storage = memoryStorage();
    const input = { list: [1, 2] };
    await storage.appendInvocations([
      { toolName: 't', version: 1, startedAt: 1, latencyMs: 1, success: true, inputHash: 'h', input },
    ]);
    input.list.push(3);
    const [first] = await storage.recentInvocations({ toolName: 't', limit: 1 });
    expect(first?.input).toEqual({ list: [1, 2] });
    ((first as StoredInvocation).input as { list: number[] }).list.push(4);
    const [again] = await storage.recentInvocations({ toolName: 't', limit: 1 });
    expect(again?.input).toEqual({ list: [1, 2] });
  });

  it('rejects every call after close() with StorageClosedError', async () => {
    const storage = memoryStorage();
    await storage.close();
    const error = await storage.listTools().catch((caught: unknown) => caught);
    expect(StorageClosedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('memory storage is closed');
  });
});

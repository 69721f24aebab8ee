import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PerformanceMemory, type RecordInput } from '../src/memory/index.ts';
import { nodeSqliteStorage } from '../src/storage/sqlite/node-sqlite-storage.ts';
import { sqlJsStorage } from '../src/storage/sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../src/storage/storage-adapter.ts';

const folder = mkdtempSync(join(tmpdir(), 'sia-memory-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const adapters: Array<[string, (path: string) => StorageAdapter]> = [
  ['sql.js file', (path) => sqlJsStorage({ path, flushIntervalMs: 0 })],
  ['node:sqlite file', (path) => nodeSqliteStorage({ path })],
];

describe.each(adapters)('PerformanceMemory on %s', (label, open) => {
  it('keeps every flushed record across a restart, with the same per-version summaries', async () => {
    const path = join(folder, `${label.replace(/\W/g, '-')}.sqlite`);
    const records: RecordInput[] = [];
    for (let i = 0; i < 1_500; i += 1) {
      records.push({
        toolName: i % 3 === 0 ? 'convert_currency' : 'fetch_exchange_rate',
        version: 1 + (i % 2),
        startedAt: 1_700_000_000_000 + i * 1_000,
        latencyMs: 20 + ((i * 37) % 900),
        success: i % 5 !== 0,
        ...(i % 5 === 0 ? { errorCode: 'TOOL_ERROR', errorMessage: `HTTP 429 #${i}` } : {}),
        inputHash: `in-${i % 50}`,
      });
    }

    const firstStorage = open(path);
    const first = new PerformanceMemory({
      storage: firstStorage,
      batch: { maxRecords: 200, maxDelayMs: 10 },
    });
    for (const record of records) first.record(record);
    const before = await first.summary('fetch_exchange_rate', { version: 2, window: 100 });
    await first.close();
    await firstStorage.close();

    const secondStorage = open(path);
    const second = new PerformanceMemory({ storage: secondStorage });
    const after = await second.summary('fetch_exchange_rate', { version: 2, window: 100 });
    expect(after).toEqual(before);
    expect(after.invocations).toBe(100);
    const versionTwo = records.filter((r) => r.toolName === 'fetch_exchange_rate' && r.version === 2);
    expect(after.successes).toBe(versionTwo.slice(-100).filter((r) => r.success).length);
    const all = await second.recent('convert_currency', { limit: 10_000 });
    expect(all).toHaveLength(500);
    expect(all[0]?.startedAt).toBe(
      records.filter((r) => r.toolName === 'convert_currency').at(-1)?.startedAt,
    );
    await second.close();
    await secondStorage.close();
  });
});

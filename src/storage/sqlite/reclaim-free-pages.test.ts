import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { InvocationRecord } from '../records.ts';
import type { StorageAdapter } from '../storage-adapter.ts';
import { loadSqlJs } from './load-sql-js.ts';
import { migrate, migrations } from './migrations.ts';
import { nodeSqliteStorage } from './node-sqlite-storage.ts';
import { sqlJsDriver } from './sql-js-driver.ts';
import { sqlJsStorage } from './sql-js-storage.ts';

const directory = mkdtempSync(join(tmpdir(), 'sia-reclaim-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
const freshPath = () => join(directory, `db-${++files}.sqlite`);

const ROWS = 12_000;
const now = Date.UTC(2025, 0, 10, 12);

/** Calls of 3 tools with a captured input, so each row takes a few hundred bytes. */
function calls(count: number, offset = 0): InvocationRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    toolName: `tool_${index % 3}`,
    version: 1,
    startedAt: now - 3_600_000 + offset + index,
    latencyMs: (index % 50) + 0.5,
    success: index % 9 !== 0,
    inputHash: `hash-${offset + index}`,
    input: { query: `q${index}`.padEnd(200, '.') },
  }));
}

async function fill(storage: StorageAdapter): Promise<void> {
  for (let start = 0; start < ROWS; start += 2_000) await storage.appendInvocations(calls(2_000, start));
}

async function historyCalls(storage: StorageAdapter): Promise<number> {
  let total = 0;
  for (const toolName of ['tool_0', 'tool_1', 'tool_2'])
    for (const bucket of (await storage.invocationHistory?.({ toolName, bucketMs: 3_600_000 })) ?? [])
      total += bucket.calls;
  return total;
}

/** The file header's auto-vacuum fields (offsets 52 and 64): none, full or incremental. */
function autoVacuumOf(path: string): 'none' | 'full' | 'incremental' {
  const header = Buffer.alloc(68);
  const descriptor = openSync(path, 'r');
  try {
    readSync(descriptor, header, 0, 68, 0);
  } finally {
    closeSync(descriptor);
  }
  if (header.readUInt32BE(52) === 0) return 'none';
  return header.readUInt32BE(64) === 0 ? 'full' : 'incremental';
}

describe('files shrink after a prune', () => {
  it('sql.js: a file written after pruning most rows is smaller, and keeps every call as history', async () => {
    const path = freshPath();
    const storage = sqlJsStorage({ path, flushIntervalMs: 0 });
    await fill(storage);
    await storage.flush?.();
    const full = statSync(path).size;
    expect(autoVacuumOf(path)).toBe('incremental'); // a new database is created with it
    expect(await storage.pruneInvocations({ maxRecords: 1_000, now })).toEqual({ deleted: ROWS - 1_000 });
    await storage.flush?.();
    const pruned = statSync(path).size;
    expect(pruned).toBeLessThan(full / 4);
    expect(await historyCalls(storage)).toBe(ROWS);
    await storage.close();
    // The smaller file is a sound database with the kept rows.
    const SQL = await loadSqlJs();
    const database = new SQL.Database(readFileSync(path));
    expect(database.exec('PRAGMA integrity_check')[0]?.values).toEqual([['ok']]);
    expect(database.exec('SELECT count(*) FROM sia_invocations')[0]?.values).toEqual([[1_000]]);
    database.close();
  });

  it('node:sqlite: the file is smaller once the WAL is checkpointed (at close)', async () => {
    const path = freshPath();
    const writer = nodeSqliteStorage({ path });
    await fill(writer);
    await writer.close();
    const full = statSync(path).size;
    const pruner = nodeSqliteStorage({ path });
    expect(await pruner.pruneInvocations({ maxRecordsPerVersion: 300, now })).toEqual({
      deleted: ROWS - 900,
    });
    expect(await historyCalls(pruner)).toBe(ROWS);
    await pruner.close();
    expect(statSync(path).size).toBeLessThan(full / 4);
    expect(autoVacuumOf(path)).toBe('incremental');
  });

  it('converts a file of an older release once, when a prune frees at least a quarter of it', async () => {
    // A schema-1 file as the previous release wrote it: no auto-vacuum.
    const path = freshPath();
    const SQL = await loadSqlJs();
    const driver = sqlJsDriver(new SQL.Database());
    migrate(driver, path, [migrations[0] as (typeof migrations)[number]]);
    driver.exec('PRAGMA auto_vacuum = NONE'); // what an older release's file has
    driver.exec('VACUUM');
    writeFileSync(path, driver.export());
    driver.close();
    expect(autoVacuumOf(path)).toBe('none');

    const storage = sqlJsStorage({ path, flushIntervalMs: 0 });
    await fill(storage);
    await storage.flush?.();
    const full = statSync(path).size;
    // A small prune leaves the file as it is (converting costs a copy of the whole file).
    await storage.pruneInvocations({ maxRecords: ROWS - 500, now });
    await storage.flush?.();
    expect(autoVacuumOf(path)).toBe('none');
    // A large one converts it, and the file shrinks.
    await storage.pruneInvocations({ maxRecords: 1_000, now });
    await storage.flush?.();
    expect(autoVacuumOf(path)).toBe('incremental');
    expect(statSync(path).size).toBeLessThan(full / 4);
    expect(await historyCalls(storage)).toBe(ROWS);
    // Later prunes take the incremental path.
    await storage.appendInvocations(calls(4_000, ROWS));
    await storage.flush?.();
    const grown = statSync(path).size;
    await storage.pruneInvocations({ maxRecords: 500, now });
    await storage.flush?.();
    expect(statSync(path).size).toBeLessThan(grown / 2);
    await storage.close();
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../core/invalid-option-error.ts';
import { runStorageContract } from '../../testing/index.ts';
import type { NewToolVersion } from '../records.ts';
import { StorageClosedError, StorageCorruptError, StorageUnavailableError } from '../storage-errors.ts';
import { loadNodeSqlite } from './node-sqlite-driver.ts';
import { nodeSqliteStorage } from './node-sqlite-storage.ts';

const directory = mkdtempSync(join(tmpdir(), 'sia-node-sqlite-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
const freshPath = () => {
  files += 1;
  return join(directory, `db-${files}.db`);
};

runStorageContract('nodeSqliteStorage({ path })', () => nodeSqliteStorage({ path: freshPath() }));

const firstVersion: NewToolVersion = {
  source: 'function run(input) { return input; }',
  inputSchema: { type: 'object' },
  capabilities: { network: [] },
  parentVersion: null,
  reason: 'first',
  author: 'human',
};

describe('nodeSqliteStorage()', () => {
  it('is durable per transaction in WAL mode: a second connection sees every committed write at once', async () => {
    const path = freshPath();
    const writer = nodeSqliteStorage({ path });
    await writer.createTool({ name: 'add', description: 'Adds', firstVersion });
    await writer.appendInvocations([
      { toolName: 'add', version: 1, startedAt: 1, latencyMs: 3, success: true, inputHash: 'h' },
    ]);
    const { DatabaseSync } = await loadNodeSqlite();
    const reader = new DatabaseSync(path);
    try {
      expect(reader.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
      expect(reader.prepare('SELECT count(*) AS n FROM sia_invocations').get()).toEqual({ n: 1 });
      expect(reader.prepare("SELECT value FROM sia_meta WHERE key = 'schema_version'").get()).toEqual({
        value: '4',
      });
    } finally {
      reader.close();
      await writer.close();
    }
  });

  it('keeps everything across close and reopen (creating missing folders); migrations re-run as a no-op', async () => {
    const path = join(freshPath(), 'nested', 'agent.db');
    const first = nodeSqliteStorage({ path });
    await first.createTool({ name: 'add', description: 'Adds', firstVersion });
    await first.recordRewrite('add', 99);
    await first.appendAudit({ type: 'tool:created', toolName: 'add', actor: 'agent', reason: 'new' });
    await first.close();
    const second = nodeSqliteStorage({ path });
    expect((await second.getTool('add'))?.counters).toEqual({ rewrites: 1, lastRewriteAt: 99 });
    expect(await second.listAudit()).toHaveLength(1);
    await second.close();
  });

  it('keeps compare-and-swap and version numbers atomic across two connections to one file', async () => {
    const path = freshPath();
    const left = nodeSqliteStorage({ path });
    const right = nodeSqliteStorage({ path });
    try {
      await left.createTool({ name: 'add', description: 'Adds', firstVersion });
      const added = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          (index % 2 === 0 ? left : right).addVersion('add', { ...firstVersion, parentVersion: 1 }),
        ),
      );
      expect(added.map((version) => version.version).sort((a, b) => a - b)).toEqual([
        2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
      ]);
      const results = await Promise.all([
        left.compareAndSetActive('add', 1, 2),
        right.compareAndSetActive('add', 1, 3),
        right.compareAndSetActive('add', 1, 4),
      ]);
      expect(results.filter((result) => result.swapped)).toHaveLength(1);
      const active = (await right.getTool('add'))?.activeVersion;
      expect(results.filter((result) => !result.swapped)).toEqual([
        { swapped: false, actual: active },
        { swapped: false, actual: active },
      ]);
    } finally {
      await left.close();
      await right.close();
    }
  });

  it('rejects a file that is not a SQLite database and leaves it as it was', async () => {
    const path = freshPath();
    const text = 'not a database '.repeat(20);
    writeFileSync(path, text);
    const storage = nodeSqliteStorage({ path });
    const error = await storage.ready?.().catch((caught: unknown) => caught);
    expect(StorageCorruptError.isInstance(error)).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(text);
    await storage.close();
    const closed = await storage.listTools().catch((caught: unknown) => caught);
    expect(StorageClosedError.isInstance(closed)).toBe(true);
  });

  it('names the Node.js version it needs when node:sqlite cannot be imported', async () => {
    const missing = Object.assign(new Error('No such built-in module: node:sqlite'), {
      code: 'ERR_UNKNOWN_BUILTIN_MODULE',
    });
    const error = await loadNodeSqlite(() => Promise.reject(missing)).catch((caught: unknown) => caught);
    expect(StorageUnavailableError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('Node.js 22.13 or later');
    expect((error as Error).message).toContain(process.version);
    expect((error as Error).cause).toBe(missing);
  });

  it('validates its options at construction', () => {
    for (const options of [{}, { path: '' }, { path: 'x.db', busyTimeoutMs: -5 }]) {
      const error = (() => {
        try {
          nodeSqliteStorage(options as never);
        } catch (caught) {
          return caught;
        }
      })();
      expect(InvalidOptionError.isInstance(error)).toBe(true);
    }
  });
});

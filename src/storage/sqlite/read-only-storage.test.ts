import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewToolVersion } from '../records.ts';
import type { StorageAdapter } from '../storage-adapter.ts';
import { StorageCorruptError } from '../storage-errors.ts';
import { loadSqlJs } from './load-sql-js.ts';
import { checkReadableSchema, type Migration, migrate, migrations } from './migrations.ts';
import { nodeSqliteStorage } from './node-sqlite-storage.ts';
import { sqlJsDriver } from './sql-js-driver.ts';
import { sqlJsStorage } from './sql-js-storage.ts';

const root = mkdtempSync(join(tmpdir(), 'sia-readonly-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let folders = 0;
const freshFolder = () => {
  folders += 1;
  const folder = join(root, `case-${folders}`);
  return folder;
};

const version: NewToolVersion = {
  source: 'function t() { return 1; }',
  inputSchema: { type: 'object' },
  capabilities: { network: [] },
  parentVersion: null,
  reason: 'first',
  author: 'human',
};

const adapters: [string, (path: string, readOnly: boolean) => StorageAdapter][] = [
  ['sqlJsStorage', (path, readOnly) => sqlJsStorage({ path, readOnly })],
  ['nodeSqliteStorage', (path, readOnly) => nodeSqliteStorage({ path, readOnly })],
];

async function opening(storage: StorageAdapter): Promise<unknown> {
  try {
    await storage.ready?.();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await storage.close().catch(() => undefined);
  }
}

describe.each(adapters)('%s({ readOnly: true })', (_name, open) => {
  it('reads a database without creating, locking or changing any file; writes reject', async () => {
    const folder = freshFolder();
    const path = join(folder, 'agent.db');
    const writer = open(path, false);
    await writer.createTool({ name: 'tool_a', description: 'a', firstVersion: version });
    await writer.close();
    const listing = readdirSync(folder).sort();
    const bytes = readFileSync(path);
    const mtime = statSync(path).mtimeMs;

    const reader = open(path, true);
    try {
      expect((await reader.listTools()).map((tool) => tool.name)).toEqual(['tool_a']);
      expect(readdirSync(folder).sort()).toEqual(listing); // no lock, -wal or -shm file
      await expect(
        reader.createTool({ name: 'tool_b', description: 'b', firstVersion: version }),
      ).rejects.toThrow(/readonly|read-only/i);
      await expect(
        reader.appendAudit({ type: 'x', actor: 'test', reason: 'should not be written' }),
      ).rejects.toThrow(/readonly|read-only/i);
      await reader.flush?.();
    } finally {
      await reader.close();
    }
    expect(readdirSync(folder).sort()).toEqual(listing);
    expect(readFileSync(path)).toEqual(bytes);
    expect(statSync(path).mtimeMs).toBe(mtime);
  });

  it('refuses a missing file without creating it or its folder', async () => {
    const folder = freshFolder();
    const error = await opening(open(join(folder, 'missing.db'), true));
    expect(StorageCorruptError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('does not exist');
    expect(() => readdirSync(folder)).toThrow(/ENOENT/);
  });

  it.each([
    [
      'an empty file',
      (path: string) => writeFileSync(path, ''),
      'is empty: it is not a self-improving-agent database',
    ],
    [
      "another application's SQLite file",
      async (path: string) => {
        const { DatabaseSync } = await import('node:sqlite');
        const other = new DatabaseSync(path);
        other.exec('CREATE TABLE users (id INTEGER PRIMARY KEY)');
        other.close();
      },
      'is not a self-improving-agent database (a SQLite database with other tables: users)',
    ],
    [
      'a text file',
      (path: string) => writeFileSync(path, 'not sqlite '.repeat(30)),
      'is not a SQLite database',
    ],
  ])('refuses %s, leaving it as it was', async (_kind, make, message) => {
    const folder = freshFolder();
    const path = join(folder, 'file.db');
    mkdirSync(folder, { recursive: true });
    await make(path);
    const bytes = readFileSync(path);
    const error = await opening(open(path, true));
    expect(StorageCorruptError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(message);
    expect(readdirSync(folder)).toEqual(['file.db']);
    expect(readFileSync(path)).toEqual(bytes);
  });
});

describe('checkReadableSchema', () => {
  it('refuses an older schema (saying how to migrate it) unless allowOlder, and a newer one', async () => {
    const SQL = await loadSqlJs();
    const driver = sqlJsDriver(new SQL.Database());
    migrate(driver, 'db');
    const latest = Math.max(...migrations.map((step) => step.version));
    expect(checkReadableSchema(driver, 'db')).toBe(latest);
    const newer: Migration[] = [...migrations, { version: latest + 1, description: 'next', sql: 'SELECT 1' }];
    expect(() => checkReadableSchema(driver, 'db', { steps: newer })).toThrow(
      `has schema version ${latest}, older than this release's ${latest + 1}`,
    );
    expect(() => checkReadableSchema(driver, 'db', { steps: newer })).toThrow(/Open it once with an agent/);
    expect(checkReadableSchema(driver, 'db', { steps: newer, allowOlder: true })).toBe(latest);
    driver.run("UPDATE sia_meta SET value = '99' WHERE key = 'schema_version'");
    expect(() => checkReadableSchema(driver, 'db')).toThrow(/newer release/);
    driver.close();
  });

  it('sqlJsStorage readOnly needs a path; nodeSqliteStorage readOnly refuses :memory:', () => {
    expect(() => sqlJsStorage({ readOnly: true })).toThrow(/readOnly needs a path/);
    expect(() => nodeSqliteStorage({ path: ':memory:', readOnly: true })).toThrow(
      /readOnly cannot open :memory:/,
    );
  });
});

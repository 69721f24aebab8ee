import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NewToolVersion } from '../records.ts';
import type { StorageAdapter } from '../storage-adapter.ts';
import { loadSqlJs } from './load-sql-js.ts';
import { type Migration, migrate, migrations } from './migrations.ts';
import { loadNodeSqlite } from './node-sqlite-driver.ts';
import { nodeSqliteStorage } from './node-sqlite-storage.ts';
import { sqlJsDriver } from './sql-js-driver.ts';
import { sqlJsStorage } from './sql-js-storage.ts';

const directory = mkdtempSync(join(tmpdir(), 'sia-tool-kind-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
const freshPath = () => {
  files += 1;
  return join(directory, `db-${files}.sqlite`);
};

/** A database file as a release with schema 3 wrote it: one sandboxed tool, no kind, disabled or label columns. */
async function schemaThreeFile(path: string): Promise<void> {
  const SQL = await loadSqlJs();
  const database = new SQL.Database();
  const driver = sqlJsDriver(database);
  migrate(driver, path, migrations.filter((step) => step.version <= 3) as Migration[]);
  driver.run(
    "INSERT INTO sia_tools (name, description, created_at, active_version) VALUES ('add', 'Adds', 1, 1)",
  );
  driver.run(
    'INSERT INTO sia_tool_versions (tool_name, version, source, input_schema, capabilities, parent_version, reason, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [
      'add',
      1,
      'function add({ a, b }) { return a + b; }',
      '{"type":"object"}',
      '{"network":[]}',
      null,
      'v1',
      'human',
      1,
    ],
  );
  writeFileSync(path, database.export());
  driver.close();
}

const hostVersion: NewToolVersion = {
  source: '',
  inputSchema: { type: 'object' },
  capabilities: { network: [] },
  parentVersion: null,
  reason: 'release 1.0.0',
  author: 'host',
  label: '1.0.0',
};

describe.each([
  ['sqlJsStorage', (path: string): StorageAdapter => sqlJsStorage({ path, flushIntervalMs: 0 })],
  ['nodeSqliteStorage', (path: string): StorageAdapter => nodeSqliteStorage({ path })],
])('%s opening a schema-3 file', (_name, open) => {
  it('upgrades it in place: old tools are sandboxed and enabled, old versions unlabelled; new state survives a reopen', async () => {
    const path = freshPath();
    await schemaThreeFile(path);
    const storage = open(path);
    expect(await storage.getTool('add')).toMatchObject({
      kind: 'sandboxed',
      disabled: false,
      activeVersion: 1,
    });
    const [old] = await storage.listVersions('add');
    expect('label' in (old as object)).toBe(false);
    await storage.setDisabled?.('add', true);
    await storage.createTool({ name: 'weather', description: 'W', kind: 'host', firstVersion: hostVersion });
    await storage.close();

    const reopened = open(path);
    expect((await reopened.listTools()).map((tool) => [tool.name, tool.kind, tool.disabled])).toEqual([
      ['add', 'sandboxed', true],
      ['weather', 'host', false],
    ]);
    expect((await reopened.getActiveVersion('weather'))?.label).toBe('1.0.0');
    await reopened.close();

    const { DatabaseSync } = await loadNodeSqlite();
    const reader = new DatabaseSync(path);
    try {
      expect(reader.prepare("SELECT value FROM sia_meta WHERE key = 'schema_version'").get()).toEqual({
        value: '4',
      });
      expect(reader.prepare('SELECT name, kind, disabled FROM sia_tools ORDER BY name').all()).toEqual([
        { name: 'add', kind: 'sandboxed', disabled: 1 },
        { name: 'weather', kind: 'host', disabled: 0 },
      ]);
    } finally {
      reader.close();
    }
  });

  it('leaves a schema-3 file as it was when the migration fails halfway (one transaction)', async () => {
    const path = freshPath();
    await schemaThreeFile(path);
    const SQL = await loadSqlJs();
    const { readFileSync } = await import('node:fs');
    const database = new SQL.Database(readFileSync(path));
    const driver = sqlJsDriver(database);
    const broken: Migration[] = [
      ...migrations.filter((step) => step.version <= 3),
      {
        version: 4,
        description: 'step 4, then a failure',
        sql: `${(migrations[3] as Migration).sql}\nINSERT INTO missing_table VALUES (1);`,
      },
    ];
    expect(() => migrate(driver, path, broken)).toThrow(/missing_table/);
    const columns = driver.all('PRAGMA table_info(sia_tools)').map((row) => row.name);
    expect(columns).not.toContain('kind');
    expect(driver.all("SELECT value FROM sia_meta WHERE key = 'schema_version'")).toEqual([{ value: '3' }]);
    // Opened again, the real step 4 applies.
    expect(migrate(driver, path)).toEqual({ from: 3, to: 4, applied: [4] });
    driver.close();
  });
});

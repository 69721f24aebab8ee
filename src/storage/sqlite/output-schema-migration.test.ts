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

const directory = mkdtempSync(join(tmpdir(), 'sia-output-schema-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
const freshPath = () => {
  files += 1;
  return join(directory, `db-${files}.sqlite`);
};

/** A database file as a release with schema 2 wrote it: one tool, two versions, no output_schema column. */
async function schemaTwoFile(path: string): Promise<void> {
  const SQL = await loadSqlJs();
  const database = new SQL.Database();
  const driver = sqlJsDriver(database);
  migrate(driver, path, migrations.filter((step) => step.version <= 2) as Migration[]);
  driver.run(
    "INSERT INTO sia_tools (name, description, created_at, active_version) VALUES ('add', 'Adds', 1, 2)",
  );
  for (const version of [1, 2])
    driver.run(
      'INSERT INTO sia_tool_versions (tool_name, version, source, input_schema, capabilities, parent_version, reason, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [
        'add',
        version,
        `function add({ a, b }) { return a + b + ${version - 1}; }`,
        '{"type":"object"}',
        '{"network":[]}',
        version === 1 ? null : 1,
        `v${version}`,
        'human',
        version,
      ],
    );
  writeFileSync(path, database.export());
  driver.close();
}

const withSchema: NewToolVersion = {
  source: 'function add({ a, b }) { return a + b; }',
  inputSchema: { type: 'object' },
  outputSchema: { type: 'number' },
  capabilities: { network: [] },
  parentVersion: 2,
  reason: 'with an output schema',
  author: 'human',
};

describe.each([
  ['sqlJsStorage', (path: string): StorageAdapter => sqlJsStorage({ path, flushIntervalMs: 0 })],
  ['nodeSqliteStorage', (path: string): StorageAdapter => nodeSqliteStorage({ path })],
])('%s opening a schema-2 file', (_name, open) => {
  it('upgrades it in place: old versions have no outputSchema, new ones keep theirs, across a reopen', async () => {
    const path = freshPath();
    await schemaTwoFile(path);
    const storage = open(path);
    const old = await storage.listVersions('add');
    expect(old.map((version) => version.version)).toEqual([1, 2]);
    for (const version of old) expect('outputSchema' in version).toBe(false);
    expect((await storage.getActiveVersion('add'))?.source).toContain('+ 1');
    const added = await storage.addVersion('add', withSchema);
    expect(added).toMatchObject({ version: 3, outputSchema: { type: 'number' } });
    await storage.close();

    const reopened = open(path);
    const versions = await reopened.listVersions('add');
    expect(versions.map((version) => version.outputSchema)).toEqual([
      undefined,
      undefined,
      { type: 'number' },
    ]);
    await reopened.close();

    const { DatabaseSync } = await loadNodeSqlite();
    const reader = new DatabaseSync(path);
    try {
      expect(reader.prepare("SELECT value FROM sia_meta WHERE key = 'schema_version'").get()).toEqual({
        value: String(Math.max(...migrations.map((step) => step.version))),
      });
      expect(
        reader.prepare('SELECT version, output_schema FROM sia_tool_versions ORDER BY version').all(),
      ).toEqual([
        { version: 1, output_schema: null },
        { version: 2, output_schema: null },
        { version: 3, output_schema: '{"type":"number"}' },
      ]);
    } finally {
      reader.close();
    }
  });
});

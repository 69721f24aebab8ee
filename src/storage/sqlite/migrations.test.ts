import { describe, expect, it } from 'vitest';
import { StorageCorruptError } from '../storage-errors.ts';
import { loadSqlJs } from './load-sql-js.ts';
import { type Migration, migrate, migrations, schemaVersion } from './migrations.ts';
import { sqlJsDriver } from './sql-js-driver.ts';

async function emptyDriver() {
  const SQL = await loadSqlJs();
  return sqlJsDriver(new SQL.Database());
}

const schemaOf = (driver: Awaited<ReturnType<typeof emptyDriver>>) =>
  driver.all("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name");

describe('migrate', () => {
  it('creates the schema once; re-running it is a no-op', async () => {
    const driver = await emptyDriver();
    expect(schemaVersion(driver)).toBe(0);
    const latest = Math.max(...migrations.map((step) => step.version));
    expect(migrate(driver, ':memory:')).toEqual({
      from: 0,
      to: latest,
      applied: migrations.map((step) => step.version),
    });
    const schema = schemaOf(driver);
    expect(schema.map((row) => row.name)).toEqual(
      expect.arrayContaining([
        'sia_meta',
        'sia_invocations',
        'sia_invocations_by_version',
        'sia_invocations_by_tool',
        'sia_tools',
        'sia_tool_versions',
        'sia_test_cases',
        'sia_audit',
      ]),
    );
    driver.run(
      "INSERT INTO sia_tools (name, description, created_at, active_version) VALUES ('kept', 'x', 1, 1)",
    );
    for (let again = 0; again < 3; again += 1)
      expect(migrate(driver, ':memory:')).toEqual({ from: latest, to: latest, applied: [] });
    expect(schemaOf(driver)).toEqual(schema);
    expect(driver.all('SELECT name FROM sia_tools')).toEqual([{ name: 'kept' }]);
    expect(schemaVersion(driver)).toBe(latest);
    driver.close();
  });

  it('applies only the new steps of a later release, in order, and records the version', async () => {
    const driver = await emptyDriver();
    const first: Migration[] = [{ version: 1, description: 'one', sql: 'CREATE TABLE one (x INTEGER)' }];
    expect(migrate(driver, ':memory:', first).applied).toEqual([1]);
    const later: Migration[] = [
      ...first,
      { version: 3, description: 'three', sql: 'INSERT INTO two VALUES (3)' },
      { version: 2, description: 'two', sql: 'CREATE TABLE two (x INTEGER)' },
    ];
    expect(migrate(driver, ':memory:', later)).toEqual({ from: 1, to: 3, applied: [2, 3] });
    expect(driver.all('SELECT x FROM two')).toEqual([{ x: 3 }]);
    expect(schemaVersion(driver)).toBe(3);
    driver.close();
  });

  it('applies all pending steps or none', async () => {
    const driver = await emptyDriver();
    const broken: Migration[] = [
      { version: 1, description: 'one', sql: 'CREATE TABLE one (x INTEGER)' },
      { version: 2, description: 'broken', sql: 'INSERT INTO missing_table VALUES (1)' },
    ];
    expect(() => migrate(driver, ':memory:', broken)).toThrow(/missing_table/);
    expect(driver.all("SELECT name FROM sqlite_master WHERE name = 'one'")).toEqual([]);
    expect(schemaVersion(driver)).toBe(0);
    driver.close();
  });

  it('refuses a database from a newer release with StorageCorruptError', async () => {
    const driver = await emptyDriver();
    driver.exec(
      "CREATE TABLE sia_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO sia_meta VALUES ('schema_version', '7')",
    );
    const error = (() => {
      try {
        migrate(driver, '/data/agent.sqlite');
      } catch (caught) {
        return caught;
      }
    })();
    expect(StorageCorruptError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('"/data/agent.sqlite"');
    expect((error as Error).message).toContain('schema version 7');
    expect((error as Error).message).toContain('Upgrade self-improving-agent');
    driver.close();
  });

  it('creates a new database with incremental auto-vacuum, and leaves an existing one as it is', async () => {
    const fresh = await emptyDriver();
    migrate(fresh, ':memory:');
    expect(fresh.all('PRAGMA auto_vacuum')).toEqual([{ auto_vacuum: 2 }]);
    fresh.close();
    // A schema-1 database without auto-vacuum (as earlier releases wrote them) is migrated to
    // the newest schema without being rewritten: the first large prune converts it.
    const older = await emptyDriver();
    // As an earlier release began: its meta table first, so no pragma applies any more.
    older.exec('CREATE TABLE sia_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    migrate(older, ':memory:', [migrations[0] as Migration]);
    expect(migrate(older, ':memory:')).toEqual({ from: 1, to: 4, applied: [2, 3, 4] });
    expect(older.all('PRAGMA auto_vacuum')).toEqual([{ auto_vacuum: 0 }]);
    expect(
      older.all("SELECT name FROM sqlite_master WHERE name LIKE 'sia_invocation_rollup%' ORDER BY name"),
    ).toEqual([
      { name: 'sia_invocation_rollup_errors' },
      { name: 'sia_invocation_rollup_errors_by_age' },
      { name: 'sia_invocation_rollups' },
      { name: 'sia_invocation_rollups_by_age' },
    ]);
    older.close();
  });
});

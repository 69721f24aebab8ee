import { describe, expect, it } from 'vitest';
import type { InvocationQuery } from '../records.ts';
import { loadSqlJs } from './load-sql-js.ts';
import { migrate } from './migrations.ts';
import { loadNodeSqlite, nodeSqliteDriver } from './node-sqlite-driver.ts';
import { sqlJsDriver } from './sql-js-driver.ts';
import { sqliteAdapter, storeBoundSql, windowSql } from './sqlite-adapter.ts';
import type { SqliteDriver, SqlValue } from './sqlite-driver.ts';

const queries: Array<{ query: InvocationQuery; index: string }> = [
  { query: { toolName: 't', version: 1, limit: 20 }, index: 'sia_invocations_by_version' },
  { query: { toolName: 't', version: 1, limit: 20, since: 5 }, index: 'sia_invocations_by_version' },
  { query: { toolName: 't', limit: 20 }, index: 'sia_invocations_by_tool' },
  { query: { toolName: 't', limit: 20, since: 5 }, index: 'sia_invocations_by_tool' },
];

async function drivers(): Promise<Array<[string, SqliteDriver]>> {
  const SQL = await loadSqlJs();
  const sqlite = await loadNodeSqlite();
  return [
    ['sql.js', sqlJsDriver(new SQL.Database())],
    ['node:sqlite', nodeSqliteDriver(new sqlite.DatabaseSync(':memory:'))],
  ];
}

describe('window queries', () => {
  it('walk an index in ORDER BY order (no sort, no scan), so a window costs O(limit)', async () => {
    for (const [engine, driver] of await drivers()) {
      migrate(driver, ':memory:');
      // Enough rows and statistics that the planner could prefer a scan if the index did not fit.
      driver.transaction(() => {
        for (let index = 0; index < 2000; index += 1)
          driver.run(
            'INSERT INTO sia_invocations (tool_name, version, started_at, latency_ms, success, input_hash) VALUES (?, ?, ?, 1, 1, ?)',
            [`tool_${index % 4}`, 1 + (index % 3), index, 'h'],
          );
      });
      driver.exec('ANALYZE');
      for (const { query, index } of queries) {
        const params = [query.toolName, query.version, query.since, query.limit].filter(
          (value) => value !== undefined,
        );
        const plan = driver
          .all(`EXPLAIN QUERY PLAN ${windowSql('latency_ms, success', query)}`, params)
          .map((row) => String(row.detail));
        expect({ engine, query, plan }).toEqual({
          engine,
          query,
          plan: [expect.stringContaining(`SEARCH sia_invocations USING INDEX ${index}`)],
        });
      }
      driver.close();
    }
  });
});

describe('pruning with rollups', () => {
  const now = Date.UTC(2025, 0, 10, 12);
  const seedRows = (driver: SqliteDriver) =>
    driver.transaction(() => {
      for (let index = 0; index < 600; index += 1)
        driver.run(
          'INSERT INTO sia_invocations (tool_name, version, started_at, latency_ms, success, error_code, input_hash) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [
            `tool_${index % 3}`,
            1,
            now - 600_000 + index * 1000,
            index % 40,
            index % 5 === 0 ? 0 : 1,
            'TIMEOUT',
            'h',
          ],
        );
    });

  it('finds what to prune and to coarsen by index walks, never a sort of every row', async () => {
    for (const [engine, driver] of await drivers()) {
      migrate(driver, ':memory:');
      seedRows(driver);
      driver.exec('ANALYZE');
      const plan = (sql: string, params: SqlValue[]) =>
        driver.all(`EXPLAIN QUERY PLAN ${sql}`, params).map((row) => String(row.detail));
      // The store-wide bound: the id span by two seeks, the cutoff by a walk down the rowid.
      const span = plan(storeBoundSql.span, []).filter((step) => /sia_invocations/.test(step));
      expect({ engine, span }).toEqual({
        engine,
        span: ['SEARCH sia_invocations', 'SEARCH sia_invocations'],
      });
      const cutoff = plan(storeBoundSql.cutoff, [10]);
      expect({ engine, cutoff }).toEqual({
        engine,
        cutoff: [expect.stringMatching(/^SCAN sia_invocations$/)],
      });
      // Rollups due for coarsening: a range of the (width, start) index.
      const due = plan(
        'SELECT 1 AS found FROM sia_invocation_rollups WHERE width_ms = 60000 AND bucket_start < ? LIMIT 1',
        [now],
      );
      expect({ engine, due }).toEqual({
        engine,
        due: [expect.stringContaining('USING COVERING INDEX sia_invocation_rollups_by_age')],
      });
      driver.close();
    }
  });

  it('keeps the rows or their rollups when the prune fails midway: never both, never neither', async () => {
    for (const [engine, driver] of await drivers()) {
      migrate(driver, ':memory:');
      seedRows(driver);
      const storage = sqliteAdapter({
        name: engine,
        driver: async () => driver,
        ready: async () => {},
        close: async () => driver.close(),
      });
      const history = async () =>
        (await storage.invocationHistory?.({ toolName: 'tool_1', bucketMs: 3_600_000 }))?.map(
          ({ rolledUpCalls: _rolledUp, ...bucket }) => bucket,
        );
      const before = await history();
      // The deletion fails after the rows were folded into rollups (a full disk, a killed write…).
      driver.exec(
        "CREATE TRIGGER fail_delete BEFORE DELETE ON sia_invocations BEGIN SELECT RAISE(ABORT, 'simulated failure'); END",
      );
      await expect(storage.pruneInvocations({ maxRecordsPerVersion: 10, now })).rejects.toThrow(
        'simulated failure',
      );
      expect(driver.all('SELECT count(*) AS n FROM sia_invocations')).toEqual([{ n: 600 }]);
      expect(driver.all('SELECT count(*) AS n FROM sia_invocation_rollups')).toEqual([{ n: 0 }]);
      expect(driver.all('SELECT count(*) AS n FROM sia_invocation_rollup_errors')).toEqual([{ n: 0 }]);
      expect(await history()).toEqual(before);
      driver.exec('DROP TRIGGER fail_delete');
      expect(await storage.pruneInvocations({ maxRecordsPerVersion: 10, now })).toEqual({ deleted: 570 });
      expect(await history()).toEqual(before);
      await storage.close();
    }
  });
});

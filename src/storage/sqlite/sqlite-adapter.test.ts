import { describe, expect, it } from 'vitest';
import type { InvocationQuery } from '../records.ts';
import { loadSqlJs } from './load-sql-js.ts';
import { migrate } from './migrations.ts';
import { loadNodeSqlite, nodeSqliteDriver } from './node-sqlite-driver.ts';
import { sqlJsDriver } from './sql-js-driver.ts';
import { windowSql } from './sqlite-adapter.ts';
import type { SqliteDriver } from './sqlite-driver.ts';

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

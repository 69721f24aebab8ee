import { aggregateInvocations } from '../aggregate-invocations.ts';
import { historyRange, mergeHistory } from '../history-buckets.ts';
import type { AuditEntry, InvocationQuery, NewToolVersion, StoredTestCase, ToolVersion } from '../records.ts';
import { rollupCutoffs } from '../rollup-tiers.ts';
import {
  type AuditParams,
  auditColumns,
  testCaseColumns,
  toAggregatable,
  toAuditEntry,
  toAuditParams,
  toInvocation,
  toolColumns,
  toTestCase,
  toTestCaseParams,
  toToolAuditParams,
  toToolRecord,
  toToolVersion,
  toVersionRow,
  versionColumns,
} from '../row-mappers.ts';
import type { StorageAdapter } from '../storage-adapter.ts';
import { ToolExistsError, ToolNotFoundError, VersionNotFoundError } from '../storage-errors.ts';
import {
  checkAuditQuery,
  checkBoolean,
  checkFinite,
  checkHistoryQuery,
  checkInteger,
  checkInvocationQuery,
  checkInvocations,
  checkNewAuditEntry,
  checkNewTestCase,
  checkNewTool,
  checkNewVersion,
  checkRetention,
  toJsonText,
} from '../storage-input.ts';
import { reclaimFreePages } from './reclaim-free-pages.ts';
import type { SqliteDriver, SqlRow, SqlValue } from './sqlite-driver.ts';
import { coarsenRollups, foldAndDelete, historySources } from './sqlite-rollups.ts';

/** How a SQLite adapter plugs its engine and lifecycle into {@link sqliteAdapter}. */
export interface SqliteAdapterOptions {
  /** Adapter name, e.g. `sql.js`. */
  name: string;
  /**
   * The open driver, opening it on first use (loading, locking, migrating). Called before
   * every operation; must reject with `StorageClosedError` once the adapter is closed.
   */
  driver: () => Promise<SqliteDriver>;
  /** Called after every committed write, e.g. to mark an in-memory database dirty. */
  onWrite?: () => void;
  /** See {@link StorageAdapter.ready}. */
  ready: () => Promise<void>;
  /** See {@link StorageAdapter.flush}; omitted by stores that are durable per transaction. */
  flush?: () => Promise<void>;
  /** See {@link StorageAdapter.close}. */
  close: () => Promise<void>;
}

const invocationColumns =
  'id, tool_name, version, started_at, latency_ms, success, error_code, error_message, input_hash, output_hash, input, output';
const windowColumns = 'started_at, latency_ms, success, error_code, error_message';
const insertInvocation =
  'INSERT INTO sia_invocations (tool_name, version, started_at, latency_ms, success, error_code, error_message, input_hash, output_hash, input, output) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
const joinedVersionColumns = versionColumns
  .split(', ')
  .map((column) => `v.${column}`)
  .join(', ');
const insertVersion = `INSERT INTO sia_tool_versions (${versionColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * The SQL for the most recent invocations of a query. The ORDER BY matches an index exactly
 * (`sia_invocations_by_version` or `sia_invocations_by_tool`), so SQLite walks the index
 * backwards from the newest entry and stops after `limit` rows: O(limit), never O(history).
 */
export function windowSql(columns: string, query: InvocationQuery): string {
  return (
    `SELECT ${columns} FROM sia_invocations WHERE tool_name = ?` +
    (query.version === undefined ? '' : ' AND version = ?') +
    (query.since === undefined ? '' : ' AND started_at >= ?') +
    ' ORDER BY started_at DESC, id DESC LIMIT ?'
  );
}

function windowParams(query: InvocationQuery): SqlValue[] {
  const params: SqlValue[] = [query.toolName];
  if (query.version !== undefined) params.push(query.version);
  if (query.since !== undefined) params.push(query.since);
  params.push(query.limit);
  return params;
}

/**
 * The {@link StorageAdapter} contract implemented once in SQL over a {@link SqliteDriver}, shared
 * by `sqlJsStorage` and `nodeSqliteStorage`. Every method checks its input, awaits the open
 * driver, then runs synchronously to the end, so its transaction never interleaves with
 * another call of this adapter (which is what makes compare-and-swap and version numbering
 * atomic within a process; `BEGIN IMMEDIATE` makes them atomic across connections).
 *
 * `pruneInvocations` folds the rows it deletes into rollups in the same transaction (see
 * `sqlite-rollups.ts`) and, once committed, gives the freed pages back to the file system
 * (`reclaimFreePages`), so the file shrinks; `invocationHistory` reads rollups and rows back.
 */
export function sqliteAdapter(options: SqliteAdapterOptions): StorageAdapter {
  const { driver: open, onWrite } = options;
  const write = async <T>(body: (driver: SqliteDriver) => T): Promise<T> => {
    const driver = await open();
    const result = driver.transaction(() => body(driver));
    onWrite?.();
    return result;
  };
  const toolRow = (driver: SqliteDriver, name: string): SqlRow | undefined =>
    driver.all(`SELECT ${toolColumns} FROM sia_tools WHERE name = ?`, [name])[0];
  const requireTool = (driver: SqliteDriver, name: string): SqlRow => {
    const row = toolRow(driver, name);
    if (!row) throw new ToolNotFoundError(name);
    return row;
  };
  const addVersionRow = (
    driver: SqliteDriver,
    toolName: string,
    field: string,
    version: NewToolVersion,
    number: number,
    createdAt: number,
  ): ToolVersion => {
    const row = toVersionRow(toolName, field, version, number, createdAt);
    driver.run(insertVersion, row.values);
    return row.version;
  };

  const insertAudit = (driver: SqliteDriver, entry: AuditParams): AuditEntry =>
    toAuditEntry(driver.all(insertAuditSql, entry)[0] as SqlRow);
  const insertTestCase = (driver: SqliteDriver, toolName: string, testCase: TestCaseRow): StoredTestCase =>
    toTestCase(driver.all(insertTestCaseSql, [toolName, ...testCase, Date.now()])[0] as SqlRow);

  const store: StorageAdapter = {
    name: options.name,
    ready: options.ready,
    close: options.close,

    async appendInvocations(records) {
      checkInvocations(records);
      if (records.length === 0) return;
      // Serialise everything first: a value JSON cannot hold fails before anything is written.
      const rows: SqlValue[][] = records.map((record, index) => [
        record.toolName,
        record.version,
        record.startedAt,
        record.latencyMs,
        record.success ? 1 : 0,
        record.errorCode ?? null,
        record.errorMessage ?? null,
        record.inputHash,
        record.outputHash ?? null,
        record.input === undefined ? null : toJsonText(`records[${index}].input`, record.input),
        record.output === undefined ? null : toJsonText(`records[${index}].output`, record.output),
      ]);
      await write((driver) => {
        for (const row of rows) driver.run(insertInvocation, row);
      });
    },

    async recentInvocations(query) {
      checkInvocationQuery(query);
      const driver = await open();
      return driver.all(windowSql(invocationColumns, query), windowParams(query)).map(toInvocation);
    },

    async aggregateWindow(query) {
      checkInvocationQuery(query);
      const driver = await open();
      const rows = driver.all(windowSql(windowColumns, query), windowParams(query));
      return aggregateInvocations(rows.map(toAggregatable));
    },

    async pruneInvocations(policy) {
      checkRetention(policy);
      const { maxRecordsPerVersion, maxRecords, olderThan } = policy;
      const cutoffs = rollupCutoffs(policy.now ?? Date.now());
      const driver = await open();
      // Every deletion folds its rows into the rollups first, in the same transaction.
      const result = driver.transaction(() => {
        let deleted = 0;
        if (maxRecordsPerVersion !== undefined || olderThan !== undefined)
          for (const [toolName, version] of versionGroups(driver)) {
            if (olderThan !== undefined)
              deleted += foldAndDelete(
                driver,
                'tool_name = ? AND version = ? AND started_at < ?',
                [toolName, version, olderThan],
                cutoffs,
              );
            if (maxRecordsPerVersion !== undefined) {
              // The newest row beyond the kept ones; it and everything older goes.
              const cutoff = driver.all(
                'SELECT started_at, id FROM sia_invocations WHERE tool_name = ? AND version = ? ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?',
                [toolName, version, maxRecordsPerVersion],
              )[0];
              if (cutoff)
                deleted += foldAndDelete(
                  driver,
                  'tool_name = ? AND version = ? AND (started_at, id) <= (?, ?)',
                  [toolName, version, cutoff.started_at as number, cutoff.id as number],
                  cutoffs,
                );
            }
          }
        if (maxRecords !== undefined) {
          const cutoff = storeCutoffId(driver, maxRecords);
          if (cutoff !== undefined) deleted += foldAndDelete(driver, 'id <= ?', [cutoff], cutoffs);
        }
        coarsenRollups(driver, cutoffs);
        return { deleted };
      });
      if (result.deleted > 0) {
        try {
          reclaimFreePages(driver);
        } catch {
          // The prune committed; the space is only returned later (e.g. another connection
          // was busy): the next prune tries again.
        }
      }
      onWrite?.();
      return result;
    },

    async invocationHistory(query) {
      checkHistoryQuery(query);
      const range = historyRange(query);
      const driver = await open();
      return mergeHistory(historySources(driver, query.toolName, query.version, range), range.bucketMs);
    },

    async createTool(tool) {
      checkNewTool(tool);
      // Serialise everything first: a value JSON cannot hold fails before anything is written.
      const cases = (tool.testCases ?? []).map((testCase) => toTestCaseParams(testCase, sqliteFlag));
      const entry =
        tool.audit === undefined ? undefined : toAuditParams({ ...tool.audit, toolName: tool.name });
      return write((driver) => {
        if (toolRow(driver, tool.name)) throw new ToolExistsError(tool.name);
        const createdAt = Date.now();
        driver.run(
          'INSERT INTO sia_tools (name, description, created_at, active_version, pinned, rewrites, last_rewrite_at, kind, disabled) VALUES (?, ?, ?, 1, 0, 0, NULL, ?, 0)',
          [tool.name, tool.description, createdAt, tool.kind ?? 'sandboxed'],
        );
        const version = addVersionRow(
          driver,
          tool.name,
          'tool.firstVersion',
          tool.firstVersion,
          1,
          createdAt,
        );
        const testCases = cases.map((testCase) => insertTestCase(driver, tool.name, testCase));
        const audit = entry === undefined ? undefined : insertAudit(driver, entry);
        return {
          tool: toToolRecord(requireTool(driver, tool.name)),
          version,
          testCases,
          ...(audit === undefined ? {} : { audit }),
        };
      });
    },

    async getTool(name) {
      const driver = await open();
      const row = toolRow(driver, name);
      return row ? toToolRecord(row) : undefined;
    },

    async listTools() {
      const driver = await open();
      return driver.all(`SELECT ${toolColumns} FROM sia_tools ORDER BY name`).map(toToolRecord);
    },

    async addVersion(toolName, version, audit, options) {
      checkNewVersion('version', version);
      const activate = options?.activate === true;
      return write((driver) => {
        requireTool(driver, toolName);
        const next = driver.all(
          'SELECT COALESCE(MAX(version), 0) + 1 AS next FROM sia_tool_versions WHERE tool_name = ?',
          [toolName],
        )[0]?.next as number;
        const stored = addVersionRow(driver, toolName, 'version', version, next, Date.now());
        if (audit !== undefined) {
          // The entry commits with the version, or neither does (a throw rolls both back).
          const entry = audit(structuredClone(stored));
          checkNewAuditEntry(entry);
          insertAudit(driver, toAuditParams({ ...entry, toolName }));
        }
        if (activate)
          driver.run('UPDATE sia_tools SET active_version = ? WHERE name = ?', [stored.version, toolName]);
        return stored;
      });
    },

    async getVersion(toolName, version) {
      const driver = await open();
      const row = driver.all(
        `SELECT ${versionColumns} FROM sia_tool_versions WHERE tool_name = ? AND version = ?`,
        [toolName, version],
      )[0];
      return row ? toToolVersion(row) : undefined;
    },

    async listVersions(toolName) {
      const driver = await open();
      return driver
        .all(`SELECT ${versionColumns} FROM sia_tool_versions WHERE tool_name = ? ORDER BY version`, [
          toolName,
        ])
        .map(toToolVersion);
    },

    async getActiveVersion(toolName) {
      const driver = await open();
      const row = driver.all(
        `SELECT ${joinedVersionColumns} FROM sia_tools t JOIN sia_tool_versions v ON v.tool_name = t.name AND v.version = t.active_version WHERE t.name = ?`,
        [toolName],
      )[0];
      return row ? toToolVersion(row) : undefined;
    },

    async compareAndSetActive(toolName, expected, next, audit, options) {
      checkInteger('expected', expected, 1);
      checkInteger('next', next, 1);
      const entry = toToolAuditParams(toolName, audit);
      return write((driver) => {
        const tool = requireTool(driver, toolName);
        const exists = driver.all(
          'SELECT 1 AS found FROM sia_tool_versions WHERE tool_name = ? AND version = ?',
          [toolName, next],
        );
        if (exists.length === 0) throw new VersionNotFoundError(toolName, next);
        // Read inside the write transaction: a pin committed before it is seen, none can land after.
        if (options?.requireUnpinned === true && toToolRecord(tool).pinned)
          return { swapped: false, actual: tool.active_version as number, pinned: true } as const;
        // The WHERE clause is the compare; inside the write transaction nobody can change it in between.
        const changed = driver.run(
          'UPDATE sia_tools SET active_version = ? WHERE name = ? AND active_version = ?',
          [next, toolName, expected],
        );
        if (changed !== 1) return { swapped: false, actual: tool.active_version as number } as const;
        // The audit entry commits with the swap, or neither does.
        return entry === undefined
          ? ({ swapped: true } as const)
          : ({ swapped: true, audit: insertAudit(driver, entry) } as const);
      });
    },

    async setPinned(toolName, pinned, audit) {
      checkBoolean('pinned', pinned);
      const entry = toToolAuditParams(toolName, audit);
      return write((driver) => {
        if (driver.run('UPDATE sia_tools SET pinned = ? WHERE name = ?', [pinned ? 1 : 0, toolName]) === 0)
          throw new ToolNotFoundError(toolName);
        return entry === undefined ? undefined : insertAudit(driver, entry);
      });
    },

    async setDisabled(toolName, disabled, audit) {
      checkBoolean('disabled', disabled);
      const entry = toToolAuditParams(toolName, audit);
      return write((driver) => {
        if (
          driver.run('UPDATE sia_tools SET disabled = ? WHERE name = ?', [disabled ? 1 : 0, toolName]) === 0
        )
          throw new ToolNotFoundError(toolName);
        return entry === undefined ? undefined : insertAudit(driver, entry);
      });
    },

    async recordRewrite(toolName, at) {
      checkFinite('at', at);
      return write((driver) => {
        const changed = driver.run(
          'UPDATE sia_tools SET rewrites = rewrites + 1, last_rewrite_at = ? WHERE name = ?',
          [at, toolName],
        );
        if (changed === 0) throw new ToolNotFoundError(toolName);
        return toToolRecord(requireTool(driver, toolName)).counters;
      });
    },

    async addTestCase(toolName, testCase, audit) {
      checkNewTestCase(testCase);
      const row = toTestCaseParams(testCase, sqliteFlag);
      return write((driver) => {
        requireTool(driver, toolName);
        const stored = insertTestCase(driver, toolName, row);
        if (audit === undefined) return stored;
        // The entry commits with the case, or neither does (a throw rolls both back).
        const entry = audit(structuredClone(stored));
        checkNewAuditEntry(entry);
        return { ...stored, audit: insertAudit(driver, toAuditParams({ ...entry, toolName })) };
      });
    },

    async listTestCases(toolName) {
      const driver = await open();
      return driver
        .all(`SELECT ${testCaseColumns} FROM sia_test_cases WHERE tool_name = ? ORDER BY id`, [toolName])
        .map(toTestCase);
    },

    async removeTestCase(toolName, id, audit) {
      return write((driver) => {
        const row =
          audit === undefined
            ? undefined
            : driver.all(`SELECT ${testCaseColumns} FROM sia_test_cases WHERE tool_name = ? AND id = ?`, [
                toolName,
                id,
              ])[0];
        if (driver.run('DELETE FROM sia_test_cases WHERE tool_name = ? AND id = ?', [toolName, id]) === 0)
          return false;
        if (audit !== undefined && row !== undefined) {
          // The entry commits with the removal, or neither does (a throw rolls both back).
          const entry = audit(toTestCase(row));
          checkNewAuditEntry(entry);
          insertAudit(driver, toAuditParams({ ...entry, toolName }));
        }
        return true;
      });
    },

    async appendAudit(entry) {
      checkNewAuditEntry(entry);
      const row = toAuditParams(entry);
      return write((driver) => insertAudit(driver, row));
    },

    async listAudit(query = {}) {
      checkAuditQuery(query);
      const conditions: string[] = [];
      const params: SqlValue[] = [];
      if (query.afterId !== undefined) {
        conditions.push('id > ?');
        params.push(query.afterId);
      }
      if (query.toolName !== undefined) {
        conditions.push('tool_name = ?');
        params.push(query.toolName);
      }
      if (query.type !== undefined) {
        conditions.push('type = ?');
        params.push(query.type);
      }
      if (query.since !== undefined) {
        conditions.push('at >= ?');
        params.push(query.since);
      }
      params.push(query.limit ?? -1); // LIMIT -1: no limit
      const where = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
      const driver = await open();
      return driver
        .all(`SELECT ${auditColumns} FROM sia_audit${where} ORDER BY id LIMIT ?`, params)
        .map(toAuditEntry);
    },
  };
  if (options.flush) store.flush = options.flush;
  return store;
}

type TestCaseRow = ReturnType<typeof toTestCaseParams<number>>;

/** A boolean as SQLite stores it. */
const sqliteFlag = (value: boolean): number => (value ? 1 : 0);

const insertAuditSql = `INSERT INTO sia_audit (type, tool_name, actor, reason, from_version, to_version, evidence, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${auditColumns}`;
const insertTestCaseSql = `INSERT INTO sia_test_cases (tool_name, input, expect, description, origin, input_hash, max_latency_ms, held_out, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${testCaseColumns}`;

/**
 * The largest id that must go for at most `maxRecords` rows to stay, or `undefined` when the
 * store is within the bound. Ids only grow, so the span of ids bounds the row count in O(1); only
 * a store whose span exceeds the bound is walked, backwards along the rowid, `maxRecords` rows.
 */
function storeCutoffId(driver: SqliteDriver, maxRecords: number): number | undefined {
  const span = driver.all(storeBoundSql.span)[0];
  if (span?.low === null || span?.low === undefined) return undefined;
  if ((span.high as number) - (span.low as number) + 1 <= maxRecords) return undefined;
  const row = driver.all(storeBoundSql.cutoff, [maxRecords])[0];
  return row === undefined ? undefined : (row.id as number);
}

/**
 * The queries of the store-wide bound: the id span (two subqueries, because SQLite reads min()
 * and max() off the ends of the rowid only for one aggregate per query) and the cutoff, a walk
 * backwards along the rowid.
 */
export const storeBoundSql = {
  span: 'SELECT (SELECT min(id) FROM sia_invocations) AS low, (SELECT max(id) FROM sia_invocations) AS high',
  cutoff: 'SELECT id FROM sia_invocations ORDER BY id DESC LIMIT 1 OFFSET ?',
} as const;

/**
 * Every (tool, version) that has invocations, found by skipping through the index one group
 * at a time (a seek per group) instead of scanning every row.
 */
function* versionGroups(driver: SqliteDriver): Generator<[string, number]> {
  let row = driver.all(
    'SELECT tool_name, version FROM sia_invocations ORDER BY tool_name, version LIMIT 1',
  )[0];
  while (row) {
    const toolName = row.tool_name as string;
    const version = row.version as number;
    yield [toolName, version];
    row = driver.all(
      'SELECT tool_name, version FROM sia_invocations WHERE (tool_name, version) > (?, ?) ORDER BY tool_name, version LIMIT 1',
      [toolName, version],
    )[0];
  }
}

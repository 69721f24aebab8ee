import type { ActiveVersionChange } from '../coordination.ts';
import { historyRange, mergeHistory, sourcesFromRows } from '../history-buckets.ts';
import { lazyResource } from '../lazy-resource.ts';
import type {
  AuditEntry,
  InvocationQuery,
  NewToolVersion,
  StoredTestCase,
  ToolAuditEntry,
  ToolVersion,
  WindowAggregate,
} from '../records.ts';
import { MINUTE_MS, rollupCutoffs } from '../rollup-tiers.ts';
import {
  auditColumns,
  testCaseColumns,
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
import {
  StorageClosedError,
  StorageInputError,
  ToolExistsError,
  ToolNotFoundError,
  VersionNotFoundError,
} from '../storage-errors.ts';
import {
  checkAuditQuery,
  checkBoolean,
  checkFinite,
  checkHistoryQuery,
  checkInteger,
  checkInvocationQuery,
  checkInvocations,
  checkName,
  checkNewAuditEntry,
  checkNewTestCase,
  checkNewTool,
  checkNewVersion,
  checkRetention,
  toJsonText,
} from '../storage-input.ts';
import type { AddedTestCase, CompareAndSetResult } from '../tool-store.ts';
import { type ActiveVersionWatcher, activeVersionWatcher } from './active-version-watcher.ts';
import { loadPg } from './load-pg.ts';
import { type PostgresExecutor, postgresExecutor } from './postgres-executor.ts';
import { checkPostgresSchema, migratePostgres, quoteSchema } from './postgres-migrations.ts';
import type { PostgresPool, PostgresQueryable, PostgresRow } from './postgres-pool.ts';
import { coarsenSql, foldAndDeleteSql, historySql } from './postgres-rollups.ts';
import {
  describeTarget,
  type PostgresConnection,
  type PostgresStorageOptions,
  resolvePostgresStorageOptions,
} from './postgres-storage-options.ts';

const adapterName = 'postgres';
const invocationColumns =
  'tool_name, version, started_at, latency_ms, success, error_code, error_message, input_hash, output_hash, input, output';
/** Rows per INSERT statement: 11 parameters each stays far below PostgreSQL's 65,535. */
const rowsPerInsert = 1000;

interface OpenStore {
  readonly pool: PostgresPool;
  readonly executor: PostgresExecutor;
  readonly watcher: ActiveVersionWatcher;
}

/**
 * A {@link StorageAdapter} on PostgreSQL, for many processes (app servers, workers, serverless
 * instances) sharing one memory and one registry. Import it from
 * `self-improving-agent/postgres`; it needs the `pg` package (an optional peer dependency),
 * loaded when the storage opens, not when the library is imported.
 *
 * - Tables live in one schema (`sia` by default), created and migrated on first use inside a
 *   transaction under an advisory lock: processes starting together migrate once; a schema
 *   migrated by a newer release is refused (`PostgresSchemaTooNewError`).
 * - Versions are numbered without gaps under a row lock on the tool (`SELECT … FOR UPDATE`),
 *   with the (tool, version) primary key as a backstop; `compareAndSetActive` compares and
 *   sets under the same lock, so of several processes promoting from one base exactly one wins.
 * - Invocation batches are multi-row INSERTs in one transaction; window aggregates (counts,
 *   nearest-rank p50/p95 with `percentile_disc`, recent errors) are computed in SQL over the
 *   newest `limit` rows of an index on (tool, version, started_at, id): O(window).
 * - Retention: `pruneInvocations` folds the rows it deletes (`DELETE … RETURNING`, so each row
 *   once, even with several processes pruning) into per-minute rollups in the same transaction,
 *   one prune at a time per schema (an advisory lock); `invocationHistory` reads rollups and rows
 *   back in one statement. The space of deleted rows is left to autovacuum, which makes it
 *   reusable by later inserts; the files do not shrink (that would take `VACUUM FULL`, which
 *   locks the table).
 * - Coordination: `acquireLease`/`releaseLease` (one atomic statement, judged by the
 *   server's clock) and `watchActive` (LISTEN/NOTIFY, sent inside the promoting transaction;
 *   polling while the LISTEN connection is down).
 * - Resilience: failures that may pass (dropped connections, a restarting server,
 *   serialization failures, deadlocks) are retried with back-off where that is safe; an idle
 *   connection that drops is reported through `onError`, never crashing the process; a login
 *   that cannot succeed fails with `StorageUnavailableError` saying what to check.
 *
 * Ownership: with `{ connectionString }` the adapter owns its pool and `close()` ends it. With
 * `{ pool }` the pool stays yours: `close()` leaves it open (end it yourself); while open, the
 * adapter adds an `'error'` listener to it so a dropped idle connection cannot crash the process.
 *
 * @example
 * ```ts
 * import { PerformanceMemory } from 'self-improving-agent';
 * import { postgresStorage } from 'self-improving-agent/postgres';
 *
 * const storage = postgresStorage({ connectionString: process.env.DATABASE_URL! }, { schema: 'sia' });
 * await storage.ready?.(); // connects and migrates now, failing fast on bad credentials
 * const memory = new PerformanceMemory({ storage });
 * const stop = storage.watchActive?.(({ toolName, activeVersion }) => reload(toolName, activeVersion));
 * // …
 * stop?.();
 * await memory.close();
 * await storage.close();
 * ```
 */
export function postgresStorage(
  connection: PostgresConnection,
  options: PostgresStorageOptions = {},
): StorageAdapter {
  const settings = resolvePostgresStorageOptions(connection, options);
  const schema = quoteSchema(settings.schema);
  const channel = `${settings.schema}_active`;
  const target = describeTarget(settings.connectionString);
  const table = (name: string) => `${schema}.${name}`;

  const report = (error: unknown, context: string) => {
    try {
      settings.onError(error, context);
    } catch {
      // A failing reporter must not turn a handled failure into a crash.
    }
  };
  const onPoolError = (error: Error) =>
    report(error, 'an idle PostgreSQL connection failed; the pool opens a new one when needed');

  const openNow = async (): Promise<OpenStore> => {
    let pool = settings.pool;
    const ownPool = pool === undefined;
    if (pool === undefined) {
      const pg = await loadPg();
      pool = new pg.Pool({
        connectionString: settings.connectionString,
        max: settings.poolSize,
        connectionTimeoutMillis: settings.connectTimeoutMs,
        application_name: settings.applicationName,
        keepAlive: true,
        idleTimeoutMillis: 10_000,
        allowExitOnIdle: true,
        ...(settings.statementTimeoutMs > 0 ? { statement_timeout: settings.statementTimeoutMs } : {}),
        ...(settings.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
      }) as unknown as PostgresPool;
    }
    // Without a listener, an idle connection that drops (server restart, pg_terminate_backend)
    // is an unhandled 'error' event: it would crash the process.
    pool.on('error', onPoolError);
    const executor = postgresExecutor(pool, settings.retry, target);
    try {
      if (settings.readOnly) await executor.read((client) => checkPostgresSchema(client, settings.schema));
      else await executor.write((client) => migratePostgres(client, settings.schema), { idempotent: true });
    } catch (error) {
      if (ownPool) await pool.end().catch(() => undefined);
      else pool.removeListener('error', onPoolError);
      throw error;
    }
    const watcher = activeVersionWatcher({
      pool,
      schema,
      channel,
      pollIntervalMs: settings.watch.pollIntervalMs,
      reconnectInitialDelayMs: settings.watch.reconnectInitialDelayMs,
      reconnectMaxDelayMs: settings.watch.reconnectMaxDelayMs,
      report,
    });
    return { pool, executor, watcher };
  };

  const resource = lazyResource({
    name: adapterName,
    open: openNow,
    release: async (opened: OpenStore) => {
      opened.watcher.close();
      if (settings.pool === undefined) await opened.pool.end();
      else opened.pool.removeListener('error', onPoolError);
    },
  });
  const open = resource.get;
  const read = async <T>(body: (queryable: PostgresQueryable) => Promise<T>): Promise<T> =>
    (await open()).executor.read(body);
  const write = async <T>(body: (client: PostgresQueryable) => Promise<T>): Promise<T> =>
    (await open()).executor.write(body);
  const notifyActive = (client: PostgresQueryable, toolName: string, activeVersion: number) =>
    client.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify({ toolName, activeVersion })]);

  /** Locks the tool's row until the transaction ends; throws ToolNotFoundError. */
  const lockTool = async (client: PostgresQueryable, toolName: string): Promise<PostgresRow> => {
    const row = (
      await client.query(`SELECT ${toolColumns} FROM ${table('tools')} WHERE name = $1 FOR UPDATE`, [
        toolName,
      ])
    ).rows[0];
    if (!row) throw new ToolNotFoundError(toolName);
    return row;
  };
  const insertVersion = async (
    client: PostgresQueryable,
    toolName: string,
    field: string,
    version: NewToolVersion,
    number: number,
    createdAt: number,
  ): Promise<ToolVersion> => {
    const row = toVersionRow(toolName, field, version, number, createdAt);
    await client.query(
      `INSERT INTO ${table('tool_versions')} (${versionColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      row.values,
    );
    return row.version;
  };

  const insertAudit = async (client: PostgresQueryable, entry: unknown[]): Promise<AuditEntry> =>
    toAuditEntry(
      (
        await client.query(
          `INSERT INTO ${table('audit')} (type, tool_name, actor, reason, from_version, to_version, evidence, at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${auditColumns}`,
          entry,
        )
      ).rows[0] as PostgresRow,
    );
  const insertTestCase = async (
    client: PostgresQueryable,
    toolName: string,
    testCase: unknown[],
  ): Promise<StoredTestCase> =>
    toTestCase(
      (
        await client.query(
          `INSERT INTO ${table('test_cases')} (tool_name, input, expect, description, origin, input_hash, max_latency_ms, held_out, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${testCaseColumns}`,
          [toolName, ...testCase, Date.now()],
        )
      ).rows[0] as PostgresRow,
    );
  /**
   * Whether the transaction that wrote `audit` committed (its id is known before COMMIT), for a
   * connection lost while COMMIT was in flight.
   */
  const auditCommitted = async (queryable: PostgresQueryable, audit: AuditEntry | undefined) =>
    audit !== undefined &&
    (await queryable.query(`SELECT 1 FROM ${table('audit')} WHERE id = $1`, [audit.id])).rows.length === 1;

  const store: StorageAdapter = {
    name: adapterName,

    async ready() {
      await open();
    },

    close: resource.close,

    async appendInvocations(records) {
      checkInvocations(records);
      if (records.length === 0) return;
      // Serialise everything first: a value JSON cannot hold fails before anything is written.
      const rows = records.map((record, index) => [
        record.toolName,
        record.version,
        record.startedAt,
        record.latencyMs,
        record.success,
        withoutNul(record.errorCode),
        withoutNul(record.errorMessage),
        record.inputHash,
        record.outputHash ?? null,
        record.input === undefined ? null : toJsonText(`records[${index}].input`, record.input),
        record.output === undefined ? null : toJsonText(`records[${index}].output`, record.output),
      ]);
      const { executor } = await open();
      await executor.write(
        async (client) => {
          let firstId: string | undefined;
          for (let start = 0; start < rows.length; start += rowsPerInsert) {
            const chunk = rows.slice(start, start + rowsPerInsert);
            const values: unknown[] = [];
            const tuples = chunk.map((row) => {
              const base = values.length;
              values.push(...row);
              return `(${row.map((_, column) => `$${base + column + 1}`).join(', ')})`;
            });
            const insert = `INSERT INTO ${table('invocations')} (${invocationColumns}) VALUES ${tuples.join(', ')}`;
            if (firstId === undefined) {
              const result = await client.query(
                `WITH inserted AS (${insert} RETURNING id) SELECT min(id)::text AS first FROM inserted`,
                values,
              );
              firstId = result.rows[0]?.first as string;
            } else await client.query(insert, values);
          }
          return firstId as string;
        },
        {
          // The ids are known before COMMIT: if the connection broke during it, the first row
          // tells whether the batch is in (then it must not be written twice).
          committed: async (queryable, firstId) =>
            (await queryable.query(`SELECT 1 FROM ${table('invocations')} WHERE id = $1`, [firstId])).rows
              .length === 1,
        },
      );
    },

    async recentInvocations(query) {
      checkInvocationQuery(query);
      const [sql, params] = windowSql(table('invocations'), `id, ${invocationColumns}`, query);
      const { rows } = await read((queryable) => queryable.query(sql, params));
      return rows.map(toInvocation);
    },

    async aggregateWindow(query) {
      checkInvocationQuery(query);
      const [window, params] = windowSql(
        table('invocations'),
        'id, started_at, latency_ms, success, error_code, error_message',
        query,
      );
      const sql = `WITH w AS (${window})
        SELECT count(*)::int AS invocations,
          (count(*) FILTER (WHERE success))::int AS successes,
          avg(latency_ms) AS avg, min(latency_ms) AS min, max(latency_ms) AS max,
          percentile_disc(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
          percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
          min(started_at) AS first_at, max(started_at) AS last_at,
          ARRAY(SELECT coalesce(nullif(error_message, ''), nullif(error_code, ''), 'unknown error')
                FROM w WHERE NOT success ORDER BY started_at DESC, id DESC LIMIT 5) AS recent_errors
        FROM w`;
      const { rows } = await read((queryable) => queryable.query(sql, params));
      return toAggregate(rows[0] as PostgresRow);
    },

    async pruneInvocations(policy) {
      checkRetention(policy);
      const { maxRecordsPerVersion, maxRecords, olderThan } = policy;
      const cutoffs = rollupCutoffs(policy.now ?? Date.now());
      const invocations = table('invocations');
      const returning =
        'RETURNING i.tool_name, i.version, i.started_at, i.latency_ms, i.success, i.error_code';
      // Every (tool, version) with invocations, found by one index seek per group instead of a scan.
      const groups = `WITH RECURSIVE groups AS (
          (SELECT tool_name, version FROM ${invocations} ORDER BY tool_name, version LIMIT 1)
          UNION ALL
          SELECT n.tool_name, n.version FROM groups g CROSS JOIN LATERAL (
            SELECT i.tool_name, i.version FROM ${invocations} i
            WHERE (i.tool_name, i.version) > (g.tool_name, g.version)
            ORDER BY i.tool_name, i.version LIMIT 1) n
        ),`;
      // Each statement deletes rows and folds exactly the rows it deleted into the rollups.
      const foldAndDelete = async (
        client: PostgresQueryable,
        prefix: string,
        deletion: string,
        value: number,
      ) =>
        (
          await client.query(foldAndDeleteSql(table, prefix, deletion, '$2', '$3'), [
            value,
            cutoffs.dayBefore,
            cutoffs.hourBefore,
          ])
        ).rows[0]?.deleted as number;
      return write(async (client) => {
        // One prune at a time per schema: concurrent rollup upserts could otherwise deadlock.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [
          'self-improving-agent:prune',
          settings.schema,
        ]);
        let deleted = 0;
        if (olderThan !== undefined)
          deleted += await foldAndDelete(
            client,
            groups,
            `DELETE FROM ${invocations} i USING groups g
             WHERE i.tool_name = g.tool_name AND i.version = g.version AND i.started_at < $1 ${returning}`,
            olderThan,
          );
        if (maxRecordsPerVersion !== undefined)
          // Per group, the newest row beyond the kept ones: it and everything older goes.
          deleted += await foldAndDelete(
            client,
            `${groups} cutoffs AS (
               SELECT g.tool_name, g.version, c.started_at, c.id FROM groups g CROSS JOIN LATERAL (
                 SELECT i.started_at, i.id FROM ${invocations} i
                 WHERE i.tool_name = g.tool_name AND i.version = g.version
                 ORDER BY i.started_at DESC, i.id DESC OFFSET $1 LIMIT 1) c),`,
            `DELETE FROM ${invocations} i USING cutoffs c
             WHERE i.tool_name = c.tool_name AND i.version = c.version
               AND (i.started_at, i.id) <= (c.started_at, c.id) ${returning}`,
            maxRecordsPerVersion,
          );
        // Ids only grow, so their span bounds the row count: only a store past the bound is
        // walked (down the primary key, to the newest row beyond the kept ones: it and every
        // older insert goes).
        const span =
          maxRecords === undefined
            ? 0
            : Number(
                (await client.query(`SELECT (max(id) - min(id) + 1)::float8 AS span FROM ${invocations}`))
                  .rows[0]?.span ?? 0,
              );
        if (maxRecords !== undefined && span > maxRecords)
          deleted += await foldAndDelete(
            client,
            'WITH',
            `DELETE FROM ${invocations} i
             WHERE i.id <= (SELECT id FROM ${invocations} ORDER BY id DESC OFFSET $1 LIMIT 1) ${returning}`,
            maxRecords,
          );
        for (const [from, statements] of coarsenSql(table)) {
          const before = from === MINUTE_MS ? cutoffs.hourBefore : cutoffs.dayBefore;
          const older = await client.query(
            `SELECT 1 FROM ${table('invocation_rollups')} WHERE width_ms = $1 AND bucket_start < $2 LIMIT 1`,
            [from, before],
          );
          if (older.rows.length === 0) continue;
          for (const statement of statements) await client.query(statement, [before]);
        }
        return { deleted };
      });
    },

    async invocationHistory(query) {
      checkHistoryQuery(query);
      const range = historyRange(query);
      const [sql, params] = historySql(table, query.toolName, query.version, range);
      const { rows } = await read((queryable) => queryable.query(sql, params));
      return mergeHistory(sourcesFromRows(rows), range.bucketMs);
    },

    async createTool(tool) {
      checkNewTool(tool);
      // Serialise everything first: a value JSON cannot hold fails before anything is written.
      const cases = (tool.testCases ?? []).map((testCase) =>
        toTestCaseParams(testCase, (heldOut) => heldOut),
      );
      const entry =
        tool.audit === undefined ? undefined : toAuditParams({ ...tool.audit, toolName: tool.name });
      const { executor } = await open();
      return executor.write(
        async (client) => {
          const createdAt = Date.now();
          const inserted = await client.query(
            `INSERT INTO ${table('tools')} (${toolColumns}) VALUES ($1, $2, $3, 1, false, 0, NULL, $4, false)
           ON CONFLICT (name) DO NOTHING RETURNING ${toolColumns}`,
            [tool.name, tool.description, createdAt, tool.kind ?? 'sandboxed'],
          );
          const row = inserted.rows[0];
          if (!row) throw new ToolExistsError(tool.name);
          const version = await insertVersion(
            client,
            tool.name,
            'tool.firstVersion',
            tool.firstVersion,
            1,
            createdAt,
          );
          const testCases: StoredTestCase[] = [];
          for (const testCase of cases) testCases.push(await insertTestCase(client, tool.name, testCase));
          const audit = entry === undefined ? undefined : await insertAudit(client, entry);
          await notifyActive(client, tool.name, 1);
          return { tool: toToolRecord(row), version, testCases, ...(audit === undefined ? {} : { audit }) };
        },
        entry === undefined
          ? {}
          : { committed: (queryable, result) => auditCommitted(queryable, result.audit) },
      );
    },

    async getTool(name) {
      const { rows } = await read((queryable) =>
        queryable.query(`SELECT ${toolColumns} FROM ${table('tools')} WHERE name = $1`, [name]),
      );
      return rows[0] ? toToolRecord(rows[0]) : undefined;
    },

    async listTools() {
      const { rows } = await read((queryable) =>
        // COLLATE "C": the same order as the other adapters, whatever the database's collation.
        queryable.query(`SELECT ${toolColumns} FROM ${table('tools')} ORDER BY name COLLATE "C"`),
      );
      return rows.map(toToolRecord);
    },

    async addVersion(toolName, version, audit, options) {
      checkNewVersion('version', version);
      const activate = options?.activate === true;
      const { executor } = await open();
      const added = await executor.write(
        async (client): Promise<{ version: ToolVersion; audit?: AuditEntry }> => {
          // The row lock serialises version numbering per tool across every process.
          await lockTool(client, toolName);
          const next = (
            await client.query(
              `SELECT COALESCE(MAX(version), 0) + 1 AS next FROM ${table('tool_versions')} WHERE tool_name = $1`,
              [toolName],
            )
          ).rows[0]?.next as number;
          const stored = await insertVersion(client, toolName, 'version', version, next, Date.now());
          let entry: ToolAuditEntry | undefined;
          if (audit !== undefined) {
            // The entry commits with the version, or neither does.
            entry = audit(structuredClone(stored));
            checkNewAuditEntry(entry);
          }
          if (activate) {
            await client.query(`UPDATE ${table('tools')} SET active_version = $1 WHERE name = $2`, [
              stored.version,
              toolName,
            ]);
            // Delivered to listeners only if and when this transaction commits.
            await notifyActive(client, toolName, stored.version);
          }
          if (entry === undefined) return { version: stored };
          return { version: stored, audit: await insertAudit(client, toAuditParams({ ...entry, toolName })) };
        },
        audit === undefined
          ? {}
          : { committed: (queryable, result) => auditCommitted(queryable, result.audit) },
      );
      return added.version;
    },

    async getVersion(toolName, version) {
      const { rows } = await read((queryable) =>
        queryable.query(
          `SELECT ${versionColumns} FROM ${table('tool_versions')} WHERE tool_name = $1 AND version = $2`,
          [toolName, version],
        ),
      );
      return rows[0] ? toToolVersion(rows[0]) : undefined;
    },

    async listVersions(toolName) {
      const { rows } = await read((queryable) =>
        queryable.query(
          `SELECT ${versionColumns} FROM ${table('tool_versions')} WHERE tool_name = $1 ORDER BY version`,
          [toolName],
        ),
      );
      return rows.map(toToolVersion);
    },

    async getActiveVersion(toolName) {
      const joined = versionColumns
        .split(', ')
        .map((column) => `v.${column}`)
        .join(', ');
      const { rows } = await read((queryable) =>
        queryable.query(
          `SELECT ${joined} FROM ${table('tools')} t JOIN ${table('tool_versions')} v
           ON v.tool_name = t.name AND v.version = t.active_version WHERE t.name = $1`,
          [toolName],
        ),
      );
      return rows[0] ? toToolVersion(rows[0]) : undefined;
    },

    async compareAndSetActive(toolName, expected, next, audit, options) {
      checkInteger('expected', expected, 1);
      checkInteger('next', next, 1);
      const entry = toToolAuditParams(toolName, audit);
      const { executor } = await open();
      return executor.write(
        async (client): Promise<CompareAndSetResult> => {
          // Compare and set under the tool's row lock: a concurrent swap waits here, then reads
          // the value this one committed.
          const tool = await lockTool(client, toolName);
          const exists = await client.query(
            `SELECT 1 FROM ${table('tool_versions')} WHERE tool_name = $1 AND version = $2`,
            [toolName, next],
          );
          if (exists.rows.length === 0) throw new VersionNotFoundError(toolName, next);
          const actual = tool.active_version as number;
          // Read under the row lock: a concurrent pin waits for this transaction, or this one for it.
          if (options?.requireUnpinned === true && tool.pinned === true)
            return { swapped: false, actual, pinned: true } as const;
          if (actual !== expected) return { swapped: false, actual } as const;
          await client.query(`UPDATE ${table('tools')} SET active_version = $1 WHERE name = $2`, [
            next,
            toolName,
          ]);
          // The audit entry commits with the swap, or neither does.
          const stored = entry === undefined ? undefined : await insertAudit(client, entry);
          // Delivered to listeners only if and when this transaction commits.
          await notifyActive(client, toolName, next);
          return stored === undefined ? { swapped: true } : { swapped: true, audit: stored };
        },
        entry === undefined
          ? {}
          : {
              // Not swapped: nothing was written, rerunning is harmless (it reports the same conflict).
              committed: async (queryable, result) =>
                !result.swapped || (await auditCommitted(queryable, result.audit)),
            },
      );
    },

    async setPinned(toolName, pinned, audit) {
      checkBoolean('pinned', pinned);
      const entry = toToolAuditParams(toolName, audit);
      const { executor } = await open();
      return executor.write(
        async (client) => {
          const result = await client.query(`UPDATE ${table('tools')} SET pinned = $1 WHERE name = $2`, [
            pinned,
            toolName,
          ]);
          if (result.rowCount === 0) throw new ToolNotFoundError(toolName);
          return entry === undefined ? undefined : insertAudit(client, entry);
        },
        entry === undefined ? {} : { committed: (queryable, stored) => auditCommitted(queryable, stored) },
      );
    },

    async setDisabled(toolName, disabled, audit) {
      checkBoolean('disabled', disabled);
      const entry = toToolAuditParams(toolName, audit);
      const { executor } = await open();
      return executor.write(
        async (client) => {
          const result = await client.query(`UPDATE ${table('tools')} SET disabled = $1 WHERE name = $2`, [
            disabled,
            toolName,
          ]);
          if (result.rowCount === 0) throw new ToolNotFoundError(toolName);
          return entry === undefined ? undefined : insertAudit(client, entry);
        },
        entry === undefined ? {} : { committed: (queryable, stored) => auditCommitted(queryable, stored) },
      );
    },

    async recordRewrite(toolName, at) {
      checkFinite('at', at);
      return write(async (client) => {
        const row = (
          await client.query(
            `UPDATE ${table('tools')} SET rewrites = rewrites + 1, last_rewrite_at = $1 WHERE name = $2
             RETURNING ${toolColumns}`,
            [at, toolName],
          )
        ).rows[0];
        if (!row) throw new ToolNotFoundError(toolName);
        return toToolRecord(row).counters;
      });
    },

    async addTestCase(toolName, testCase, audit) {
      checkNewTestCase(testCase);
      const row = toTestCaseParams(testCase, (heldOut) => heldOut);
      const { executor } = await open();
      return executor.write(
        async (client): Promise<AddedTestCase> => {
          const exists = await client.query(`SELECT 1 FROM ${table('tools')} WHERE name = $1`, [toolName]);
          if (exists.rows.length === 0) throw new ToolNotFoundError(toolName);
          const stored = await insertTestCase(client, toolName, row);
          if (audit === undefined) return stored;
          // The entry commits with the case, or neither does.
          const entry = audit(structuredClone(stored));
          checkNewAuditEntry(entry);
          return { ...stored, audit: await insertAudit(client, toAuditParams({ ...entry, toolName })) };
        },
        audit === undefined
          ? {}
          : { committed: (queryable, result) => auditCommitted(queryable, result.audit) },
      );
    },

    async listTestCases(toolName) {
      const { rows } = await read((queryable) =>
        queryable.query(
          `SELECT ${testCaseColumns} FROM ${table('test_cases')} WHERE tool_name = $1 ORDER BY id`,
          [toolName],
        ),
      );
      return rows.map(toTestCase);
    },

    async removeTestCase(toolName, id, audit) {
      if (!Number.isSafeInteger(id)) return false;
      const { executor } = await open();
      const removed = await executor.write(
        async (client): Promise<{ removed: boolean; audit?: AuditEntry }> => {
          const result = await client.query(
            `DELETE FROM ${table('test_cases')} WHERE tool_name = $1 AND id = $2 RETURNING ${testCaseColumns}`,
            [toolName, id],
          );
          const row = result.rows[0];
          if (row === undefined) return { removed: false };
          if (audit === undefined) return { removed: true };
          // The entry commits with the removal, or neither does.
          const entry = audit(toTestCase(row));
          checkNewAuditEntry(entry);
          return { removed: true, audit: await insertAudit(client, toAuditParams({ ...entry, toolName })) };
        },
        audit === undefined
          ? {}
          : {
              // Nothing removed: nothing was written, rerunning is harmless.
              committed: async (queryable, result) =>
                !result.removed || (await auditCommitted(queryable, result.audit)),
            },
      );
      return removed.removed;
    },

    async appendAudit(entry) {
      checkNewAuditEntry(entry);
      const row = toAuditParams(entry);
      return write((client) => insertAudit(client, row));
    },

    async listAudit(query = {}) {
      checkAuditQuery(query);
      const conditions: string[] = [];
      const params: unknown[] = [];
      const add = (condition: string, value: unknown) => {
        params.push(value);
        conditions.push(`${condition} $${params.length}`);
      };
      if (query.afterId !== undefined) add('id >', query.afterId);
      if (query.toolName !== undefined) add('tool_name =', query.toolName);
      if (query.type !== undefined) add('type =', query.type);
      if (query.since !== undefined) add('at >=', query.since);
      params.push(query.limit ?? null); // LIMIT NULL: no limit
      const where = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
      const { rows } = await read((queryable) =>
        queryable.query(
          `SELECT ${auditColumns} FROM ${table('audit')}${where} ORDER BY id LIMIT $${params.length}`,
          params,
        ),
      );
      return rows.map(toAuditEntry);
    },

    async acquireLease(key, holder, ttlMs) {
      checkName('key', key);
      checkName('holder', holder);
      checkInteger('ttlMs', ttlMs, 1);
      // One atomic statement, judged by the server's clock (no skew between processes). It is
      // safe to repeat: a retry by the same holder just extends the lease it may already hold.
      const { rows } = await read((queryable) =>
        queryable.query(
          `INSERT INTO ${table('leases')} AS l (key, holder, expires_at)
           VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
           ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE l.expires_at <= clock_timestamp() OR l.holder = excluded.holder
           RETURNING holder`,
          [key, holder, ttlMs],
        ),
      );
      return rows.length === 1;
    },

    async releaseLease(key, holder) {
      checkName('key', key);
      checkName('holder', holder);
      await read((queryable) =>
        queryable.query(`DELETE FROM ${table('leases')} WHERE key = $1 AND holder = $2`, [key, holder]),
      );
    },

    watchActive(listener: (change: ActiveVersionChange) => void) {
      if (resource.closed) throw new StorageClosedError(adapterName);
      if (typeof listener !== 'function')
        throw new StorageInputError({ field: 'listener', expected: 'a function', value: listener });
      let unsubscribed = false;
      let unsubscribe: (() => void) | undefined;
      let attempt = 0;
      // The store may not be open yet (or the server not reachable yet): keep trying in the
      // background, so a watcher started before the database is up still starts.
      const subscribeWhenOpen = () => {
        open().then(
          (opened) => {
            if (!unsubscribed && !resource.closed) unsubscribe = opened.watcher.subscribe(listener);
          },
          (error: unknown) => {
            if (unsubscribed || resource.closed) return;
            report(error, 'watchActive could not open the storage; retrying');
            const { reconnectInitialDelayMs, reconnectMaxDelayMs } = settings.watch;
            const wait = Math.min(reconnectMaxDelayMs, reconnectInitialDelayMs * 2 ** Math.min(20, attempt));
            attempt += 1;
            setTimeout(subscribeWhenOpen, wait).unref();
          },
        );
      };
      subscribeWhenOpen();
      return () => {
        unsubscribed = true;
        unsubscribe?.();
      };
    },
  };
  return store;
}

/** The newest `limit` rows of a query, matching an index exactly so the scan stops after `limit` rows. */
function windowSql(table: string, columns: string, query: InvocationQuery): [string, unknown[]] {
  const params: unknown[] = [query.toolName];
  let where = 'tool_name = $1';
  if (query.version !== undefined) {
    params.push(query.version);
    where += ` AND version = $${params.length}`;
  }
  if (query.since !== undefined) {
    params.push(query.since);
    where += ` AND started_at >= $${params.length}`;
  }
  params.push(query.limit);
  return [
    `SELECT ${columns} FROM ${table} WHERE ${where} ORDER BY started_at DESC, id DESC LIMIT $${params.length}`,
    params,
  ];
}

/** PostgreSQL text cannot hold NUL; an error message from a tool might. */
function withoutNul(text: string | undefined): string | null {
  if (text === undefined) return null;
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

function toAggregate(row: PostgresRow): WindowAggregate {
  const invocations = row.invocations as number;
  if (invocations === 0)
    return { invocations: 0, successes: 0, latencyMs: null, recentErrors: [], firstAt: null, lastAt: null };
  return {
    invocations,
    successes: row.successes as number,
    latencyMs: {
      avg: row.avg as number,
      min: row.min as number,
      max: row.max as number,
      p50: row.p50 as number,
      p95: row.p95 as number,
    },
    recentErrors: row.recent_errors as string[],
    firstAt: row.first_at as number,
    lastAt: row.last_at as number,
  };
}

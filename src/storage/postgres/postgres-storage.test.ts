import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  clusterDirectory,
  databaseUrl,
  dropSchemas,
  freshSchema,
  noteSkipped,
  suiteDatabase,
  terminateBackends,
} from '../../../test/support/postgres-database.ts';
import { InvalidOptionError } from '../../core/invalid-option-error.ts';
import { PerformanceMemory } from '../../memory/performance-memory.ts';
import { runCoordinationContract } from '../../testing/coordination-contract.ts';
import { runStorageContract } from '../../testing/storage-contract.ts';
import type { InvocationRecord } from '../records.ts';
import type { StorageAdapter } from '../storage-adapter.ts';
import { StorageUnavailableError } from '../storage-errors.ts';
import { loadPg } from './load-pg.ts';
import { PostgresDriverMissingError, PostgresSchemaTooNewError } from './postgres-errors.ts';
import { isConnectionFailure, isRerunnable, loginProblem } from './postgres-failures.ts';
import { migratePostgres, postgresMigrations } from './postgres-migrations.ts';
import type { PostgresPool } from './postgres-pool.ts';
import { postgresStorage } from './postgres-storage.ts';
import { describeTarget } from './postgres-storage-options.ts';

noteSkipped('PostgreSQL adapter tests');

describe('postgresStorage() without a server', () => {
  it('checks its options at construction, naming the field and the value', () => {
    const invalid = (call: () => unknown, option: string) => {
      let error: unknown;
      try {
        call();
      } catch (caught) {
        error = caught;
      }
      expect(InvalidOptionError.isInstance(error)).toBe(true);
      expect((error as InvalidOptionError).option).toBe(option);
    };
    const url = 'postgres://u@127.0.0.1:1/db';
    invalid(() => postgresStorage({} as never), 'connection');
    invalid(() => postgresStorage({ connectionString: url, pool: {} } as never), 'connection');
    invalid(() => postgresStorage({ connectionString: '' }), 'connection.connectionString');
    invalid(() => postgresStorage({ pool: { connect: 1 } as never }), 'connection.pool');
    invalid(() => postgresStorage({ connectionString: url }, { schema: 'Sia' }), 'schema');
    invalid(() => postgresStorage({ connectionString: url }, { schema: 'a-b; DROP' }), 'schema');
    invalid(() => postgresStorage({ connectionString: url }, { schema: 'x'.repeat(57) }), 'schema');
    invalid(
      () => postgresStorage({ connectionString: url }, { statementTimeoutMs: -1 }),
      'statementTimeoutMs',
    );
    invalid(
      () => postgresStorage({ connectionString: url }, { retry: { maxAttempts: 0 } }),
      'retry.maxAttempts',
    );
    invalid(
      () => postgresStorage({ connectionString: url }, { retry: { initialDelayMs: 100, maxDelayMs: 10 } }),
      'retry.maxDelayMs',
    );
    invalid(
      () => postgresStorage({ connectionString: url }, { watch: { pollIntervalMs: 1 } }),
      'watch.pollIntervalMs',
    );
    invalid(() => postgresStorage({ connectionString: url }, { onError: 'log' as never }), 'onError');
    const pool = new pg.Pool({ connectionString: url });
    invalid(() => postgresStorage({ pool }, { statementTimeoutMs: 1000 }), 'statementTimeoutMs');
    invalid(() => postgresStorage({ pool }, { poolSize: 2 }), 'poolSize');
    // Valid options construct without connecting.
    expect(postgresStorage({ pool }, { schema: 'tenant_7' }).name).toBe('postgres');
    void pool.end();
  });

  it('accepts a pg.Pool as PostgresPool (a compile-time check of the structural type)', () => {
    const pool: PostgresPool = new pg.Pool();
    expect(typeof pool.connect).toBe('function');
    void pool.end();
  });

  it('turns a missing pg package into PostgresDriverMissingError telling to npm install pg', async () => {
    const missing = Object.assign(new Error("Cannot find package 'pg'"), { code: 'ERR_MODULE_NOT_FOUND' });
    const error = await loadPg(() => Promise.reject(missing)).catch((caught: unknown) => caught);
    expect(PostgresDriverMissingError.isInstance(error)).toBe(true);
    expect((error as PostgresDriverMissingError).code).toBe('POSTGRES_DRIVER_MISSING');
    expect((error as Error).message).toContain('npm install pg');
    expect((error as Error).cause).toBe(missing);
    // Other failures are not disguised.
    const broken = new SyntaxError('bad module');
    await expect(loadPg(() => Promise.reject(broken))).rejects.toBe(broken);
    // The real one loads, with its Pool.
    expect(typeof (await loadPg()).Pool).toBe('function');
  });

  it('reports an unreachable server as StorageUnavailableError after bounded retries', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    const storage = postgresStorage(
      { connectionString: 'postgres://sia:secret-password@127.0.0.1:1/sia' },
      { retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 } },
    );
    const error = await storage.listTools().catch((caught: unknown) => caught);
    expect(StorageUnavailableError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('127.0.0.1:1/sia as "sia"');
    expect((error as Error).message).toContain('after 3 attempts');
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect((error as Error).message).not.toContain('secret-password');
    await storage.close();
  });

  it('classifies failures: what may be rerun, what is a lost connection, what is a bad login', () => {
    const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });
    expect(isRerunnable(withCode('40001'))).toBe(true);
    expect(isRerunnable(withCode('40P01'))).toBe(true);
    expect(isRerunnable(withCode('23505'))).toBe(false);
    for (const code of ['57P01', '57P03', '08006', 'ECONNREFUSED', 'ECONNRESET'])
      expect(isConnectionFailure(withCode(code))).toBe(true);
    expect(isConnectionFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionFailure(withCode('42P01'))).toBe(false);
    expect(loginProblem(withCode('28P01'), 'h:5432/db')).toContain('Check the user and password');
    expect(loginProblem(withCode('3D000'), 'h:5432/db')).toContain('createdb');
    expect(loginProblem(withCode('28000'), 'h:5432/db')).toContain('pg_hba.conf');
    expect(loginProblem(withCode('57P01'), 'h:5432/db')).toBeUndefined();
    expect(describeTarget('postgres://alice:pw@db.example:6543/app')).toBe('db.example:6543/app as "alice"');
    expect(describeTarget('host=/tmp dbname=x')).toBe('the server in the connection string');
  });
});

describe.skipIf(databaseUrl === undefined)('postgresStorage() on a real server', () => {
  const database = suiteDatabase();
  const { schemas } = database;
  const url = databaseUrl as string;
  const schemaOf = new WeakMap<StorageAdapter, string>();
  const open = (schema = freshSchema(), options: Parameters<typeof postgresStorage>[1] = {}) => {
    database.schema(schema);
    const storage = postgresStorage({ connectionString: url }, { schema, ...options });
    schemaOf.set(storage, schema);
    return storage;
  };

  runStorageContract('postgresStorage()', () => open());
  runCoordinationContract('postgresStorage()', () => open(), {
    connect: (storage) => open(schemaOf.get(storage)),
  });

  it('migrates once: a second start, or a rerun, changes nothing', async () => {
    const schema = database.schema();
    const client = await database.admin.connect();
    try {
      await client.query('BEGIN');
      const first = await migratePostgres(client, schema);
      await client.query('COMMIT');
      expect(first).toEqual({ from: 0, to: 4, applied: [1, 2, 3, 4] });
      await client.query('BEGIN');
      expect(await migratePostgres(client, schema)).toEqual({ from: 4, to: 4, applied: [] });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const { rows } = await database.admin.query(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    );
    expect(rows.map((row) => row.table_name)).toEqual([
      'audit',
      'invocation_rollup_errors',
      'invocation_rollups',
      'invocations',
      'leases',
      'meta',
      'test_cases',
      'tool_versions',
      'tools',
    ]);
    // The adapter opens on the migrated schema without changing it.
    const storage = open(schema);
    await storage.ready?.();
    expect(await storage.listTools()).toEqual([]);
    await storage.close();
    expect(postgresMigrations.map((step) => step.version)).toEqual([1, 2, 3, 4]);
  });

  it('upgrades a schema-2 schema in place: its versions have no outputSchema, new ones keep theirs', async () => {
    const schema = database.schema();
    const client = await database.admin.connect();
    try {
      await client.query('BEGIN');
      await migratePostgres(
        client,
        schema,
        postgresMigrations.filter((step) => step.version <= 2),
      );
      await client.query(
        `INSERT INTO "${schema}".tools (name, description, created_at, active_version) VALUES ('add', 'Adds', 1, 1)`,
      );
      await client.query(
        `INSERT INTO "${schema}".tool_versions (tool_name, version, source, input_schema, capabilities, parent_version, reason, author, created_at)
         VALUES ('add', 1, 'function add({ a, b }) { return a + b; }', '{"type":"object"}', '{"network":[]}', NULL, 'first', 'human', 1)`,
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const storage = open(schema);
    const [old] = await storage.listVersions('add');
    expect(old).toMatchObject({ version: 1, reason: 'first' });
    expect('outputSchema' in (old as object)).toBe(false);
    const added = await storage.addVersion('add', {
      source: 'function add({ a, b }) { return a + b; }',
      inputSchema: { type: 'object' },
      outputSchema: { type: 'number', minimum: 0 },
      capabilities: { network: [] },
      parentVersion: 1,
      reason: 'typed result',
      author: 'human',
    });
    expect(added.outputSchema).toEqual({ type: 'number', minimum: 0 });
    expect((await storage.getVersion('add', 2))?.outputSchema).toEqual({ type: 'number', minimum: 0 });
    await storage.close();
    const { rows } = await database.admin.query(
      `SELECT version, output_schema FROM "${schema}".tool_versions ORDER BY version`,
    );
    expect(rows).toEqual([
      { version: 1, output_schema: null },
      { version: 2, output_schema: '{"type":"number","minimum":0}' },
    ]);
  });

  it('upgrades a schema-3 schema in place: its tools are sandboxed and enabled, its versions unlabelled', async () => {
    const schema = database.schema();
    const client = await database.admin.connect();
    try {
      await client.query('BEGIN');
      await migratePostgres(
        client,
        schema,
        postgresMigrations.filter((step) => step.version <= 3),
      );
      await client.query(
        `INSERT INTO "${schema}".tools (name, description, created_at, active_version) VALUES ('add', 'Adds', 1, 1)`,
      );
      await client.query(
        `INSERT INTO "${schema}".tool_versions (tool_name, version, source, input_schema, capabilities, parent_version, reason, author, created_at)
         VALUES ('add', 1, 'function add({ a, b }) { return a + b; }', '{"type":"object"}', '{"network":[]}', NULL, 'first', 'human', 1)`,
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const storage = open(schema);
    expect(await storage.getTool('add')).toMatchObject({ kind: 'sandboxed', disabled: false });
    const [old] = await storage.listVersions('add');
    expect('label' in (old as object)).toBe(false);
    await storage.setDisabled?.('add', true);
    await storage.createTool({
      name: 'weather',
      description: 'W',
      kind: 'host',
      firstVersion: {
        source: '',
        inputSchema: { type: 'object' },
        capabilities: { network: [] },
        parentVersion: null,
        reason: 'r',
        author: 'host',
        label: 'abc1234',
      },
    });
    await storage.close();
    const tools = await database.admin.query(
      `SELECT name, kind, disabled FROM "${schema}".tools ORDER BY name`,
    );
    expect(tools.rows).toEqual([
      { name: 'add', kind: 'sandboxed', disabled: true },
      { name: 'weather', kind: 'host', disabled: false },
    ]);
    const versions = await database.admin.query(
      `SELECT tool_name, label FROM "${schema}".tool_versions ORDER BY tool_name`,
    );
    expect(versions.rows).toEqual([
      { tool_name: 'add', label: null },
      { tool_name: 'weather', label: 'abc1234' },
    ]);
  });

  it('refuses a schema migrated by a newer release', async () => {
    const storage = open();
    await storage.ready?.();
    await storage.close();
    const schema = schemas.at(-1) as string;
    await database.admin.query(`UPDATE "${schema}".meta SET value = '99' WHERE key = 'schema_version'`);
    const again = open(schema);
    const error = await again.listTools().catch((caught: unknown) => caught);
    expect(PostgresSchemaTooNewError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ schema, found: 99, supported: 4, code: 'POSTGRES_SCHEMA_TOO_NEW' });
    expect((error as Error).message).toContain('Upgrade self-improving-agent');
    await again.close();
  });

  it('writes a batch larger than one INSERT statement atomically', async () => {
    const storage = open();
    const batch = (count: number, prefix: string): InvocationRecord[] =>
      Array.from({ length: count }, (_, index) => ({
        toolName: 'bulk',
        version: 1,
        startedAt: index,
        latencyMs: index % 97,
        success: index % 5 !== 0,
        ...(index % 5 === 0 ? { errorMessage: `failed ${index}` } : {}),
        inputHash: `${prefix}${index}`,
      }));
    await storage.appendInvocations(batch(2_500, 'ok-'));
    expect((await storage.aggregateWindow({ toolName: 'bulk', limit: 10_000 })).invocations).toBe(2_500);
    // The server refuses a NUL in text; the row is past the first two statements of the batch.
    const broken = batch(2_500, 'broken-');
    broken[2_400] = { ...(broken[2_400] as InvocationRecord), inputHash: 'nul\u0000here' };
    await expect(storage.appendInvocations(broken)).rejects.toThrow();
    expect((await storage.aggregateWindow({ toolName: 'bulk', limit: 10_000 })).invocations).toBe(2_500);
    // A NUL in an error message (tool output we do not control) is replaced, not refused.
    await storage.appendInvocations([
      {
        toolName: 'nul',
        version: 1,
        startedAt: 1,
        latencyMs: 1,
        success: false,
        errorMessage: 'a\u0000b',
        inputHash: 'h',
      },
    ]);
    expect((await storage.recentInvocations({ toolName: 'nul', limit: 1 }))[0]?.errorMessage).toBe(
      'a\uFFFDb',
    );
    await storage.close();
  });

  it('aggregates a window by reading only the window from the (tool, version, time) index', async () => {
    const storage = open();
    const records: InvocationRecord[] = [];
    for (let index = 0; index < 20_000; index += 1)
      records.push({
        toolName: `tool_${index % 4}`,
        version: 1 + (index % 3),
        startedAt: 1_000_000 + index,
        latencyMs: index % 250,
        success: true,
        inputHash: 'h',
      });
    await storage.appendInvocations(records);
    const schema = schemas.at(-1) as string;
    await database.admin.query(`ANALYZE "${schema}".invocations`);
    const plan = async (versionClause: string) => {
      const { rows } = await database.admin.query(
        `EXPLAIN (ANALYZE, FORMAT JSON) SELECT id, started_at, latency_ms, success, error_code, error_message FROM "${schema}".invocations WHERE tool_name = 'tool_1' ${versionClause} ORDER BY started_at DESC, id DESC LIMIT 20`,
      );
      return JSON.stringify(rows[0]?.['QUERY PLAN']);
    };
    const byVersion = await plan('AND version = 2');
    expect(byVersion).toContain('"Index Name":"invocations_by_version"');
    expect(byVersion).toContain('"Scan Direction":"Backward"');
    expect(byVersion).toMatch(/"Node Type":"Index (Only )?Scan"[^}]*"Actual Rows":20/);
    const byTool = await plan('');
    expect(byTool).toContain('"Index Name":"invocations_by_tool"');
    const window = await storage.aggregateWindow({ toolName: 'tool_1', version: 2, limit: 20 });
    expect(window.invocations).toBe(20);
    expect(window.lastAt).toBe(1_000_000 + 19_993); // the last index ≡ 1 (mod 4) and ≡ 1 (mod 3)
    await storage.close();
  });

  it('folds pruned rows into rollups in the deleting transaction: a failure keeps the rows, no rollups', async () => {
    const storage = open();
    const schema = schemas.at(-1) as string;
    const now = Date.UTC(2025, 0, 10, 12);
    await storage.appendInvocations(
      Array.from({ length: 300 }, (_, index) => ({
        toolName: 'fold',
        version: 1 + (index % 2),
        startedAt: now - 300_000 + index * 1000,
        latencyMs: index % 40,
        success: index % 4 !== 0,
        errorCode: 'TIMEOUT',
        inputHash: `h${index}`,
      })),
    );
    const history = async () =>
      (await storage.invocationHistory?.({ toolName: 'fold', bucketMs: 3_600_000 }))?.map(
        ({ rolledUpCalls: _rolledUp, ...bucket }) => bucket,
      );
    const before = await history();
    // The deletion fails after the folding statement's rollup inserts ran.
    await database.admin.query(`
      CREATE FUNCTION "${schema}".fail_delete() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'simulated failure'; END $$;
      CREATE TRIGGER fail_delete AFTER DELETE ON "${schema}".invocations
        FOR EACH STATEMENT EXECUTE FUNCTION "${schema}".fail_delete();`);
    await expect(storage.pruneInvocations({ maxRecordsPerVersion: 10, now })).rejects.toThrow(
      'simulated failure',
    );
    const count = async (table: string) =>
      (await database.admin.query(`SELECT count(*)::int AS n FROM "${schema}".${table}`)).rows[0]?.n;
    expect(await count('invocations')).toBe(300);
    expect(await count('invocation_rollups')).toBe(0);
    expect(await count('invocation_rollup_errors')).toBe(0);
    await database.admin.query(`DROP TRIGGER fail_delete ON "${schema}".invocations`);
    expect(await storage.pruneInvocations({ maxRecordsPerVersion: 10, now })).toEqual({ deleted: 280 });
    expect(await history()).toEqual(before);

    // Two processes pruning the same rows at once fold each row once.
    await storage.appendInvocations(
      Array.from({ length: 400 }, (_, index) => ({
        toolName: 'fold',
        version: 1,
        startedAt: now - 200_000 + index * 500,
        latencyMs: index % 13,
        success: true,
        inputHash: `again${index}`,
      })),
    );
    const grown = await history();
    const other = open(schema);
    const results = await Promise.all([
      storage.pruneInvocations({ maxRecords: 5, now }),
      other.pruneInvocations({ maxRecords: 5, now }),
      other.pruneInvocations({ maxRecords: 5, now }),
    ]);
    // Whichever ran first deleted them all; the others found nothing left to delete.
    expect(results.map((result) => result.deleted).sort((a, b) => b - a)).toEqual([415, 0, 0]);
    expect(await history()).toEqual(grown);
    await other.close();
    await storage.close();
  });

  it('borrows a given pool: adds an error listener while open, leaves the pool open on close', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 3 });
    const listenersBefore = pool.listenerCount('error');
    const schema = database.schema();
    const storage = postgresStorage({ pool }, { schema });
    await storage.ready?.();
    expect(pool.listenerCount('error')).toBe(listenersBefore + 1);
    await storage.close();
    expect(pool.listenerCount('error')).toBe(listenersBefore);
    expect((await pool.query('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    await pool.end();
  });

  it('survives its idle connections being terminated, reports it through onError, and keeps working', async () => {
    const reports: string[] = [];
    const applicationName = `sia-idle-${freshSchema('t')}`;
    const storage = open(freshSchema(), {
      applicationName,
      onError: (_error, context) => reports.push(context),
    });
    const memory = new PerformanceMemory({ storage, batch: { maxRecords: 10, maxDelayMs: 5 } });
    const recordCalls = (from: number, to: number) => {
      for (let index = from; index < to; index += 1)
        memory.record({
          toolName: 't',
          version: 1,
          startedAt: index,
          latencyMs: 1,
          success: true,
          inputHash: 'h',
        });
    };
    recordCalls(0, 30);
    await memory.flush();
    expect(await terminateBackends(database.admin, applicationName)).toBeGreaterThan(0);
    await expect
      .poll(() => reports.some((context) => context.includes('idle PostgreSQL connection failed')), {
        timeout: 60_000,
      })
      .toBe(true);
    recordCalls(30, 60);
    await memory.flush();
    expect((await memory.summary('t', { window: 100 })).invocations).toBe(60);
    await memory.close();
    await storage.close();
  });

  it('fails fast with StorageUnavailableError saying what to check for a missing database or role', async () => {
    const base = new URL(url);
    const attempt = async (change: (target: URL) => void) => {
      const target = new URL(base);
      change(target);
      const storage = postgresStorage({ connectionString: target.href }, { schema: freshSchema() });
      const started = performance.now();
      const error = await storage.ready?.().catch((caught: unknown) => caught);
      await storage.close();
      expect(StorageUnavailableError.isInstance(error)).toBe(true);
      return { message: (error as Error).message, elapsedMs: performance.now() - started };
    };
    const database = await attempt((target) => {
      target.pathname = '/sia_no_such_database';
    });
    expect(database.message).toContain('3D000');
    expect(database.message).toContain('createdb');
    const role = await attempt((target) => {
      target.username = 'sia_no_such_role';
    });
    expect(role.message).toContain('28000');
    expect(role.message).toContain('role');
  });

  it.skipIf(clusterDirectory === undefined)(
    'fails fast with StorageUnavailableError on a wrong password (28P01), never echoing it',
    async () => {
      await database.admin.query('DROP ROLE IF EXISTS sia_password_user');
      await database.admin.query("CREATE ROLE sia_password_user LOGIN PASSWORD 'right-password'");
      // Owned by the role: dropped here, before the role, not with the suite's schemas.
      const schema = freshSchema();
      try {
        const target = new URL(url);
        target.username = 'sia_password_user';
        target.password = 'wrong-password';
        const storage = postgresStorage({ connectionString: target.href }, { schema: freshSchema() });
        const error = await storage.ready?.().catch((caught: unknown) => caught);
        await storage.close();
        expect(StorageUnavailableError.isInstance(error)).toBe(true);
        expect((error as Error).message).toContain('28P01');
        expect((error as Error).message).toContain('Check the user and password');
        expect((error as Error).message).not.toContain('wrong-password');
        target.password = 'right-password';
        await database.admin.query(`CREATE SCHEMA "${schema}" AUTHORIZATION sia_password_user`);
        const allowed = postgresStorage({ connectionString: target.href }, { schema });
        expect(await allowed.listTools()).toEqual([]);
        await allowed.close();
      } finally {
        await dropSchemas(database.admin, [schema]);
        await database.admin.query('DROP ROLE IF EXISTS sia_password_user');
      }
    },
  );
});

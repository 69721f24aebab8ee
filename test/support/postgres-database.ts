/**
 * PostgreSQL for the tests: whether a server is configured (DATABASE_URL), fresh schemas that
 * are dropped afterwards, and admin queries (terminating an adapter's connections, …).
 *
 * Start a throwaway server with `eval "$(bash test/support/start-postgres.sh start /tmp/sia-pg)"`
 * (that is what .ci/run does); without DATABASE_URL the PostgreSQL tests are skipped and say so.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

/** The first version of a tool `add`, for the PostgreSQL adapter tests. */
export const firstVersion = {
  source: 'function add({ a, b }) { return a + b; }',
  inputSchema: { type: 'object' },
  capabilities: { network: [] },
  parentVersion: null,
  reason: 'first',
  author: 'human' as const,
};

/** The server the tests use, from DATABASE_URL; undefined when none is configured. */
export const databaseUrl: string | undefined = process.env.DATABASE_URL || undefined;

/** Folder of a cluster made by start-postgres.sh (so tests may restart it); undefined otherwise. */
export const clusterDirectory: string | undefined = process.env.SIA_PG_DIR || undefined;

/** Prints why a PostgreSQL suite is skipped (vitest only shows the test as skipped). */
export function noteSkipped(suite: string, reason?: string): void {
  if (databaseUrl !== undefined && reason === undefined) return;
  process.stdout.write(
    `${suite} skipped: ${
      reason ??
      'DATABASE_URL is not set; start a server with `eval "$(bash test/support/start-postgres.sh start /tmp/sia-pg)"`'
    }\n`,
  );
}

/** A schema name nobody else uses. */
export function freshSchema(prefix = 'sia_test'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** A small pool for the tests' own queries. */
export function adminPool(url = databaseUrl): pg.Pool {
  if (url === undefined) throw new Error('DATABASE_URL is not set');
  const pool = new pg.Pool({ connectionString: url, max: 3, application_name: 'sia-test-admin' });
  pool.on('error', () => {
    // The admin's idle connections are terminated too when a test restarts the server.
  });
  return pool;
}

/** Drops schemas (and everything in them). */
export async function dropSchemas(pool: pg.Pool, schemas: readonly string[]): Promise<void> {
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** The admin pool and the schemas of one describe block; see {@link suiteDatabase}. */
export interface SuiteDatabase {
  /** The suite's admin pool, open from its beforeAll until after its last afterAll. */
  readonly admin: pg.Pool;
  /** Every schema the suite took, oldest first (all dropped at the end). */
  readonly schemas: readonly string[];
  /** Takes `name` (a fresh schema when omitted) for dropping at the end; returns it. */
  schema(name?: string): string;
}

/**
 * Call it first in a describe block that runs on a real server: opens an admin pool before the
 * tests and, after them, drops every schema taken with `schema()` and ends the pool. vitest
 * runs afterAll hooks in reverse order of registration (`sequence.hooks: 'stack'`, its
 * default), so this runs after the suite's own afterAll hooks, which close what still uses the
 * schemas (storages, child processes).
 */
export function suiteDatabase(): SuiteDatabase {
  const schemas: string[] = [];
  let admin: pg.Pool | undefined;
  beforeAll(() => {
    admin = adminPool();
  });
  afterAll(async () => {
    if (admin === undefined) return;
    await dropSchemas(admin, schemas);
    await admin.end();
  });
  return {
    get admin() {
      if (admin === undefined) throw new Error('the admin pool opens in beforeAll');
      return admin;
    },
    schemas,
    schema(name = freshSchema()) {
      schemas.push(name);
      return name;
    },
  };
}

/** Terminates every connection with this application_name; returns how many. */
export async function terminateBackends(pool: pg.Pool, applicationName: string): Promise<number> {
  const { rows } = await pool.query(
    'SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()) t',
    [applicationName],
  );
  return rows[0]?.n as number;
}

/** Runs `pg_ctl` of the cluster in `directory` (made by start-postgres.sh), as its owner. */
export function pgCtl(directory: string, args: readonly string[]): void {
  const bin = process.env.SIA_PG_BIN;
  const pgCtlPath = bin ? `${bin}/pg_ctl` : 'pg_ctl';
  const command = process.getuid?.() === 0 ? 'runuser' : pgCtlPath;
  const fullArgs = process.getuid?.() === 0 ? ['-u', 'postgres', '--', pgCtlPath, ...args] : [...args];
  const result = spawnSync(command, fullArgs, {
    encoding: 'utf8',
    env: { ...process.env },
    cwd: directory,
  });
  if (result.status !== 0)
    throw new Error(`pg_ctl ${args.join(' ')} failed (${result.status}): ${result.stderr}${result.stdout}`);
}

/** Starts a throwaway cluster with start-postgres.sh in `directory`; returns its DATABASE_URL. */
export function startCluster(directory: string): string {
  const script = join(import.meta.dirname, 'start-postgres.sh');
  const result = spawnSync('bash', [script, 'start', directory], { encoding: 'utf8' });
  const url = /export DATABASE_URL='([^']+)'/.exec(result.stdout)?.[1];
  if (result.status !== 0 || url === undefined)
    throw new Error(`start-postgres.sh failed (${result.status}): ${result.stderr}`);
  return url;
}

/** Stops a cluster started with {@link startCluster} and deletes its folder. */
export function stopCluster(directory: string): void {
  spawnSync('bash', [join(import.meta.dirname, 'start-postgres.sh'), 'stop', directory], {
    encoding: 'utf8',
  });
}

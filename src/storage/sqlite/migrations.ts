import { latestVersion } from '../latest-version.ts';
import { StorageCorruptError } from '../storage-errors.ts';
import type { SqliteDriver } from './sqlite-driver.ts';

/** One step of the SQLite schema. Applied once, in order, inside one transaction. */
export interface Migration {
  /** Schema version after this step: 1, 2, 3, … */
  readonly version: number;
  /** What the step does, for people. */
  readonly description: string;
  /** The statements. */
  readonly sql: string;
}

/**
 * The SQLite schema, as a list of steps. Never edit a released step; append a new one.
 *
 * Invocations are read newest first per (tool, version) and per tool, so each read is an index
 * range scan of exactly `limit` rows: (tool_name, version, started_at, id) and
 * (tool_name, started_at, id). AUTOINCREMENT keeps ids increasing even after the newest rows
 * were pruned. JSON columns are TEXT.
 *
 * Step 2 adds the rollups that pruned invocations are folded into: one row per (tool, version,
 * width, bucket start) with counts, latency sum/min/max and one column per range of
 * `LATENCY_HISTOGRAM_BOUNDS_MS` (h0…h14), and their failures per error code beside them.
 *
 * Step 3 adds `output_schema` to versions: the JSON text of the version's output schema, NULL
 * for versions without one (every version written before the step).
 *
 * Step 4 adds host tools and disabling: `sia_tools.kind` (`sandboxed` for every tool written
 * before the step), `sia_tools.disabled` (0) and `sia_tool_versions.label` (NULL). Like every
 * step it runs in the migration's one transaction: a crash halfway leaves the file at step 3.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'invocations, tools, versions, test cases, audit log',
    sql: `
      CREATE TABLE sia_invocations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tool_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        latency_ms REAL NOT NULL,
        success INTEGER NOT NULL,
        error_code TEXT,
        error_message TEXT,
        input_hash TEXT NOT NULL,
        output_hash TEXT,
        input TEXT,
        output TEXT
      );
      CREATE INDEX sia_invocations_by_version ON sia_invocations (tool_name, version, started_at, id);
      CREATE INDEX sia_invocations_by_tool ON sia_invocations (tool_name, started_at, id);

      CREATE TABLE sia_tools (
        name TEXT PRIMARY KEY,
        description TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        active_version INTEGER NOT NULL,
        pinned INTEGER NOT NULL DEFAULT 0,
        rewrites INTEGER NOT NULL DEFAULT 0,
        last_rewrite_at INTEGER
      );
      CREATE TABLE sia_tool_versions (
        tool_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        source TEXT NOT NULL,
        input_schema TEXT NOT NULL,
        capabilities TEXT NOT NULL,
        parent_version INTEGER,
        reason TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (tool_name, version)
      );

      CREATE TABLE sia_test_cases (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tool_name TEXT NOT NULL,
        input TEXT NOT NULL,
        expect TEXT NOT NULL,
        description TEXT NOT NULL,
        origin TEXT NOT NULL,
        input_hash TEXT,
        max_latency_ms REAL,
        held_out INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX sia_test_cases_by_tool ON sia_test_cases (tool_name, id);

      CREATE TABLE sia_audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        tool_name TEXT,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        from_version INTEGER,
        to_version INTEGER,
        evidence TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX sia_audit_by_tool ON sia_audit (tool_name, id);
    `,
  },
  {
    version: 2,
    description:
      'rollups of pruned invocations: per (tool, version, minute/hour/day) counts, latency histogram, error codes',
    sql: `
      CREATE TABLE sia_invocation_rollups (
        tool_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        width_ms INTEGER NOT NULL,
        bucket_start INTEGER NOT NULL,
        calls INTEGER NOT NULL,
        successes INTEGER NOT NULL,
        latency_sum REAL NOT NULL,
        latency_min REAL NOT NULL,
        latency_max REAL NOT NULL,
        h0 INTEGER NOT NULL,
        h1 INTEGER NOT NULL,
        h2 INTEGER NOT NULL,
        h3 INTEGER NOT NULL,
        h4 INTEGER NOT NULL,
        h5 INTEGER NOT NULL,
        h6 INTEGER NOT NULL,
        h7 INTEGER NOT NULL,
        h8 INTEGER NOT NULL,
        h9 INTEGER NOT NULL,
        h10 INTEGER NOT NULL,
        h11 INTEGER NOT NULL,
        h12 INTEGER NOT NULL,
        h13 INTEGER NOT NULL,
        h14 INTEGER NOT NULL,
        PRIMARY KEY (tool_name, version, width_ms, bucket_start)
      ) WITHOUT ROWID;
      CREATE INDEX sia_invocation_rollups_by_age ON sia_invocation_rollups (width_ms, bucket_start);
      CREATE TABLE sia_invocation_rollup_errors (
        tool_name TEXT NOT NULL,
        version INTEGER NOT NULL,
        width_ms INTEGER NOT NULL,
        bucket_start INTEGER NOT NULL,
        error_code TEXT NOT NULL,
        failures INTEGER NOT NULL,
        PRIMARY KEY (tool_name, version, width_ms, bucket_start, error_code)
      ) WITHOUT ROWID;
      CREATE INDEX sia_invocation_rollup_errors_by_age ON sia_invocation_rollup_errors (width_ms, bucket_start);
    `,
  },
  {
    version: 3,
    description: "tool versions' output schema (nullable: NULL when a version declares none)",
    sql: `
      ALTER TABLE sia_tool_versions ADD COLUMN output_schema TEXT;
    `,
  },
  {
    version: 4,
    description:
      "tools' kind (sandboxed or host) and disabled flag; versions' label (the app's name for a version)",
    sql: `
      ALTER TABLE sia_tools ADD COLUMN kind TEXT NOT NULL DEFAULT 'sandboxed';
      ALTER TABLE sia_tools ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE sia_tool_versions ADD COLUMN label TEXT;
    `,
  },
];

/** What {@link migrate} did. */
export interface MigrationResult {
  /** Schema version found (0 for a new database). */
  from: number;
  /** Schema version now. */
  to: number;
  /** Versions applied by this call; empty when the schema was current (re-running is a no-op). */
  applied: number[];
}

function newerReleaseError(location: string, version: number, latest: number): StorageCorruptError {
  return new StorageCorruptError({
    path: location,
    problem: `was written by a newer release of self-improving-agent (schema version ${version}; this release knows up to ${latest})`,
    remedy: 'Upgrade self-improving-agent, or open a backup written by this release.',
  });
}

/**
 * Brings the schema to the newest version, in one transaction (all steps or none). The version
 * lives in `sia_meta` under `schema_version`. Idempotent: a current schema is left untouched.
 * A new (empty) database first gets `auto_vacuum = INCREMENTAL`, so pruned space can be
 * returned to the file system.
 * Throws {@link StorageCorruptError} when the database was written by a newer release.
 */
export function migrate(
  driver: SqliteDriver,
  location: string,
  steps: readonly Migration[] = migrations,
): MigrationResult {
  const latest = latestVersion(steps);
  // Only possible before the first table exists, and outside a transaction: a new database
  // can give the pages a prune frees back to the file system (see reclaimFreePages).
  if (driver.all('SELECT 1 AS found FROM sqlite_master LIMIT 1').length === 0)
    driver.exec('PRAGMA auto_vacuum = INCREMENTAL');
  return driver.transaction(() => {
    driver.exec('CREATE TABLE IF NOT EXISTS sia_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const row = driver.all("SELECT value FROM sia_meta WHERE key = 'schema_version'")[0];
    const from = row === undefined ? 0 : Number(row.value);
    if (!Number.isInteger(from) || from < 0)
      throw new StorageCorruptError({
        path: location,
        problem: `has an invalid schema version ${JSON.stringify(row?.value)}`,
        remedy: 'Restore the file from a backup.',
      });
    if (from > latest) throw newerReleaseError(location, from, latest);
    const applied: number[] = [];
    for (const step of [...steps].sort((a, b) => a.version - b.version)) {
      if (step.version <= from) continue;
      driver.exec(step.sql);
      applied.push(step.version);
    }
    if (applied.length > 0)
      driver.run(
        "INSERT INTO sia_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [String(latest)],
      );
    return { from, to: Math.max(from, latest), applied };
  });
}

/** The schema version recorded in a database, 0 when it has none. */
export function schemaVersion(driver: SqliteDriver): number {
  const table = driver.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sia_meta'");
  if (table.length === 0) return 0;
  const row = driver.all("SELECT value FROM sia_meta WHERE key = 'schema_version'")[0];
  return row === undefined ? 0 : Number(row.value);
}

/** Options of {@link checkReadableSchema}. */
export interface ReadableSchemaOptions {
  /** Accept a schema older than the newest (a migration will follow). @default false */
  readonly allowOlder?: boolean;
  /** The steps this release knows. @default migrations */
  readonly steps?: readonly Migration[];
}

/**
 * Checks, without writing anything, that `driver` holds a self-improving-agent database this
 * release can read, and returns its schema version. Throws {@link StorageCorruptError} saying
 * what the file is instead: empty, another application's SQLite database (naming a few of its
 * tables), a database with an invalid or newer schema version, or (unless `allowOlder`) one at
 * an older version that must be opened for writing once to be migrated.
 */
export function checkReadableSchema(
  driver: SqliteDriver,
  location: string,
  options: ReadableSchemaOptions = {},
): number {
  const steps = options.steps ?? migrations;
  const latest = latestVersion(steps);
  const tables = driver
    .all("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .map((row) => String(row.name));
  const remedy = 'Pass the path of a self-improving-agent database (an agent creates one on first run).';
  if (tables.length === 0)
    throw new StorageCorruptError({
      path: location,
      problem: 'is empty: it is not a self-improving-agent database',
      remedy,
    });
  if (!tables.includes('sia_meta')) {
    const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? `, … (${tables.length} tables)` : '');
    throw new StorageCorruptError({
      path: location,
      problem: `is not a self-improving-agent database (a SQLite database with other tables: ${shown})`,
      remedy,
    });
  }
  const row = driver.all("SELECT value FROM sia_meta WHERE key = 'schema_version'")[0];
  const version = row === undefined ? Number.NaN : Number(row.value);
  if (!Number.isInteger(version) || version < 1)
    throw new StorageCorruptError({
      path: location,
      problem: `has an invalid schema version ${JSON.stringify(row?.value ?? null)}`,
      remedy: 'Restore the file from a backup.',
    });
  if (version > latest) throw newerReleaseError(location, version, latest);
  if (version < latest && options.allowOlder !== true)
    throw new StorageCorruptError({
      path: location,
      problem: `has schema version ${version}, older than this release's ${latest}, and cannot be read without migrating it`,
      remedy:
        'Open it once with an agent of this release (sqlJsStorage({ path }) or nodeSqliteStorage({ path }) without readOnly), which migrates it, then try again.',
    });
  return version;
}

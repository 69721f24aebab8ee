import { latestVersion } from '../latest-version.ts';
import { StorageCorruptError } from '../storage-errors.ts';
import { PostgresSchemaTooNewError } from './postgres-errors.ts';
import type { PostgresQueryable } from './postgres-pool.ts';

/** One step of the PostgreSQL schema. Applied once, in order, inside one transaction. */
export interface PostgresMigration {
  /** Schema version after this step: 1, 2, 3, … */
  readonly version: number;
  /** What the step does, for people. */
  readonly description: string;
  /** The statements, for the schema (namespace) given as a quoted identifier. */
  readonly sql: (schema: string) => string;
}

/**
 * The PostgreSQL schema, as a list of steps. Never edit a released step; append a new one.
 *
 * Everything lives in one schema (namespace), `sia` by default, so several deployments can
 * share a database. Times are epoch ms in `double precision` (as given: a caller's time may
 * have a fraction); ids come from identity sequences, which never reuse a value. JSON values
 * are stored as their JSON text, exactly as written. Invocations are read newest first per
 * (tool, version) and per tool, each an index range scan of `limit` rows.
 *
 * Step 2 adds the rollups that pruned invocations are folded into: one row per (tool, version,
 * width, bucket start) with counts, latency sum/min/max and one column per range of
 * `LATENCY_HISTOGRAM_BOUNDS_MS` (h0…h14), and their failures per error code beside them.
 * Step 3 adds `output_schema` to versions: the JSON text of the version's output schema, NULL
 * for versions without one (every version written before the step).
 * Step 4 adds host tools and disabling: `tools.kind` (`sandboxed` for every tool written before
 * the step), `tools.disabled` (false) and `tool_versions.label` (NULL), in the migration's one
 * transaction (PostgreSQL DDL is transactional: a crash halfway leaves the schema at step 3).
 * The space of deleted rows is left to autovacuum, which makes it reusable (PostgreSQL files do
 * not shrink without `VACUUM FULL`, which locks the table; rows inserted later fill the space).
 */
export const postgresMigrations: readonly PostgresMigration[] = [
  {
    version: 1,
    description: 'invocations, tools, versions, test cases, audit log, leases',
    sql: (schema) => `
      CREATE TABLE ${schema}.invocations (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tool_name text NOT NULL,
        version integer NOT NULL,
        started_at double precision NOT NULL,
        latency_ms double precision NOT NULL,
        success boolean NOT NULL,
        error_code text,
        error_message text,
        input_hash text NOT NULL,
        output_hash text,
        input text,
        output text
      );
      CREATE INDEX invocations_by_version ON ${schema}.invocations (tool_name, version, started_at, id);
      CREATE INDEX invocations_by_tool ON ${schema}.invocations (tool_name, started_at, id);

      CREATE TABLE ${schema}.tools (
        name text PRIMARY KEY,
        description text NOT NULL,
        created_at double precision NOT NULL,
        active_version integer NOT NULL,
        pinned boolean NOT NULL DEFAULT false,
        rewrites integer NOT NULL DEFAULT 0,
        last_rewrite_at double precision
      );
      CREATE TABLE ${schema}.tool_versions (
        tool_name text NOT NULL REFERENCES ${schema}.tools (name),
        version integer NOT NULL,
        source text NOT NULL,
        input_schema text NOT NULL,
        capabilities text NOT NULL,
        parent_version integer,
        reason text NOT NULL,
        author text NOT NULL,
        created_at double precision NOT NULL,
        PRIMARY KEY (tool_name, version)
      );

      CREATE TABLE ${schema}.test_cases (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tool_name text NOT NULL,
        input text NOT NULL,
        expect text NOT NULL,
        description text NOT NULL,
        origin text NOT NULL,
        input_hash text,
        max_latency_ms double precision,
        held_out boolean NOT NULL,
        created_at double precision NOT NULL
      );
      CREATE INDEX test_cases_by_tool ON ${schema}.test_cases (tool_name, id);

      CREATE TABLE ${schema}.audit (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        type text NOT NULL,
        tool_name text,
        actor text NOT NULL,
        reason text NOT NULL,
        from_version integer,
        to_version integer,
        evidence text NOT NULL,
        at double precision NOT NULL
      );
      CREATE INDEX audit_by_tool ON ${schema}.audit (tool_name, id);

      CREATE TABLE ${schema}.leases (
        key text PRIMARY KEY,
        holder text NOT NULL,
        expires_at timestamptz NOT NULL
      );
    `,
  },
  {
    version: 2,
    description:
      'rollups of pruned invocations: per (tool, version, minute/hour/day) counts, latency histogram, error codes',
    sql: (schema) => `
      CREATE TABLE ${schema}.invocation_rollups (
        tool_name text NOT NULL,
        version integer NOT NULL,
        width_ms integer NOT NULL,
        bucket_start double precision NOT NULL,
        calls bigint NOT NULL,
        successes bigint NOT NULL,
        latency_sum double precision NOT NULL,
        latency_min double precision NOT NULL,
        latency_max double precision NOT NULL,
        h0 bigint NOT NULL,
        h1 bigint NOT NULL,
        h2 bigint NOT NULL,
        h3 bigint NOT NULL,
        h4 bigint NOT NULL,
        h5 bigint NOT NULL,
        h6 bigint NOT NULL,
        h7 bigint NOT NULL,
        h8 bigint NOT NULL,
        h9 bigint NOT NULL,
        h10 bigint NOT NULL,
        h11 bigint NOT NULL,
        h12 bigint NOT NULL,
        h13 bigint NOT NULL,
        h14 bigint NOT NULL,
        PRIMARY KEY (tool_name, version, width_ms, bucket_start)
      );
      CREATE INDEX invocation_rollups_by_age ON ${schema}.invocation_rollups (width_ms, bucket_start);
      CREATE TABLE ${schema}.invocation_rollup_errors (
        tool_name text NOT NULL,
        version integer NOT NULL,
        width_ms integer NOT NULL,
        bucket_start double precision NOT NULL,
        error_code text NOT NULL,
        failures bigint NOT NULL,
        PRIMARY KEY (tool_name, version, width_ms, bucket_start, error_code)
      );
      CREATE INDEX invocation_rollup_errors_by_age ON ${schema}.invocation_rollup_errors (width_ms, bucket_start);
    `,
  },
  {
    version: 3,
    description: "tool versions' output schema (nullable: NULL when a version declares none)",
    sql: (schema) => `
      ALTER TABLE ${schema}.tool_versions ADD COLUMN output_schema text;
    `,
  },
  {
    version: 4,
    description:
      "tools' kind (sandboxed or host) and disabled flag; versions' label (the app's name for a version)",
    sql: (schema) => `
      ALTER TABLE ${schema}.tools ADD COLUMN kind text NOT NULL DEFAULT 'sandboxed';
      ALTER TABLE ${schema}.tools ADD COLUMN disabled boolean NOT NULL DEFAULT false;
      ALTER TABLE ${schema}.tool_versions ADD COLUMN label text;
    `,
  },
];

/** What {@link migratePostgres} did. */
export interface PostgresMigrationResult {
  /** Schema version found (0 for a new schema). */
  from: number;
  /** Schema version now. */
  to: number;
  /** Versions applied by this call; empty when the schema was current (re-running is a no-op). */
  applied: number[];
}

/** Quotes a schema name that {@link postgresStorage}'s options check already restricted to `[a-z_][a-z0-9_]*`. */
export function quoteSchema(schema: string): string {
  return `"${schema}"`;
}

/** Whether the (quoted) schema and its meta table exist, read without any privilege check. */
async function probeSchema(
  client: PostgresQueryable,
  quoted: string,
): Promise<{ hasSchema: boolean; hasMeta: boolean }> {
  const found = await client.query(
    'SELECT to_regnamespace($1) IS NOT NULL AS has_schema, to_regclass($2) IS NOT NULL AS has_meta',
    [quoted, `${quoted}.meta`],
  );
  const row = found.rows[0] as { has_schema: boolean; has_meta: boolean };
  return { hasSchema: row.has_schema, hasMeta: row.has_meta };
}

/**
 * Brings `schema` to the newest version. Must run inside a transaction on `client` (the
 * adapter runs it in one, rerun on connection failures: it is idempotent). Takes a
 * transaction-scoped advisory lock first, so when several processes start at once one
 * migrates and the others wait, then find the schema current and change nothing. The version
 * lives in `<schema>.meta` under `schema_version`. Throws {@link PostgresSchemaTooNewError}
 * when a newer release migrated the schema.
 *
 * Needs the CREATE privilege on the database only while something is missing: a role that
 * can only read and write the tables of a migrated schema can use it.
 */
export async function migratePostgres(
  client: PostgresQueryable,
  schema: string,
  steps: readonly PostgresMigration[] = postgresMigrations,
): Promise<PostgresMigrationResult> {
  const quoted = quoteSchema(schema);
  const latest = latestVersion(steps);
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [
    'self-improving-agent:migrate',
    schema,
  ]);
  const { hasSchema, hasMeta } = await probeSchema(client, quoted);
  // CREATE … IF NOT EXISTS would check the CREATE privilege even when the object exists.
  if (!hasSchema) await client.query(`CREATE SCHEMA ${quoted}`);
  if (!hasMeta) await client.query(`CREATE TABLE ${quoted}.meta (key text PRIMARY KEY, value text NOT NULL)`);
  const row = (await client.query(`SELECT value FROM ${quoted}.meta WHERE key = 'schema_version'`)).rows[0];
  const from = row === undefined ? 0 : Number(row.value);
  if (!Number.isInteger(from) || from < 0)
    throw new StorageCorruptError({
      path: `${schema}.meta`,
      problem: `(PostgreSQL) records an invalid schema version ${JSON.stringify(row?.value)}`,
      remedy: 'Restore the schema from a backup, or use another one with the `schema` option.',
    });
  if (from > latest) throw new PostgresSchemaTooNewError({ schema, found: from, supported: latest });
  const applied: number[] = [];
  for (const step of [...steps].sort((a, b) => a.version - b.version)) {
    if (step.version <= from) continue;
    await client.query(step.sql(quoted));
    applied.push(step.version);
  }
  if (applied.length > 0)
    await client.query(
      `INSERT INTO ${quoted}.meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [String(latest)],
    );
  return { from, to: Math.max(from, latest), applied };
}

/**
 * Checks, with reads only, that `schema` holds this release's tables at its newest version;
 * throws {@link StorageCorruptError} saying what is missing (no schema, not migrated, older
 * version) or {@link PostgresSchemaTooNewError}. For read-only storage, which must not
 * create or migrate anything.
 */
export async function checkPostgresSchema(
  client: PostgresQueryable,
  schema: string,
  steps: readonly PostgresMigration[] = postgresMigrations,
): Promise<number> {
  const quoted = quoteSchema(schema);
  const latest = latestVersion(steps);
  const { hasSchema, hasMeta } = await probeSchema(client, quoted);
  const remedy =
    'Pass the schema an agent uses (the `schema` option, sia --schema); an agent creates it on first run.';
  if (!hasSchema)
    throw new StorageCorruptError({
      path: `${schema}`,
      problem: '(PostgreSQL schema) does not exist',
      remedy,
    });
  if (!hasMeta)
    throw new StorageCorruptError({
      path: `${schema}`,
      problem: '(PostgreSQL schema) is not a self-improving-agent schema (it has no meta table)',
      remedy,
    });
  const row = (await client.query(`SELECT value FROM ${quoted}.meta WHERE key = 'schema_version'`)).rows[0];
  const version = row === undefined ? 0 : Number(row.value);
  if (!Number.isInteger(version) || version < 1)
    throw new StorageCorruptError({
      path: `${schema}.meta`,
      problem: `(PostgreSQL) records an invalid schema version ${JSON.stringify(row?.value ?? null)}`,
      remedy: 'Restore the schema from a backup, or use another one with the `schema` option.',
    });
  if (version > latest) throw new PostgresSchemaTooNewError({ schema, found: version, supported: latest });
  if (version < latest)
    throw new StorageCorruptError({
      path: `${schema}`,
      problem: `(PostgreSQL schema) has schema version ${version}, older than this release's ${latest}`,
      remedy:
        'Open it once with an agent of this release (postgresStorage without readOnly), which migrates it, then try again.',
    });
  return version;
}

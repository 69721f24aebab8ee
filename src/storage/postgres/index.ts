/**
 * PostgreSQL storage (the `self-improving-agent/postgres` subpath): many processes sharing one
 * memory and one registry. Needs the `pg` package, an optional peer dependency.
 * @packageDocumentation
 */
export { PostgresDriverMissingError, PostgresSchemaTooNewError } from './postgres-errors.ts';
export {
  migratePostgres,
  type PostgresMigration,
  type PostgresMigrationResult,
  postgresMigrations,
} from './postgres-migrations.ts';
export type {
  PostgresNotification,
  PostgresPool,
  PostgresPoolClient,
  PostgresQueryable,
  PostgresQueryResult,
  PostgresRow,
} from './postgres-pool.ts';
export { postgresStorage } from './postgres-storage.ts';
export type { PostgresConnection, PostgresStorageOptions } from './postgres-storage-options.ts';

import { SiaError } from '../../core/sia-error.ts';

const driverMissingMarker = Symbol.for('self-improving-agent.error.PostgresDriverMissingError');
const schemaTooNewMarker = Symbol.for('self-improving-agent.error.PostgresSchemaTooNewError');

/**
 * Thrown by `postgresStorage` when the `pg` package (an optional peer dependency) cannot be
 * loaded. Install it next to self-improving-agent.
 */
export class PostgresDriverMissingError extends SiaError {
  readonly [driverMissingMarker] = true;

  constructor(cause?: unknown) {
    super({
      code: 'POSTGRES_DRIVER_MISSING',
      message:
        'The PostgreSQL storage needs the "pg" package, which is not installed. Run `npm install pg` ' +
        '(version 8.11 or newer) in your project, or use sqlJsStorage()/nodeSqliteStorage() instead.',
      cause,
    });
    this.name = 'PostgresDriverMissingError';
  }

  /** True when `error` is a {@link PostgresDriverMissingError} (from any copy of the package). */
  static override isInstance(error: unknown): error is PostgresDriverMissingError {
    return SiaError.hasMarker(error, driverMissingMarker);
  }
}

/**
 * Thrown when the PostgreSQL schema was migrated by a newer release of this library than the
 * one running: this release does not know the newer tables and refuses to touch them.
 */
export class PostgresSchemaTooNewError extends SiaError {
  readonly [schemaTooNewMarker] = true;
  /** The PostgreSQL schema (namespace) concerned. */
  readonly schema: string;
  /** The schema version recorded in it. */
  readonly found: number;
  /** The newest schema version this release knows. */
  readonly supported: number;

  constructor({
    schema,
    found,
    supported,
  }: {
    readonly schema: string;
    readonly found: number;
    readonly supported: number;
  }) {
    super({
      code: 'POSTGRES_SCHEMA_TOO_NEW',
      message:
        `PostgreSQL schema "${schema}" was migrated by a newer release of self-improving-agent ` +
        `(schema version ${found}; this release knows up to ${supported}). Upgrade self-improving-agent ` +
        'in this process, or point it at another schema with the `schema` option.',
    });
    this.name = 'PostgresSchemaTooNewError';
    this.schema = schema;
    this.found = found;
    this.supported = supported;
  }

  /** True when `error` is a {@link PostgresSchemaTooNewError} (from any copy of the package). */
  static override isInstance(error: unknown): error is PostgresSchemaTooNewError {
    return SiaError.hasMarker(error, schemaTooNewMarker);
  }
}

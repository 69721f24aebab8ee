import { InvalidOptionError } from '../../core/invalid-option-error.ts';
import type { Logger } from '../../core/logger.ts';
import { booleanOption, integerOption, objectOption, stringOption } from '../../core/options.ts';
import { onErrorOption } from '../on-error-option.ts';
import type { RetryPolicy } from './postgres-executor.ts';
import type { PostgresPool } from './postgres-pool.ts';

/**
 * Where {@link postgresStorage} connects: a connection string (the adapter opens, owns and
 * ends its own pool), or a pool of yours (the adapter borrows it; `close()` does not end it).
 */
export type PostgresConnection =
  | {
      /** e.g. `postgres://user:password@host:5432/database`. */
      connectionString: string;
      pool?: undefined;
    }
  | {
      /** A `pg.Pool` (or anything with its `connect`, `query`, `on`, `removeListener` and `end`). */
      pool: PostgresPool;
      connectionString?: undefined;
    };

/** Options of {@link postgresStorage}. */
export interface PostgresStorageOptions {
  /**
   * Only read: the schema is never created or migrated (it must exist at this release's
   * version, else opening fails with `StorageCorruptError` saying what is missing), and with
   * `connectionString` every connection runs with `default_transaction_read_only = on`, so
   * writes reject. Used by the CLI's reading commands.
   * @default false
   */
  readOnly?: boolean;
  /**
   * The PostgreSQL schema (namespace) holding the tables, created on first use. Lowercase
   * letters, digits and `_`, starting with a letter or `_`, at most 56 characters. Give each
   * deployment (or test) its own to keep their data apart in one database.
   * @default 'sia'
   */
  schema?: string;
  /**
   * `statement_timeout` of every connection the adapter opens, in ms: a statement running
   * longer is cancelled by the server. `0` disables it. Only with `connectionString`; for a
   * pool of yours, set `statement_timeout` in its config.
   * @default 30_000
   */
  statementTimeoutMs?: number;
  /**
   * Most connections the adapter's pool opens. A `watchActive` subscription holds one of them
   * for its LISTEN. Only with `connectionString`.
   * @default 10
   */
  poolSize?: number;
  /** How long opening a connection may take, ms. Only with `connectionString`. @default 10_000 */
  connectTimeoutMs?: number;
  /**
   * `application_name` of the adapter's connections, shown in `pg_stat_activity`. Only with
   * `connectionString`.
   * @default 'self-improving-agent'
   */
  applicationName?: string;
  /**
   * Retries of an operation that failed for a reason that may pass: a serialization failure or
   * deadlock, a dropped connection, a server restarting. Bounded exponential back-off with
   * jitter. A write whose connection broke while its COMMIT was in flight is not rerun (it
   * may have committed), except `appendInvocations`, which checks first.
   */
  retry?: {
    /** Attempts in all, including the first. @default 5 */
    maxAttempts?: number;
    /** Delay after the first failure, ms; doubles each time. @default 50 */
    initialDelayMs?: number;
    /** Largest delay, ms. @default 2_000 */
    maxDelayMs?: number;
  };
  /** How `watchActive` keeps up when its LISTEN connection drops. */
  watch?: {
    /** Poll interval while LISTEN is down, ms (changes are noticed within about this long). @default 500 */
    pollIntervalMs?: number;
    /** First delay before getting LISTEN back, ms; doubles each time. @default 100 */
    reconnectInitialDelayMs?: number;
    /** Largest delay before getting LISTEN back, ms. @default 5_000 */
    reconnectMaxDelayMs?: number;
  };
  /**
   * Receives failures that happen in the background and are handled: an idle pooled
   * connection that dropped (the pool replaces it), the LISTEN connection lost, a failed poll,
   * a `watchActive` listener that threw. Never called for failures of a method call (those reject).
   * @default reports to `logger.warn` when a logger is given, otherwise nothing
   */
  onError?: (error: unknown, context: string) => void;
  /** Receives the default `onError` reports. @default undefined */
  logger?: Logger;
}

/** The options with defaults applied (frozen). */
export interface ResolvedPostgresStorageOptions {
  readonly readOnly: boolean;
  readonly connectionString: string | undefined;
  readonly pool: PostgresPool | undefined;
  readonly schema: string;
  readonly statementTimeoutMs: number;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  readonly applicationName: string;
  readonly retry: RetryPolicy;
  readonly watch: {
    readonly pollIntervalMs: number;
    readonly reconnectInitialDelayMs: number;
    readonly reconnectMaxDelayMs: number;
  };
  readonly onError: (error: unknown, context: string) => void;
}

const schemaPattern = /^[a-z_][a-z0-9_]{0,55}$/;
const maxTimer = 2 ** 31 - 1;

/** Validates and freezes the options of `postgresStorage` (the caller's objects are not touched). */
export function resolvePostgresStorageOptions(
  connection: PostgresConnection,
  options: PostgresStorageOptions,
): ResolvedPostgresStorageOptions {
  objectOption('connection', connection);
  objectOption('options', options);
  const hasString = connection.connectionString !== undefined;
  const hasPool = connection.pool !== undefined;
  if (hasString === hasPool)
    throw new InvalidOptionError({
      field: 'connection',
      expected: 'either { connectionString } or { pool }, not both',
      value: connection,
    });
  const connectionString = hasString
    ? stringOption('connection.connectionString', connection.connectionString)
    : undefined;
  const pool = connection.pool;
  if (
    hasPool &&
    (typeof pool !== 'object' ||
      pool === null ||
      typeof pool.connect !== 'function' ||
      typeof pool.query !== 'function' ||
      typeof pool.on !== 'function' ||
      typeof pool.removeListener !== 'function')
  )
    throw new InvalidOptionError({ field: 'connection.pool', expected: 'a pg.Pool', value: pool });
  if (hasPool)
    for (const field of ['statementTimeoutMs', 'poolSize', 'connectTimeoutMs', 'applicationName'] as const)
      if (options[field] !== undefined)
        throw new InvalidOptionError({
          field,
          expected:
            'undefined when a pool is given (configure your pg.Pool instead, e.g. its statement_timeout)',
          value: options[field],
        });

  const schema = options.schema === undefined ? 'sia' : stringOption('schema', options.schema);
  if (!schemaPattern.test(schema))
    throw new InvalidOptionError({
      field: 'schema',
      expected: 'lowercase letters, digits and _, starting with a letter or _, at most 56 characters',
      value: schema,
    });
  const retry = options.retry === undefined ? {} : objectOption('retry', options.retry);
  const watch = options.watch === undefined ? {} : objectOption('watch', options.watch);
  const onError = onErrorOption(
    options.onError,
    options.logger,
    (logger) => (error: unknown, context: string) =>
      logger?.warn?.(`postgres storage: ${context}`, { schema, error: String(error) }),
  );

  const initialDelayMs =
    retry.initialDelayMs === undefined
      ? 50
      : integerOption('retry.initialDelayMs', retry.initialDelayMs, 0, maxTimer);
  const reconnectInitialDelayMs =
    watch.reconnectInitialDelayMs === undefined
      ? 100
      : integerOption('watch.reconnectInitialDelayMs', watch.reconnectInitialDelayMs, 1, maxTimer);
  return Object.freeze({
    readOnly: options.readOnly === undefined ? false : booleanOption('readOnly', options.readOnly),
    connectionString,
    pool,
    schema,
    statementTimeoutMs:
      options.statementTimeoutMs === undefined
        ? 30_000
        : integerOption('statementTimeoutMs', options.statementTimeoutMs, 0, maxTimer),
    poolSize: options.poolSize === undefined ? 10 : integerOption('poolSize', options.poolSize, 1, 10_000),
    connectTimeoutMs:
      options.connectTimeoutMs === undefined
        ? 10_000
        : integerOption('connectTimeoutMs', options.connectTimeoutMs, 1, maxTimer),
    applicationName:
      options.applicationName === undefined
        ? 'self-improving-agent'
        : stringOption('applicationName', options.applicationName),
    retry: Object.freeze({
      maxAttempts:
        retry.maxAttempts === undefined ? 5 : integerOption('retry.maxAttempts', retry.maxAttempts, 1, 1000),
      initialDelayMs,
      maxDelayMs:
        retry.maxDelayMs === undefined
          ? Math.max(2_000, initialDelayMs)
          : integerOption('retry.maxDelayMs', retry.maxDelayMs, initialDelayMs, maxTimer),
    }),
    watch: Object.freeze({
      pollIntervalMs:
        watch.pollIntervalMs === undefined
          ? 500
          : integerOption('watch.pollIntervalMs', watch.pollIntervalMs, 10, maxTimer),
      reconnectInitialDelayMs,
      reconnectMaxDelayMs:
        watch.reconnectMaxDelayMs === undefined
          ? Math.max(5_000, reconnectInitialDelayMs)
          : integerOption(
              'watch.reconnectMaxDelayMs',
              watch.reconnectMaxDelayMs,
              reconnectInitialDelayMs,
              maxTimer,
            ),
    }),
    onError,
  });
}

/** Where the adapter connects, for messages: host, port, database and user, never the password. */
export function describeTarget(connectionString: string | undefined): string {
  if (connectionString === undefined) return 'the server of the given pool';
  try {
    const url = new URL(connectionString);
    const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || '(default database)';
    const user = url.username ? ` as "${decodeURIComponent(url.username)}"` : '';
    return `${url.hostname || 'localhost'}:${url.port || '5432'}/${database}${user}`;
  } catch {
    return 'the server in the connection string';
  }
}

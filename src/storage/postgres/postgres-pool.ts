/**
 * The parts of `pg` the adapter uses, as structural types, so the public API does not depend
 * on `@types/pg`: a `pg.Pool` satisfies {@link PostgresPool}.
 */

/** A row as `pg` returns it. */
export type PostgresRow = Record<string, unknown>;

/** The result of a query. */
export interface PostgresQueryResult {
  rows: PostgresRow[];
  rowCount: number | null;
}

/** Something that runs a query: a pool, or a client checked out of it. */
export interface PostgresQueryable {
  query(text: string, values?: unknown[]): Promise<PostgresQueryResult>;
}

/** A notification received by a client that ran `LISTEN`. */
export interface PostgresNotification {
  channel: string;
  payload?: string | undefined;
}

/** A client checked out of a {@link PostgresPool}. */
export interface PostgresPoolClient extends PostgresQueryable {
  /** Returns the client to the pool; with an error (or `true`) the pool discards it. */
  release(error?: Error | boolean): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'notification', listener: (message: PostgresNotification) => void): unknown;
  removeListener(event: 'error', listener: (error: Error) => void): unknown;
  removeListener(event: 'notification', listener: (message: PostgresNotification) => void): unknown;
}

/** A connection pool, e.g. `new pg.Pool({ connectionString })`. */
export interface PostgresPool extends PostgresQueryable {
  connect(): Promise<PostgresPoolClient>;
  on(event: 'error', listener: (error: Error, client: unknown) => void): unknown;
  removeListener(event: 'error', listener: (error: Error, client: unknown) => void): unknown;
  end(): Promise<void>;
}

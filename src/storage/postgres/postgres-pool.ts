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
  /** Checks a client out. */
  connect(): Promise<PostgresPoolClient>;
  /**
   * Checks a client out and calls back. The adapter prefers this form (as `pg.Pool` has it): it
   * attaches its `'error'` listener inside the callback, before any other server message can be
   * handled (see {@link connectGuarded}). A pool that has only the promise form still works.
   */
  connect(
    callback: (error: Error | undefined, client: PostgresPoolClient | undefined, done: unknown) => void,
  ): void;
  on(event: 'error', listener: (error: Error, client: unknown) => void): unknown;
  removeListener(event: 'error', listener: (error: Error, client: unknown) => void): unknown;
  end(): Promise<void>;
}

/**
 * Checks a client out of `pool` with `onError` attached from the first moment it is handed out.
 *
 * `await pool.connect()` leaves a gap: pg-pool removes its own `'error'` listener and resolves
 * the promise, but the awaiting code runs only after the current socket chunk is parsed. When a
 * server message that ends the session (a `pg_terminate_backend`, a shutdown) arrives in the same
 * chunk as the new connection's ReadyForQuery, the client emits `'error'` with no listener and
 * the process crashes. The callback runs synchronously in that parse, so a listener attached in
 * it is there in time.
 */
export function connectGuarded(
  pool: PostgresPool,
  onError: (error: Error) => void,
): Promise<PostgresPoolClient> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const handOut = (error: Error | undefined | null, client: PostgresPoolClient | undefined | null) => {
      if (settled) return;
      settled = true;
      if (error !== undefined && error !== null) reject(error);
      else if (client === undefined || client === null)
        reject(new Error('the PostgreSQL pool handed out no client'));
      else {
        client.on('error', onError);
        resolve(client);
      }
    };
    const returned: unknown = (pool.connect as (callback: typeof handOut) => unknown)(handOut);
    // A pool with only the promise form ignores the callback and returns a promise.
    if (typeof (returned as PromiseLike<unknown> | undefined)?.then === 'function')
      (returned as PromiseLike<PostgresPoolClient>).then(
        (client) => handOut(undefined, client),
        (error: unknown) => handOut(error instanceof Error ? error : new Error(String(error)), undefined),
      );
  });
}

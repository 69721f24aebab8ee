/** A value SQLite stores and returns in this library's schema (no blobs, no BigInts). */
export type SqlValue = string | number | null;

/** One result row, by column name. */
export type SqlRow = Record<string, SqlValue>;

/**
 * The few synchronous operations the SQLite store needs from an engine. One implementation
 * of the contract (`sqliteAdapter`) runs on any driver, so the SQL is written once for sql.js and
 * `node:sqlite`. Drivers cache one prepared statement per SQL text.
 */
export interface SqliteDriver {
  /** Runs one or more statements without parameters (DDL, pragmas). */
  exec(sql: string): void;
  /** Runs one statement with positional parameters; returns the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): number;
  /** Runs one query with positional parameters; returns its rows. */
  all(sql: string, params?: readonly SqlValue[]): SqlRow[];
  /**
   * Runs `body` in a write transaction (`BEGIN IMMEDIATE` … `COMMIT`), rolling back when it
   * throws. `body` must be synchronous, so no other call can interleave with it.
   */
  transaction<T>(body: () => T): T;
  /** Releases the statements and the connection. */
  close(): void;
}

/**
 * The transaction protocol both drivers share. `BEGIN IMMEDIATE` takes the write lock at the
 * start, so two connections to one WAL file never both read and then fail to upgrade.
 */
export function runTransaction<T>(exec: (sql: string) => void, body: () => T): T {
  exec('BEGIN IMMEDIATE');
  let result: T;
  try {
    result = body();
  } catch (error) {
    rollback(exec);
    throw error;
  }
  try {
    exec('COMMIT');
  } catch (error) {
    rollback(exec);
    throw error;
  }
  return result;
}

function rollback(exec: (sql: string) => void): void {
  try {
    exec('ROLLBACK');
  } catch {
    // SQLite already rolled back (e.g. after SQLITE_FULL); the original error is the one to report.
  }
}

import type { BindParams, Database, Statement } from 'sql.js';
import { runTransaction, type SqliteDriver, type SqlRow } from './sqlite-driver.ts';

/** A {@link SqliteDriver} over a sql.js database, which can also export the whole file. */
export interface SqlJsDriver extends SqliteDriver {
  /**
   * The database file's bytes. sql.js refuses while a write transaction is open; this driver
   * never leaves one open between calls, because `transaction` bodies are synchronous.
   */
  export(): Uint8Array;
}

interface CachedStatement {
  readonly statement: Statement;
  columns?: string[];
}

/** Wraps an open sql.js `Database`. Statements are prepared once per SQL text. */
export function sqlJsDriver(database: Database): SqlJsDriver {
  const statements = new Map<string, CachedStatement>();
  const prepare = (sql: string): CachedStatement => {
    let cached = statements.get(sql);
    if (!cached) {
      cached = { statement: database.prepare(sql) };
      statements.set(sql, cached);
    }
    return cached;
  };
  const run = (sql: string, params: readonly unknown[] = []): number => {
    const { statement } = prepare(sql);
    try {
      statement.bind(params as BindParams);
      statement.step();
    } finally {
      statement.reset();
    }
    return database.getRowsModified();
  };

  return {
    exec(sql) {
      database.exec(sql);
    },
    run,
    all(sql, params = []) {
      const cached = prepare(sql);
      const { statement } = cached;
      // Column names once per statement; getAsObject() would fetch them for every row.
      cached.columns ??= statement.getColumnNames();
      const columns = cached.columns;
      const rows: SqlRow[] = [];
      try {
        statement.bind(params as BindParams);
        while (statement.step()) {
          const values = statement.get();
          const row: SqlRow = {};
          for (let index = 0; index < columns.length; index += 1)
            row[columns[index] as string] = values[index] as SqlRow[string];
          rows.push(row);
        }
      } finally {
        statement.reset();
      }
      return rows;
    },
    transaction(body) {
      return runTransaction((sql) => run(sql), body);
    },
    export() {
      return database.export();
    },
    close() {
      for (const { statement } of statements.values()) statement.free();
      statements.clear();
      database.close();
    },
  };
}

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { StorageUnavailableError } from '../storage-errors.ts';
import { runTransaction, type SqliteDriver, type SqlRow } from './sqlite-driver.ts';

/** The `node:sqlite` module, as loaded by {@link loadNodeSqlite}. */
export type NodeSqliteModule = typeof import('node:sqlite');

/**
 * Imports `node:sqlite` on demand, so merely importing this library never needs it (nor prints
 * Node's ExperimentalWarning). Throws {@link StorageUnavailableError} naming the Node.js version
 * it needs. `importer` exists for tests.
 */
export async function loadNodeSqlite(
  importer: () => Promise<NodeSqliteModule> = importNodeSqlite,
): Promise<NodeSqliteModule> {
  try {
    return await importer();
  } catch (error) {
    throw new StorageUnavailableError(
      'node:sqlite',
      `It needs Node.js 22.13 or later (22.5 to 22.12 only with --experimental-sqlite); this is Node.js ${process.version}. Upgrade Node.js, or use sqlJsStorage() instead.`,
      error,
    );
  }
}

/**
 * The specifier is a variable on purpose: bundlers (esbuild, hence tsup) rewrite a literal
 * `import('node:sqlite')` to `import('sqlite')`, which does not exist (`sqlite` has no
 * unprefixed form), and must not try to resolve or inline it either.
 */
function importNodeSqlite(): Promise<NodeSqliteModule> {
  const specifier = 'node:sqlite';
  return import(specifier) as Promise<NodeSqliteModule>;
}

/** A {@link SqliteDriver} over a `node:sqlite` connection. Statements are prepared once per SQL text. */
export function nodeSqliteDriver(database: DatabaseSync): SqliteDriver {
  const statements = new Map<string, StatementSync>();
  const prepare = (sql: string): StatementSync => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = database.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
  const run = (sql: string, params: readonly (string | number | null)[] = []): number =>
    Number(prepare(sql).run(...params).changes);

  return {
    exec(sql) {
      database.exec(sql);
    },
    run,
    all(sql, params = []) {
      return prepare(sql).all(...params) as SqlRow[];
    },
    transaction(body) {
      return runTransaction((sql) => run(sql), body);
    },
    close() {
      statements.clear();
      database.close();
    },
  };
}

import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { integerOption, objectOption, stringOption } from '../core/options.ts';
import { lazyResource } from './lazy-resource.ts';
import { migrate } from './migrations.ts';
import { loadNodeSqlite, nodeSqliteDriver } from './node-sqlite-driver.ts';
import type { SqliteDriver } from './sqlite-driver.ts';
import { sqliteStore } from './sqlite-store.ts';
import { StorageCorruptError } from './storage-errors.ts';
import type { StorageAdapter } from './types.ts';

/** Options of {@link nodeSqliteStorage}. */
export interface NodeSqliteStorageOptions {
  /**
   * The database file, created when missing (with `-wal` and `-shm` files beside it while
   * open). `':memory:'` gives a private in-memory database. Relative paths are resolved
   * against the working directory at construction; missing folders are created.
   */
  path: string;
  /**
   * How long a write waits for another connection (another process on the same file) to
   * finish its transaction before failing with SQLITE_BUSY, in ms.
   * @default 5000
   */
  busyTimeoutMs?: number;
}

const adapterName = 'node:sqlite';

/**
 * A {@link StorageAdapter} on Node's built-in SQLite (`node:sqlite`, Node.js ≥ 22.13): native
 * speed, no whole-file export, for single-machine production where the database grows large.
 *
 * Durable per transaction: every method commits before it resolves, in WAL mode with
 * `synchronous = FULL` (the WAL is fsynced at each commit, so an acknowledged write survives
 * power loss as well as a crash; `NORMAL` would only survive a crash of the process, and with
 * 500-record batches the fsync per commit costs little per record). Several processes may
 * share the file: SQLite's own locking serialises writers (`BEGIN IMMEDIATE`, busy timeout),
 * so compare-and-swap and version numbering stay atomic across processes.
 *
 * `node:sqlite` is imported when the storage opens, not when this library is imported; on
 * Node 22 it prints an ExperimentalWarning once.
 *
 * @example
 * ```ts
 * const storage = nodeSqliteStorage({ path: '.sia/agent.db' });
 * const memory = new PerformanceMemory({ storage });
 * // …
 * await storage.close();
 * ```
 */
export function nodeSqliteStorage(options: NodeSqliteStorageOptions): StorageAdapter {
  objectOption('options', options);
  const rawPath = stringOption('path', options.path);
  const path = rawPath === ':memory:' ? rawPath : resolve(rawPath);
  const busyTimeoutMs =
    options.busyTimeoutMs === undefined
      ? 5000
      : integerOption('busyTimeoutMs', options.busyTimeoutMs, 0, 2 ** 31 - 1);

  const openNow = async (): Promise<SqliteDriver> => {
    const sqlite = await loadNodeSqlite();
    if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
    const driver = nodeSqliteDriver(new sqlite.DatabaseSync(path));
    try {
      driver.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      try {
        driver.all('PRAGMA journal_mode = WAL');
      } catch (error) {
        if (/not a database|malformed/i.test(String(error)))
          throw new StorageCorruptError(
            path,
            'is not a SQLite database',
            'Move it away or restore it from a backup; a new file is created when none exists.',
            error,
          );
        throw error;
      }
      driver.exec('PRAGMA synchronous = FULL');
      migrate(driver, path);
      return driver;
    } catch (error) {
      driver.close();
      throw error;
    }
  };

  const resource = lazyResource({
    name: adapterName,
    open: openNow,
    release: (driver) => driver.close(),
  });

  return sqliteStore({
    name: adapterName,
    driver: resource.get,
    async ready() {
      await resource.get();
    },
    close: resource.close,
  });
}

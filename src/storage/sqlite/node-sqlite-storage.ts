import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidOptionError } from '../../core/invalid-option-error.ts';
import { booleanOption, integerOption, objectOption, stringOption } from '../../core/options.ts';
import { lazyResource } from '../lazy-resource.ts';
import type { StorageAdapter } from '../storage-adapter.ts';
import { StorageCorruptError } from '../storage-errors.ts';
import { checkReadableSchema, migrate } from './migrations.ts';
import { loadNodeSqlite, nodeSqliteDriver } from './node-sqlite-driver.ts';
import { sqliteAdapter } from './sqlite-adapter.ts';
import type { SqliteDriver } from './sqlite-driver.ts';
import { threadedStorage } from './threaded-storage.ts';

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
  /**
   * Open an existing database for reading only: no folder, file, `-wal`/`-shm` file or
   * migration is created (a fully checkpointed file is opened `immutable`; when a `-wal` file
   * exists, because a writer has the database open, it is read through it), and every write
   * method rejects. The file must be a self-improving-agent database at this release's
   * schema version, else opening fails with `StorageCorruptError` saying what it is.
   * @default false
   */
  readOnly?: boolean;
  /**
   * Run the database in its own worker thread, so that commits (an fsync each), prunes and
   * queries never block the app's event loop (each call is a message to the thread and back,
   * about 0.1 ms). `false` runs them on the calling thread, where a commit of 500 records
   * blocks the event loop 13–28 ms once the database holds hundreds of tool versions.
   * The times the storage stamps itself (`createdAt` of tools, versions and test cases, an
   * audit entry's `at` when none is given) come from the thread's clock, so a test that fakes
   * `Date` on its own thread (`vi.useFakeTimers`) must pass `false`.
   * @default true
   */
  thread?: boolean;
}

/** What {@link nodeSqliteAdapter} opens: the options of `nodeSqliteStorage`, validated. */
export interface NodeSqliteSettings {
  /** Absolute path of the file, or `:memory:`. */
  readonly path: string;
  /** See {@link NodeSqliteStorageOptions.busyTimeoutMs}. */
  readonly busyTimeoutMs: number;
  /** See {@link NodeSqliteStorageOptions.readOnly}. */
  readonly readOnly: boolean;
}

const adapterName = 'node:sqlite';

/**
 * A {@link StorageAdapter} on Node's built-in SQLite (`node:sqlite`, Node.js ≥ 22.13): native
 * speed, no whole-file export, for single-machine production where the database grows large.
 *
 * The database lives in its own worker thread (`thread`, default true), so commits never block
 * the app's event loop. Durable per transaction: every method commits before it resolves, in WAL mode with
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

  const readOnly = options.readOnly === undefined ? false : booleanOption('readOnly', options.readOnly);
  if (readOnly && path === ':memory:')
    throw new InvalidOptionError({
      field: 'path',
      expected: 'a database file (readOnly cannot open :memory:)',
      value: rawPath,
    });
  const thread = options.thread === undefined ? true : booleanOption('thread', options.thread);
  const settings: NodeSqliteSettings = { path, busyTimeoutMs, readOnly };
  if (!thread) return nodeSqliteAdapter(settings);
  // node:sqlite has no background work: a failure reaches the caller of each call.
  return threadedStorage({ name: adapterName, engine: { kind: 'node:sqlite', options: settings } });
}

/**
 * The node:sqlite adapter on the calling thread (`nodeSqliteStorage` with `thread: false`, and
 * the storage thread itself).
 */
export function nodeSqliteAdapter(settings: NodeSqliteSettings): StorageAdapter {
  const { path, busyTimeoutMs, readOnly } = settings;

  const openReadOnly = async (): Promise<SqliteDriver> => {
    const sqlite = await loadNodeSqlite();
    if (!existsSync(path))
      throw new StorageCorruptError({
        path,
        problem: 'does not exist',
        remedy: 'Check the path; a read-only storage never creates a database.',
      });
    // `immutable` keeps SQLite from creating -wal/-shm files beside a checkpointed database.
    const location = pathToFileURL(path);
    if (!existsSync(`${path}-wal`)) location.searchParams.set('immutable', '1');
    let driver: SqliteDriver | undefined;
    try {
      driver = nodeSqliteDriver(new sqlite.DatabaseSync(location.href, { readOnly: true }));
      driver.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      firstRead(
        driver,
        path,
        'SELECT count(*) AS tables FROM sqlite_master',
        'Pass the path of a self-improving-agent database.',
      );
      checkReadableSchema(driver, path);
      driver.exec('PRAGMA query_only = ON');
      return driver;
    } catch (error) {
      driver?.close();
      throw error;
    }
  };

  const openNow = async (): Promise<SqliteDriver> => {
    if (readOnly) return openReadOnly();
    const sqlite = await loadNodeSqlite();
    if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
    const driver = nodeSqliteDriver(new sqlite.DatabaseSync(path));
    try {
      driver.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
      firstRead(
        driver,
        path,
        'PRAGMA journal_mode = WAL',
        'Move it away or restore it from a backup; a new file is created when none exists.',
      );
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

  return sqliteAdapter({
    name: adapterName,
    driver: resource.get,
    async ready() {
      await resource.get();
    },
    close: resource.close,
  });
}

/**
 * Runs `sql`, the first statement that reads the file: a file that is not SQLite fails here, as
 * {@link StorageCorruptError} naming `path` and `remedy`.
 */
function firstRead(driver: SqliteDriver, path: string, sql: string, remedy: string): void {
  try {
    driver.all(sql);
  } catch (error) {
    if (/not a database|malformed/i.test(String(error)))
      throw new StorageCorruptError({ path, problem: 'is not a SQLite database', remedy, cause: error });
    throw error;
  }
}

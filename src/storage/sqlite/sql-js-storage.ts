import { mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidOptionError } from '../../core/invalid-option-error.ts';
import type { Logger } from '../../core/logger.ts';
import { booleanOption, integerOption, objectOption, stringOption } from '../../core/options.ts';
import { lazyResource } from '../lazy-resource.ts';
import { onErrorOption } from '../on-error-option.ts';
import type { StorageAdapter } from '../storage-adapter.ts';
import { StorageClosedError, StorageCorruptError } from '../storage-errors.ts';
import { removeTemporaryFiles, writeFileAtomic } from './atomic-write.ts';
import { acquireFileLock, type FileLock } from './file-lock.ts';
import { loadSqlJs } from './load-sql-js.ts';
import { checkReadableSchema, migrate } from './migrations.ts';
import { type SqlJsDriver, sqlJsDriver } from './sql-js-driver.ts';
import { sqliteAdapter } from './sqlite-adapter.ts';
import { threadedStorage } from './threaded-storage.ts';

/** Options of {@link sqlJsStorage}. */
export interface SqlJsStorageOptions {
  /**
   * The database file. Loaded when the storage opens, written atomically (temp file, fsync,
   * rename, fsync of the folder) on every interval tick with unsaved changes and on
   * `flush()`/`close()`, and locked against other processes with `<path>.lock`.
   * Relative paths are resolved against the working directory at construction; missing
   * folders are created.
   * @default undefined (the database lives in memory only)
   */
  path?: string;
  /**
   * How often unsaved changes are written to `path`, in ms. `0` writes only on `flush()` and
   * `close()`. Each write exports the whole database (about 0.1 s at 1e5 invocations, 1 s at
   * 1e6), in the storage thread; after a write that took d ms the next background write waits
   * at least 4 × d, so a large database is written less often than the interval.
   * @default 1000
   */
  flushIntervalMs?: number;
  /**
   * Called when a background (interval) write fails. The changes stay unsaved and the next
   * tick retries; the process is never crashed by it. Explicit `flush()`/`close()` calls
   * reject instead.
   * @default reports to `logger.error` when a logger is given, otherwise nothing
   */
  onError?: (error: unknown) => void;
  /** Receives the default `onError` reports. @default undefined */
  logger?: Logger;
  /**
   * Open an existing database for reading only: nothing is ever written, created or locked
   * (no folder, no `<path>.lock`, no migration, no flush), and every write method rejects.
   * The file must exist and be a self-improving-agent database at this release's schema
   * version, else opening fails with `StorageCorruptError` saying what the file is (empty,
   * another application's SQLite database, not SQLite, older or newer schema). The database
   * is the file as it was when opened. Needs `path`.
   * @default false
   */
  readOnly?: boolean;
  /**
   * Keep the database in its own worker thread, so that exports, file writes, inserts, prunes
   * and queries never block the app's event loop (each call is a message to the thread and
   * back, about 0.1 ms). `false` keeps it on the calling thread: every whole-file export then
   * blocks the event loop (about 0.1 s at 1e5 rows, 1 s at 1e6).
   * The times the storage stamps itself (`createdAt` of tools, versions and test cases, an
   * audit entry's `at` when none is given) come from the thread's clock, so a test that fakes
   * `Date` on its own thread (`vi.useFakeTimers`) must pass `false`.
   * @default true
   */
  thread?: boolean;
}

/** What {@link sqlJsAdapter} opens: the options of `sqlJsStorage`, validated, defaults applied. */
export interface SqlJsSettings {
  /** Absolute path of the file, or undefined for a database in memory. */
  readonly path: string | undefined;
  /** See {@link SqlJsStorageOptions.readOnly}. */
  readonly readOnly: boolean;
  /** See {@link SqlJsStorageOptions.flushIntervalMs}. */
  readonly flushIntervalMs: number;
  /** Receives failed background writes. */
  readonly onError: (error: unknown) => void;
}

interface ResolvedSqlJsStorageOptions extends SqlJsSettings {
  readonly thread: boolean;
}

interface OpenDatabase {
  readonly driver: SqlJsDriver;
  readonly lock: FileLock | undefined;
  readonly timer: NodeJS.Timeout | undefined;
}

const adapterName = 'sql.js';
/** A background write that took d ms is followed by at least this many times d of no writing. */
const EXPORT_PACING = 4;

function resolveOptions(options: SqlJsStorageOptions): ResolvedSqlJsStorageOptions {
  objectOption('options', options);
  const path = options.path === undefined ? undefined : resolve(stringOption('path', options.path));
  const flushIntervalMs =
    options.flushIntervalMs === undefined
      ? 1000
      : integerOption('flushIntervalMs', options.flushIntervalMs, 0, 2 ** 31 - 1);
  const onError = onErrorOption(
    options.onError,
    options.logger,
    (logger) => (error: unknown) =>
      logger?.error?.('sql.js storage: writing the file failed; retrying on the next tick', {
        path,
        error: String(error),
      }),
  );
  const readOnly = options.readOnly === undefined ? false : booleanOption('readOnly', options.readOnly);
  const thread = options.thread === undefined ? true : booleanOption('thread', options.thread);
  if (readOnly && path === undefined)
    throw new InvalidOptionError({
      field: 'path',
      expected: 'the database file to read (readOnly needs a path)',
      value: options.path,
    });
  return Object.freeze({ path, readOnly, flushIntervalMs, onError, thread });
}

/**
 * The embedded default {@link StorageAdapter}: SQLite compiled to WebAssembly (sql.js), no
 * native code. Without `path` the database lives in memory. With `path` it is loaded at open
 * and written back atomically off the hot path, on an interval and on `flush()`/`close()`;
 * `flush()` resolves only after the data reached the disk. A second process (or a second
 * adapter in this process) opening the same file gets `StorageLockedError` naming the owner's
 * pid; the lock of a process that died is taken over.
 *
 * The database lives in its own worker thread (`thread`, default true): writes are in-memory
 * transactions there (≈ 4 µs per batched invocation), and each file write exports the whole
 * database there too (about 1 s at 1e6 rows), so neither blocks the app's event loop. Background
 * writes are paced so an export takes at most a fifth of the thread's time. Memory grows with
 * the database (the whole file is in memory): keep it bounded with `PerformanceMemory`'s
 * retention, or prefer `nodeSqliteStorage` for millions of rows. Call `close()` (or `flush()`)
 * before the process exits: changes since the last write are only in memory.
 *
 * @example
 * ```ts
 * const storage = sqlJsStorage({ path: '.sia/agent.sqlite' });
 * await storage.ready?.(); // fails fast with StorageLockedError if another process has it
 * const memory = new PerformanceMemory({ storage });
 * // …
 * await storage.close();
 * ```
 */
export function sqlJsStorage(options: SqlJsStorageOptions = {}): StorageAdapter {
  const settings = resolveOptions(options);
  if (!settings.thread) return sqlJsAdapter(settings);
  const { path, readOnly, flushIntervalMs } = settings;
  return threadedStorage({
    name: adapterName,
    engine: { kind: 'sql.js', options: { path, readOnly, flushIntervalMs } },
    onError: settings.onError,
  });
}

/**
 * The sql.js adapter on the calling thread (`sqlJsStorage` with `thread: false`, and the
 * storage thread itself).
 */
export function sqlJsAdapter(settings: SqlJsSettings): StorageAdapter {
  const location = settings.path ?? ':memory:';
  let database: OpenDatabase | undefined;
  // Every committed write bumps `generation`; `persisted` is the generation known to be on disk.
  let generation = 0;
  let persisted = 0;
  let flushQueue: Promise<void> = Promise.resolve();
  let backgroundFlushRunning = false;

  const report = (error: unknown) => {
    try {
      settings.onError(error);
    } catch {
      // A failing reporter must not turn a retried write into a crash.
    }
  };

  // Background writes are paced: after a write that took d ms the next waits at least
  // EXPORT_PACING × d, so exports of a large database cannot run back to back.
  let nextBackgroundWriteAt = 0;
  const tick = () => {
    if (backgroundFlushRunning || persisted >= generation) return;
    if (performance.now() < nextBackgroundWriteAt) return;
    backgroundFlushRunning = true;
    const started = performance.now();
    enqueueFlush()
      .catch(report)
      .finally(() => {
        const finished = performance.now();
        nextBackgroundWriteAt = finished + EXPORT_PACING * (finished - started);
        backgroundFlushRunning = false;
      });
  };

  const writeNow = async (): Promise<void> => {
    const open = database;
    const path = settings.path;
    if (!open || path === undefined || settings.readOnly || persisted >= generation) return;
    const target = generation;
    // export() is synchronous and every transaction of this adapter runs synchronously to
    // its end, so no write transaction can be open here (sql.js would refuse).
    const bytes = open.driver.export();
    open.lock?.assertHeld();
    await writeFileAtomic(path, bytes);
    if (target > persisted) persisted = target;
  };

  /** Flushes in order: a flush requested now exports after every earlier flush finished. */
  const enqueueFlush = (): Promise<void> => {
    const run = flushQueue.then(writeNow);
    flushQueue = run.catch(() => undefined);
    return run;
  };

  const openNow = async (): Promise<OpenDatabase> => {
    const SQL = await loadSqlJs();
    const path = settings.path;
    if (path === undefined) {
      const driver = sqlJsDriver(new SQL.Database());
      configure(driver);
      migrate(driver, location);
      return { driver, lock: undefined, timer: undefined };
    }
    if (settings.readOnly) return openReadOnly(SQL, path);
    await mkdir(dirname(path), { recursive: true });
    const lock = await acquireFileLock(path);
    let driver: SqlJsDriver | undefined;
    try {
      await removeTemporaryFiles(path);
      const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      driver = openBytes(
        SQL,
        bytes,
        path,
        'Move it away or restore it from a backup; a new file is created when none exists.',
      );
      configure(driver);
      const { applied } = migrate(driver, path);
      if (bytes === undefined || applied.length > 0) {
        // Create (or upgrade) the file now, so it exists with its schema from the start.
        generation += 1;
        await writeFileAtomic(path, driver.export());
        persisted = generation;
      }
      const timer = settings.flushIntervalMs > 0 ? setInterval(tick, settings.flushIntervalMs) : undefined;
      timer?.unref(); // a pending flush must not keep the process alive; close() flushes
      return { driver, lock, timer };
    } catch (error) {
      driver?.close();
      lock.release();
      throw error;
    }
  };

  const resource = lazyResource({
    name: adapterName,
    open: () =>
      openNow().then((open) => {
        database = open;
        return open;
      }),
    async release(open) {
      if (open.timer) clearInterval(open.timer);
      // A failed write keeps the data and the lock: calling close() again retries it.
      await enqueueFlush();
      open.driver.close();
      open.lock?.release();
      database = undefined;
    },
    retryFailedRelease: true,
  });
  const openDriver = async (): Promise<SqlJsDriver> => (await resource.get()).driver;

  return sqliteAdapter({
    name: adapterName,
    driver: openDriver,
    onWrite: () => {
      generation += 1;
    },
    async ready() {
      await resource.get();
    },
    async flush() {
      if (resource.closed) throw new StorageClosedError(adapterName);
      const pending = resource.pending();
      if (!pending) return;
      await pending;
      await enqueueFlush();
    },
    close: resource.close,
  });
}

/**
 * Loads the file as it is now, without lock, folder, temporary-file clean-up or migration, and
 * makes the connection refuse writes (`query_only`), so nothing can reach the file.
 */
async function openReadOnly(SQL: Awaited<ReturnType<typeof loadSqlJs>>, path: string): Promise<OpenDatabase> {
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT')
      throw new StorageCorruptError({
        path,
        problem: 'does not exist',
        remedy: 'Check the path; a read-only storage never creates a database.',
        cause: error,
      });
    throw error;
  });
  let driver: SqlJsDriver | undefined;
  try {
    driver = openBytes(SQL, bytes, path, 'Pass the path of a self-improving-agent database.');
    checkReadableSchema(driver, path);
    driver.exec('PRAGMA query_only = ON');
    return { driver, lock: undefined, timer: undefined };
  } catch (error) {
    driver?.close();
    throw error;
  }
}

/**
 * A database over a file's bytes (a new one for `undefined`), read once so that bytes that are
 * not SQLite fail here with {@link StorageCorruptError} naming `path` and `remedy`.
 */
function openBytes(
  SQL: Awaited<ReturnType<typeof loadSqlJs>>,
  bytes: Uint8Array | undefined,
  path: string,
  remedy: string,
): SqlJsDriver {
  let driver: SqlJsDriver | undefined;
  try {
    driver = sqlJsDriver(new SQL.Database(bytes));
    driver.all('SELECT count(*) AS tables FROM sqlite_master');
    return driver;
  } catch (error) {
    driver?.close();
    throw new StorageCorruptError({ path, problem: 'is not a SQLite database', remedy, cause: error });
  }
}

/**
 * Per-connection settings. The wasm file system is not durable anyway (durability comes from
 * the atomic export), so the rollback journal can live in memory: same transactions and
 * rollbacks, fewer copies.
 */
function configure(driver: SqlJsDriver): void {
  driver.exec('PRAGMA journal_mode = MEMORY');
}

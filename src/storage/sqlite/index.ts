/**
 * SQLite storage, on an embedded engine: `sqlJsStorage` (sql.js, WebAssembly, no native code;
 * the file is written atomically under a lock) and `nodeSqliteStorage` (Node's built-in
 * `node:sqlite`, durable per transaction in WAL mode). Both run the same SQL (`sqlite-adapter.ts`) over
 * a small driver and share one schema (`migrations.ts`). By default both keep their databases
 * in the process's storage thread (`threaded-storage.ts`), off the app's event loop.
 * @packageDocumentation
 */
export { type NodeSqliteStorageOptions, nodeSqliteStorage } from './node-sqlite-storage.ts';
export { type SqlJsStorageOptions, sqlJsStorage } from './sql-js-storage.ts';
export { StorageThreadError } from './storage-thread-error.ts';

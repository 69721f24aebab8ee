/**
 * SQLite storage, on an embedded engine: `sqlJsStorage` (sql.js, WebAssembly, no native code;
 * the file is written atomically under a lock) and `nodeSqliteStorage` (Node's built-in
 * `node:sqlite`, durable per transaction in WAL mode). Both run the same SQL (`sqlite-adapter.ts`) over
 * a small driver and share one schema (`migrations.ts`).
 * @packageDocumentation
 */
export { type NodeSqliteStorageOptions, nodeSqliteStorage } from './node-sqlite-storage.ts';
export { type SqlJsStorageOptions, sqlJsStorage } from './sql-js-storage.ts';

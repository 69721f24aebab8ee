import { createRequire } from 'node:module';
import type { SqlJsStatic } from 'sql.js';

/**
 * The sql.js module of this process. Compiling the WebAssembly costs tens of milliseconds and
 * the module holds no per-database state, so every `sqlJsStorage` shares one; a failed load is
 * forgotten so the next open retries. (The only module-level state of the storage layer.)
 */
let sqlJsModule: Promise<SqlJsStatic> | undefined;

/** Loads sql.js once per process, with its wasm located through Node's resolver. */
export function loadSqlJs(): Promise<SqlJsStatic> {
  if (!sqlJsModule) {
    const loading = (async () => {
      const { default: initSqlJs } = await import('sql.js');
      // Resolve from this file, not the working directory, so bundled and installed copies work.
      const wasmPath = createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm.wasm');
      return initSqlJs({ locateFile: () => wasmPath });
    })();
    sqlJsModule = loading;
    loading.catch(() => {
      if (sqlJsModule === loading) sqlJsModule = undefined;
    });
  }
  return sqlJsModule;
}

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { nodeSqliteStorage } from '../storage/sqlite/node-sqlite-storage.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import type { CliValues } from './cli-command.ts';
import { CliFailure, CliUsageError } from './cli-errors.ts';

/** The default database file, relative to the working directory; `npm run demo` writes it too. */
export const DEFAULT_DB = '.sia/agent.sqlite';

/** Which database the command works on. */
export type StorageTarget =
  | { readonly kind: 'sql.js' | 'node-sqlite'; readonly path: string; readonly display: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string; readonly display: string };

const DRIVERS = ['sql.js', 'node-sqlite'] as const;

/** Reads `--db`, `--driver`, `--postgres` and `--schema` (with `SIA_DB` as the default file). */
export function storageTarget(values: CliValues, env: NodeJS.ProcessEnv, cwd: string): StorageTarget {
  const postgres = values.postgres;
  const db = values.db;
  if (typeof postgres === 'string') {
    if (typeof db === 'string')
      throw new CliUsageError('use either --db <file> or --postgres <url>, not both');
    if (typeof values.driver === 'string')
      throw new CliUsageError('--driver applies to --db files; leave it out with --postgres');
    const schema = typeof values.schema === 'string' ? values.schema : 'sia';
    return { kind: 'postgres', url: postgres, schema, display: `${redact(postgres)} (schema ${schema})` };
  }
  if (typeof values.schema === 'string') throw new CliUsageError('--schema applies to --postgres only');
  const driver = typeof values.driver === 'string' ? values.driver : 'sql.js';
  if (!(DRIVERS as readonly string[]).includes(driver)) {
    throw new CliUsageError(`unknown --driver "${driver}": use ${DRIVERS.join(' or ')}`);
  }
  const file = typeof db === 'string' ? db : env.SIA_DB || DEFAULT_DB;
  const path = resolve(cwd, file);
  return { kind: driver as 'sql.js' | 'node-sqlite', path, display: path };
}

/**
 * Opens the database of `target`. Files must exist and be self-improving-agent databases at
 * this release's schema version: the CLI never creates a database, nor adds its tables to
 * another application's file. With `readOnly` the file is opened read-only (no lock file, no
 * migration, nothing written). Otherwise it is first checked read-only, then opened for
 * writing; a sql.js file is opened without a flush interval, so it is written only by
 * `close()` and only when the command changed something; its lock is released by `close()`.
 * With `serve` (a command that runs until stopped, `sia mcp`) the database is opened for writing
 * as an agent opens it: the storage thread and periodic writes, a full PostgreSQL pool.
 */
export async function openStorage(
  target: StorageTarget,
  options: { readonly readOnly?: boolean; readonly serve?: boolean } = {},
): Promise<StorageAdapter> {
  if (target.kind === 'postgres') {
    // Loaded only here: `pg` is an optional peer dependency.
    const { postgresStorage } = await import('../storage/postgres/index.ts');
    const openPostgres = (readOnly: boolean) =>
      postgresStorage(
        { connectionString: target.url },
        { schema: target.schema, readOnly, ...(options.serve === true && !readOnly ? {} : { poolSize: 2 }) },
      );
    // Like files: never create or migrate a schema; a changing command checks it read-only first.
    const checkedSchema = await ready(openPostgres(true));
    if (options.readOnly === true) return checkedSchema;
    await checkedSchema.close();
    return ready(openPostgres(false));
  }
  if (!existsSync(target.path)) {
    throw new CliFailure(
      `no database at ${target.path}. Pass --db <file> (or set SIA_DB) to use another one; a database is created when an agent first runs with sqlJsStorage({ path }) or nodeSqliteStorage({ path }). In a clone of self-improving-agent, \`npm run demo\` writes ${DEFAULT_DB} in the clone's folder, where sia finds it without --db.`,
    );
  }
  if (!statSync(target.path).isFile()) throw new CliFailure(`${target.path} is not a file; pass --db <file>`);
  // On the calling thread: a command opens, reads or writes a little and exits, so there is no
  // event loop to keep free, and it saves the storage thread's start-up.
  // A server (`sia mcp`) opens it as an agent does: the storage thread, periodic writes.
  const serve = options.serve === true;
  const open = (readOnly: boolean): StorageAdapter =>
    target.kind === 'sql.js'
      ? sqlJsStorage(
          readOnly
            ? { path: target.path, readOnly, thread: false }
            : serve
              ? { path: target.path }
              : { path: target.path, flushIntervalMs: 0, thread: false },
        )
      : nodeSqliteStorage(
          serve && !readOnly ? { path: target.path } : { path: target.path, readOnly, thread: false },
        );
  const checked = await ready(open(true));
  if (options.readOnly === true) return checked;
  await checked.close();
  return ready(open(false));
}

async function ready(storage: StorageAdapter): Promise<StorageAdapter> {
  try {
    await storage.ready?.();
  } catch (error) {
    await storage.close().catch(() => undefined);
    throw error;
  }
  return storage;
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the --postgres URL';
  }
}

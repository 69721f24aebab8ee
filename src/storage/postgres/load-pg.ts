import { PostgresDriverMissingError } from './postgres-errors.ts';

/** The `pg` module as this adapter uses it. */
export type PgModule = typeof import('pg');

/**
 * Loads `pg` on first use, so importing self-improving-agent never requires it. A missing
 * package becomes {@link PostgresDriverMissingError}; any other failure is rethrown.
 * `importer` is replaceable for tests.
 */
export async function loadPg(importer: () => Promise<unknown> = () => import('pg')): Promise<PgModule> {
  let loaded: unknown;
  try {
    loaded = await importer();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND')
      throw new PostgresDriverMissingError(error);
    throw error;
  }
  // pg is CommonJS: the ESM namespace has it as `default` (its own ESM wrapper also names Pool).
  const module = loaded as { default?: PgModule } & Partial<PgModule>;
  const driver = (module.default ?? module) as PgModule;
  if (typeof driver.Pool !== 'function')
    throw new PostgresDriverMissingError(new Error('the "pg" module has no Pool export'));
  return driver;
}

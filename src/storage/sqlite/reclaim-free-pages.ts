import type { SqliteDriver } from './sqlite-driver.ts';

/** `PRAGMA auto_vacuum` values. */
const AUTO_VACUUM_NONE = 0;
const AUTO_VACUUM_INCREMENTAL = 2;

/**
 * A file without auto-vacuum is rewritten (converted) once at least this share of its pages is
 * free: the one-time `VACUUM` costs a copy of the whole database, so it waits for a prune that
 * frees a large part of it.
 */
const CONVERT_FREE_SHARE = 0.25;

/** What {@link reclaimFreePages} did. */
export type ReclaimResult = 'none' | 'incremental' | 'converted';

/**
 * Gives the pages a prune freed back to the file system, so the file shrinks. Call it after the
 * prune's transaction committed (`VACUUM` cannot run inside one):
 * - a database created by this release has `auto_vacuum = INCREMENTAL` (set by `migrate`):
 *   `PRAGMA incremental_vacuum` moves the last pages into the free ones and truncates the file,
 *   at a cost proportional to the pages freed;
 * - an older file (`auto_vacuum = NONE`) is converted once, when at least a quarter of it is
 *   free: `auto_vacuum = INCREMENTAL` then `VACUUM` rewrites it compactly; later prunes take the
 *   incremental path.
 * Returns what it did. With node:sqlite in WAL mode the main file shrinks at the next
 * checkpoint (at the latest when the connection closes).
 */
export function reclaimFreePages(driver: SqliteDriver): ReclaimResult {
  const free = Number(driver.all('PRAGMA freelist_count')[0]?.freelist_count ?? 0);
  if (free === 0) return 'none';
  const mode = Number(driver.all('PRAGMA auto_vacuum')[0]?.auto_vacuum ?? AUTO_VACUUM_NONE);
  if (mode === AUTO_VACUUM_INCREMENTAL) {
    driver.exec('PRAGMA incremental_vacuum');
    return 'incremental';
  }
  if (mode !== AUTO_VACUUM_NONE) return 'none'; // FULL: SQLite truncates at every commit already
  const pages = Number(driver.all('PRAGMA page_count')[0]?.page_count ?? 0);
  if (free < pages * CONVERT_FREE_SHARE) return 'none';
  driver.exec('PRAGMA auto_vacuum = INCREMENTAL');
  driver.exec('VACUUM');
  return 'converted';
}

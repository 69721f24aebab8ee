import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { SiaError } from '../../core/sia-error.ts';
import { StorageLockedError } from '../storage-errors.ts';

/** A lock held on a file by this process. */
export interface FileLock {
  /** The lock file, `<path>.lock`. */
  readonly lockPath: string;
  /**
   * Throws {@link StorageLockedError} unless the lock file still holds this lock's token.
   * Called before every write of the database file, so that in the rare race where another
   * process took the lock over, this process stops writing instead of overwriting its data.
   */
  assertHeld(): void;
  /** Deletes the lock file if it is still this lock's. Idempotent. */
  release(): void;
}

type Owner =
  | { kind: 'missing' }
  | { kind: 'pid'; pid: number; text: string }
  | { kind: 'invalid'; text: string };

const maxAttempts = 20;

/**
 * Takes the lock of `path` for this process: creates `<path>.lock` exclusively (`'wx'`, i.e.
 * O_CREAT | O_EXCL, which exactly one process can win) holding this process's pid and a random
 * token. If the lock file exists and names a live process, throws {@link StorageLockedError}
 * naming that pid (also when it is this very process: two adapters on one file would
 * overwrite each other's data). A lock whose pid is dead is stale and is taken over.
 *
 * Takeover renames the stale lock aside first and checks that what it moved is the stale lock
 * it read, so two processes that find the same stale lock cannot both win. Locks are only
 * meaningful between processes of one machine (pids), which is what an embedded file is for.
 */
export async function acquireFileLock(path: string): Promise<FileLock> {
  const lockPath = `${path}.lock`;
  const token = randomBytes(8).toString('hex');
  const content = `${process.pid}\n${token}\n`;
  for (let attempt = 0; attempt < maxAttempts; attempt += 1) {
    if (tryCreate(lockPath, content)) {
      let released = false;
      return {
        lockPath,
        assertHeld() {
          const owner = readOwnerNow(lockPath);
          if (!released && owner.text === content) return;
          // Deleted by hand (or with its folder): take it again if nobody else has. An error
          // such as ENOENT for a vanished folder propagates, like the write itself would.
          if (!released && owner.pid === undefined && owner.text === '' && tryCreate(lockPath, content))
            return;
          throw new StorageLockedError({ path, lockPath, pid: owner.pid ?? readOwnerNow(lockPath).pid ?? 0 });
        },
        release() {
          if (released) return;
          released = true;
          releaseLock(lockPath, token);
        },
      };
    }
    const owner = await readOwner(lockPath);
    if (owner.kind === 'missing') continue;
    if (owner.kind === 'pid' && isAlive(owner.pid))
      throw new StorageLockedError({ path, lockPath, pid: owner.pid });
    takeOver(lockPath, owner.text);
  }
  throw new SiaError({
    code: 'STORAGE_LOCK_CONTENDED',
    message: `Could not take the lock "${lockPath}" after ${maxAttempts} attempts: other processes keep taking it over. Open the file from one process at a time.`,
  });
}

/** True when a process with this pid exists (EPERM: it exists but belongs to another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(lockPath: string, content: string): boolean {
  let descriptor: number;
  try {
    descriptor = openSync(lockPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  // Synchronous from create to close: no other callback of this process runs in between, so a
  // reader sees an empty lock only for the microseconds of one write.
  try {
    writeSync(descriptor, content);
    fsyncSync(descriptor);
  } catch (error) {
    closeSync(descriptor);
    rmSync(lockPath, { force: true });
    throw error;
  }
  closeSync(descriptor);
  return true;
}

async function readOwner(lockPath: string): Promise<Owner> {
  let text = '';
  // An empty or partial lock is most likely being written right now: look again briefly
  // before calling it stale (a process that died between create and write leaves it so).
  for (let look = 0; look < 5; look += 1) {
    try {
      text = readFileSync(lockPath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
      throw error;
    }
    const match = /^(\d+)\n[0-9a-f]+\n$/.exec(text);
    if (match) return { kind: 'pid', pid: Number(match[1]), text };
    await delay(20);
  }
  return { kind: 'invalid', text };
}

function readOwnerNow(lockPath: string): { text: string; pid: number | undefined } {
  try {
    const text = readFileSync(lockPath, 'utf8');
    const match = /^(\d+)\n/.exec(text);
    return { text, pid: match ? Number(match[1]) : undefined };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { text: '', pid: undefined };
    throw error;
  }
}

function takeOver(lockPath: string, staleText: string): void {
  const aside = `${lockPath}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(lockPath, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else removed it
    throw error;
  }
  try {
    if (readFileSync(aside, 'utf8') !== staleText) {
      // Another process took the stale lock over between our read and our rename: what we
      // moved is its live lock. Put it back (unless a third process locked meanwhile).
      try {
        linkSync(aside, lockPath);
      } catch {
        // The path is taken again; the caller's next attempt reads the new owner.
      }
    }
  } finally {
    rmSync(aside, { force: true });
  }
}

function releaseLock(lockPath: string, token: string): void {
  let text: string;
  try {
    text = readFileSync(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  // Only delete our own lock: after a (wrong) takeover the file may belong to someone else.
  if (text === `${process.pid}\n${token}\n`) rmSync(lockPath, { force: true });
}

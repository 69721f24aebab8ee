/** Starts `storage-child.ts` and follows its stdout line by line, for the storage real-process tests. */
import { join } from 'node:path';
import { type Child, startChild } from './child-process.ts';

const script = join(import.meta.dirname, 'storage-child.ts');

/** A running child and what it printed so far. */
export interface StorageChild extends Omit<Child, 'send' | 'waitForLine'> {
  /** Resolves with the first line starting with `prefix` (rejects if the child exits first). */
  waitForLine(prefix: string, timeoutMs?: number): Promise<string>;
}

/** Spawns the child with the current Node.js (which strips TypeScript types natively). */
export function startStorageChild(args: readonly string[]): StorageChild {
  const child = startChild(script, args);
  return {
    process: child.process,
    pid: child.pid,
    lines: child.lines,
    exited: child.exited,
    stderr: child.stderr,
    waitForLine: (prefix, timeoutMs = 120_000) => child.waitForLine(prefix, { timeoutMs }),
  };
}

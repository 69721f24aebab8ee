/** Starts `storage-child.ts` and follows its stdout line by line, for the storage real-process tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const script = join(import.meta.dirname, 'storage-child.ts');

/** A running child and what it printed so far. */
export interface StorageChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Resolves with the first line starting with `prefix` (rejects if the child exits first). */
  waitForLine(prefix: string, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code or signal once the child exited and its output was read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the child wrote to stderr. */
  stderr(): string;
}

/** Spawns the child with the current Node.js (which strips TypeScript types natively). */
export function startStorageChild(args: readonly string[]): StorageChild {
  const child = spawn(process.execPath, ['--no-warnings', script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buffered = '';
  let errors = '';
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    errors += chunk;
  });
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      done = true;
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, signal });
    }),
  );

  return {
    process: child,
    pid: child.pid as number,
    lines,
    exited,
    stderr: () => errors,
    waitForLine(prefix, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "${prefix}" line within ${timeoutMs} ms; stderr: ${errors}`)),
          timeoutMs,
        );
        const check = () => {
          const line = lines.find((candidate) => candidate.startsWith(prefix));
          if (line !== undefined) {
            clearTimeout(timer);
            resolve(line);
          } else if (done) {
            clearTimeout(timer);
            reject(
              new Error(
                `child exited before printing "${prefix}"; stdout: ${lines.join(' | ')}; stderr: ${errors}`,
              ),
            );
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

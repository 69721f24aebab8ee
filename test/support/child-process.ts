/** Starts a Node.js script as a child process and follows its stdout line by line. */
import { type ChildProcess, spawn } from 'node:child_process';

/** A running child and what it printed so far. */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Writes one line to the child's stdin. */
  send(line: string): void;
  /**
   * Resolves with the first line starting with `prefix` after index `from` (rejects if the child
   * exits first, or after `timeoutMs`, 120 s by default: a hang detector, not a speed check).
   */
  waitForLine(prefix: string, options?: { timeoutMs?: number; from?: number }): Promise<string>;
  /** Resolves with the exit code or signal once the child exited and its output was read. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the child wrote to stderr. */
  stderr(): string;
}

/** Spawns `script` with the current Node.js (which strips TypeScript types natively). */
export function startChild(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, ['--no-warnings', script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
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
  child.stdin.on('error', () => {
    // The child may be gone (killed on purpose) when the test writes to it.
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
    send(line) {
      child.stdin.write(`${line}\n`);
    },
    waitForLine(prefix, { timeoutMs = 120_000, from = 0 } = {}) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no "${prefix}" line within ${timeoutMs} ms; stdout: ${lines.slice(-10).join(' | ')}; stderr: ${errors}`,
              ),
            ),
          timeoutMs,
        );
        const check = () => {
          const line = lines.slice(from).find((candidate) => candidate.startsWith(prefix));
          if (line !== undefined) {
            clearTimeout(timer);
            resolve(line);
          } else if (done) {
            clearTimeout(timer);
            reject(
              new Error(
                `child exited before printing "${prefix}"; stdout: ${lines.slice(-10).join(' | ')}; stderr: ${errors}`,
              ),
            );
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

/** What {@link runToEnd} returns: as `spawnSync` would, without blocking the test's event loop. */
export interface Finished {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` to its end, however long a busy machine takes (the test's own timeout is the
 * hang detector), and resolves with its exit status and output.
 */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

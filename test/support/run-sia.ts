/**
 * Runs the `sia` CLI for tests: in this process through `runCli` and its injectable I/O (fast:
 * what nearly every CLI test uses), or spawned from source (`node src/cli/main.ts`, Node strips
 * the types), for the few tests of the process binding itself.
 */
import { join } from 'node:path';
import { runCli } from '../../src/cli/run-cli.ts';
import { runToEnd } from './child-process.ts';

/** The CLI entry, run from source. */
export const SIA_MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** What one run printed, and how it exited. */
export interface SiaRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `sia ...args` in this process, as `main.ts` would in its own: each line written to
 * stdout/stderr ends with a newline, `cwd` and `env` are the only working directory and
 * environment the CLI sees (`SIA_DB` and `SIA_DEBUG` unset unless given).
 */
export async function sia(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<SiaRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    out: (text) => {
      stdout += `${text}\n`;
    },
    err: (text) => {
      stderr += `${text}\n`;
    },
    cwd: options.cwd,
    env: { ...options.env },
  });
  return { code, stdout, stderr };
}

/** Spawns `sia ...args` in `cwd` with the current Node.js; never rejects for a non-zero exit. */
export async function runSia(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<SiaRun> {
  // Runs to its end however long a busy machine takes; the test's own timeout stops a hung child.
  const run = await runToEnd(process.execPath, [SIA_MAIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, SIA_DB: '', SIA_DEBUG: '', ...options.env },
  });
  return { code: run.status ?? 1, stdout: run.stdout, stderr: run.stderr };
}

/** Runs the `sia` CLI from source (`node src/cli/main.ts`, Node strips the types) and collects its output. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

/** The CLI entry, run from source. */
export const SIA_MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** What one run printed, and how it exited. */
export interface SiaRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `sia ...args` in `cwd` with the current Node.js; never rejects for a non-zero exit. */
export function runSia(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<SiaRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [SIA_MAIN, ...args],
      {
        cwd: options.cwd,
        env: { ...process.env, SIA_DB: '', SIA_DEBUG: '', ...options.env },
        encoding: 'utf8',
        timeout: 20_000,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(error);
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

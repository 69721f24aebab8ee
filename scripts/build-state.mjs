// Whether dist/ is current: every file tsup writes exists and is newer than everything the
// build reads. Plain JavaScript, used by scripts/run-example.mjs.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The files tsup writes for the package's entries (tsup.config.ts). */
export const OUTPUTS = [
  'index.js',
  'index.d.ts',
  'kit.js',
  'kit.d.ts',
  'testing.js',
  'postgres.js',
  'sandbox-worker.js',
  'cli.js',
];

/** What the build reads besides src/ (test and bench files are not part of the build). */
export const CONFIG_INPUTS = ['tsup.config.ts', 'tsconfig.json', 'package.json', 'package-lock.json'];

/** The newest file under `folder` that the build reads, as `{ file, mtimeMs }`. */
function newestInput(folder, newest = { file: '', mtimeMs: 0 }) {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) newestInput(path, newest);
    else if (!/\.(test|bench)\.ts$/.test(entry.name)) {
      const { mtimeMs } = statSync(path);
      if (mtimeMs > newest.mtimeMs) Object.assign(newest, { file: path, mtimeMs });
    }
  }
  return newest;
}

/**
 * Why `root`/dist must be rebuilt (one phrase, e.g. `src/index.ts changed since the last build`),
 * or `undefined` when every output exists and is newer than every input.
 */
export function staleReason(root) {
  const missing = OUTPUTS.find((file) => !existsSync(join(root, 'dist', file)));
  if (missing !== undefined) return `dist/${missing} is missing`;
  const built = Math.min(...OUTPUTS.map((file) => statSync(join(root, 'dist', file)).mtimeMs));
  const newest = newestInput(join(root, 'src'));
  for (const file of CONFIG_INPUTS) {
    const path = join(root, file);
    if (existsSync(path) && statSync(path).mtimeMs > newest.mtimeMs)
      Object.assign(newest, { file: path, mtimeMs: statSync(path).mtimeMs });
  }
  if (newest.mtimeMs > built) return `${newest.file.slice(root.length + 1)} changed since the last build`;
  return undefined;
}

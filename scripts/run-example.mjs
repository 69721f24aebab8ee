// Runs one bundled example, as `npm run demo` and `npm run example:<name>` do:
//
//   node scripts/run-example.mjs <name> [args...]
//
// Examples import the package by name, which resolves to dist/; dist/ is rebuilt first only
// when it is missing or older than the sources (a rebuild takes ~20 s, an example a few).
// Plain JavaScript, so that an old Node.js gets scripts/check-node.mjs's one-line message.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleReason } from './build-state.mjs';
import { nodeProblem } from './check-node.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

const [name, ...rest] = process.argv.slice(2);
const problem = nodeProblem();
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
const entry = name === undefined ? undefined : join(root, 'examples', name, 'index.ts');
if (entry === undefined || !existsSync(entry)) {
  const names = readdirSync(join(root, 'examples'), { withFileTypes: true })
    .filter((dirent) => dirent.isDirectory())
    .map((dirent) => dirent.name);
  process.stderr.write(`usage: node scripts/run-example.mjs <${names.join('|')}> [args...]\n`);
  process.exit(2);
}
const reason = staleReason(root);
if (reason !== undefined) {
  process.stderr.write(`building dist/ first (${reason}) …\n`);
  const status = run(process.execPath, [
    join(root, 'node_modules', 'tsup', 'dist', 'cli-default.js'),
    '--silent',
  ]);
  if (status !== 0) process.exit(status);
}
process.exit(run(process.execPath, [entry, ...rest]));

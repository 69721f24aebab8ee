/**
 * `npm run bench [filter...]`: runs every `src/**\/*.bench.ts` (each a standalone script) one
 * after another in its own Node process, so one benchmark's heap never skews the next.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const filters = process.argv.slice(2);
const files = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => join(root, 'src', file))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();

if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ') || '(any)'}`);
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  console.log(`\n### ${relative(root, file)}`);
  const result = spawnSync(process.execPath, ['--expose-gc', file], { stdio: 'inherit', cwd: root });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);

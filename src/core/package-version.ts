import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * This package's version, from its own package.json (found from this file, in `src/` or
 * `dist/`), or `'unknown'` when it cannot be found (bundled into another file). What `sia
 * --version` prints and the MCP server and client announce.
 */
export function packageVersion(): string {
  let directory: string | undefined = import.meta.dirname;
  for (let depth = 0; depth < 5 && typeof directory === 'string'; depth += 1) {
    try {
      const manifest = JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (manifest.name === 'self-improving-agent' && typeof manifest.version === 'string')
        return manifest.version;
    } catch {
      // Not here: one folder up.
    }
    directory = dirname(directory);
  }
  return 'unknown';
}

/**
 * The layering the README declares, checked against the code: every production import between
 * folders of `src/` points down the declared folder order, and no two files import each other,
 * directly or around a loop. The order is read from the README's architecture section, so the
 * document and the check cannot drift apart.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

/** The folder order from the README line "Folder order: `core` < `storage` < …". */
function declaredOrder(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const line = readme.split('\n').find((text) => text.startsWith('**Folder order**'));
  if (line === undefined) throw new Error('README.md has no "**Folder order**" line');
  return [...line.matchAll(/`([a-z-]+)`(?=\s*(<|$|\.|\s\())/g)].map((match) => match[1] as string);
}

/** Production TypeScript files under `src/` (tests and benchmarks excluded), relative to `src/`. */
function productionFiles(directory = src): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return productionFiles(path);
    if (!entry.name.endsWith('.ts') || /\.(test|bench)\.ts$/.test(entry.name)) return [];
    return [relative(src, path)];
  });
}

/** Relative imports of a file (static, type-only, re-exports and dynamic), as paths under `src/`. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\s[^'";]*?from\s+'([^']+)'/gm),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((match) => match[1] as string);
  return specifiers
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(src, resolve(dirname(join(src, file)), specifier)));
}

/** The top folder of a path under `src/`; files at the root of `src/` are the package entry. */
function folderOf(file: string): string {
  return file.includes('/') ? (file.split('/')[0] as string) : '(root)';
}

const files = productionFiles();
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe('architecture: the folder order the README declares', () => {
  const order = declaredOrder();

  it('names every folder of src/ exactly once', () => {
    const folders = readdirSync(src, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    expect([...order].sort()).toEqual(folders);
  });

  it('has every import between folders point down the order (none up, none sideways)', () => {
    const rank = new Map(order.map((folder, index) => [folder, index]));
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      const from = folderOf(file);
      if (from === '(root)') continue; // the package entry re-exports from every folder
      for (const target of imports) {
        const to = folderOf(target);
        if (to === from) continue;
        if ((rank.get(to) ?? Number.POSITIVE_INFINITY) >= (rank.get(from) ?? -1)) {
          upward.push(`src/${file} imports src/${target} (${from} may import only folders left of it)`);
        }
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycle between files', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string): void => {
      state.set(file, 'open');
      stack.push(file);
      for (const target of graph.get(file) ?? []) {
        if (!graph.has(target)) continue;
        if (state.get(target) === 'open') {
          cycles.push([...stack.slice(stack.indexOf(target)), target].join(' → '));
        } else if (state.get(target) === undefined) {
          visit(target);
        }
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  it('resolves every relative import to a file that exists (the check reads the real graph)', () => {
    const missing = [...graph].flatMap(([file, imports]) =>
      imports
        .filter((target) => !graph.has(target) && !/\.(json|js|mjs)$/.test(target))
        .map((target) => `src/${file} → ${target}`),
    );
    expect(missing).toEqual([]);
    expect(graph.size).toBeGreaterThan(100);
  });
});

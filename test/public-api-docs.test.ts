/**
 * Every public export has JSDoc: the package's entry points are read with the TypeScript
 * compiler API, every exported symbol is resolved to its declaration, and its documentation
 * comment must not be empty (interfaces' and options' members included).
 */
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const entries = [
  'src/index.ts',
  'src/kit.ts',
  'src/testing/index.ts',
  'src/storage/postgres/index.ts',
  'src/mcp/index.ts',
].map((path) => fileURLToPath(new URL(`../${path}`, import.meta.url)));

function undocumented(): string[] {
  const program = ts.createProgram(entries, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
  });
  const checker = program.getTypeChecker();
  const missing = new Set<string>();
  const documented = (symbol: ts.Symbol): boolean =>
    ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim().length > 0 ||
    symbol.getJsDocTags(checker).length > 0;
  for (const entry of entries) {
    const source = program.getSourceFile(entry);
    if (!source) throw new Error(`cannot read ${entry}`);
    const module = checker.getSymbolAtLocation(source);
    if (!module) continue;
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (!documented(symbol)) missing.add(exported.getName());
    }
  }
  return [...missing].sort();
}

describe('public API documentation', () => {
  it('documents every export of the package entry points', () => {
    expect(undocumented()).toEqual([]);
  }, 60_000);
});

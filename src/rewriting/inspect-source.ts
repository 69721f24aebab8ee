import { type Comment, type Node, parse } from 'acorn';
import { ancestor } from 'acorn-walk';
import { hardeningMarker, loaderName } from './hardening-template.ts';

/** What the hardening rewriter needs to know about a tool's source. */
export interface SourceFacts {
  /** The source parsed as a script. */
  readonly parsed: boolean;
  /** A top-level `function <name>` / `async function <name>` exists. */
  readonly hasEntry: boolean;
  /** The source already carries the hardening header or loader. */
  readonly hardened: boolean;
  /** Some code reads the global `fetch` (not a property named fetch). */
  readonly usesFetch: boolean;
  /** The top level itself declares a binding named `fetch` (it could not be shadowed). */
  readonly declaresFetch: boolean;
}

/**
 * Parses `source` with acorn (a script, latest syntax) and reports the facts above. Parse
 * failures are a fact too (`parsed: false`), not an exception: the rewriter then has nothing to
 * offer, and the validator reports the syntax error to whoever wrote the code.
 */
export function inspectSource(source: string, name: string): SourceFacts {
  const comments: Comment[] = [];
  let program: Node & { body: Node[] };
  try {
    program = parse(source, {
      ecmaVersion: 'latest',
      sourceType: 'script',
      allowHashBang: true,
      onComment: comments,
    }) as Node & { body: Node[] };
  } catch {
    return { parsed: false, hasEntry: false, hardened: false, usesFetch: false, declaresFetch: false };
  }
  let hasEntry = false;
  let declaresFetch = false;
  let hasLoader = false;
  for (const statement of program.body) {
    for (const declared of topLevelNames(statement)) {
      if (declared === 'fetch') declaresFetch = true;
      if (declared === loaderName) hasLoader = true;
    }
    if (statement.type === 'FunctionDeclaration' && functionName(statement) === name) hasEntry = true;
  }
  const hardened =
    hasLoader || comments.some((comment) => comment.value.trimStart().startsWith(hardeningMarker));
  return { parsed: true, hasEntry, hardened, usesFetch: readsGlobalFetch(program), declaresFetch };
}

function functionName(node: Node): string | undefined {
  return (node as Node & { id?: { name?: string } | null }).id?.name;
}

function topLevelNames(statement: Node): string[] {
  if (statement.type === 'FunctionDeclaration' || statement.type === 'ClassDeclaration') {
    const name = functionName(statement);
    return name === undefined ? [] : [name];
  }
  if (statement.type !== 'VariableDeclaration') return [];
  const declarations = (statement as Node & { declarations: { id: Node }[] }).declarations;
  return declarations.flatMap((declaration) =>
    declaration.id.type === 'Identifier' ? [(declaration.id as Node & { name: string }).name] : [],
  );
}

/**
 * True when an identifier `fetch` is read as a variable somewhere. Property names (`api.fetch`,
 * `{ fetch: 1 }`) do not count; a local that happens to be called `fetch` does (harmless: the
 * hardening is then merely unused).
 */
function readsGlobalFetch(program: Node): boolean {
  let found = false;
  ancestor(program, {
    Identifier(node, _state, ancestors) {
      if (found || (node as Node & { name: string }).name !== 'fetch') return;
      const parent = ancestors[ancestors.length - 2] as
        | (Node & { property?: Node; computed?: boolean; key?: Node; shorthand?: boolean })
        | undefined;
      if (parent?.type === 'MemberExpression' && parent.property === node && parent.computed !== true) return;
      if (parent?.type === 'Property' && parent.key === node && parent.shorthand !== true) return;
      if (parent?.type === 'MethodDefinition' || parent?.type === 'PropertyDefinition') return;
      found = true;
    },
  });
  return found;
}

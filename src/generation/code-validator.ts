import { type AnyNode, type FunctionDeclaration, type Node, type Options, type Program, parse } from 'acorn';
import { type AncestorVisitors, ancestor } from 'acorn-walk';
import { integerOption, objectOption, stringOption } from '../core/options.ts';
import { extractCode } from './extract-code.ts';

/**
 * Every code a {@link ValidationIssue} can carry. The strings are stable: match on them.
 *
 * - `EMPTY`: no code at all (empty, whitespace, comments only, or prose such as a refusal).
 * - `TOO_LARGE`: the code is larger than `maxBytes` UTF-8 bytes (checked before parsing).
 * - `SYNTAX`: the code does not parse as a JavaScript script (TypeScript types, JSX, truncation…).
 * - `NO_ENTRY_FUNCTION`: no top-level `function <name>` declaration (none at all, an arrow
 *   function assigned to a const, or a generator).
 * - `WRONG_NAME`: top-level functions exist but none has the required name.
 * - `TOO_MANY_PARAMS`: the entry function declares more than one parameter.
 * - `FORBIDDEN_IMPORT`: `import`/`export` statements, dynamic `import()`, `require`, `module.exports`.
 * - `FORBIDDEN_EVAL`: `eval`, `Function`, `.constructor(…)` calls, string timers: code built from strings.
 * - `TOP_LEVEL_STATEMENT`: anything at the top level other than the entry function and `const`
 *   declarations.
 * - `FORBIDDEN_GLOBAL_ASSIGNMENT`: assignment to a variable that is declared nowhere (an implicit
 *   global) or to a property of `globalThis`/`window`/`self`/`global`.
 */
export const VALIDATION_ISSUE_CODES = [
  'SYNTAX',
  'NO_ENTRY_FUNCTION',
  'WRONG_NAME',
  'TOO_MANY_PARAMS',
  'FORBIDDEN_IMPORT',
  'FORBIDDEN_EVAL',
  'TOP_LEVEL_STATEMENT',
  'FORBIDDEN_GLOBAL_ASSIGNMENT',
  'TOO_LARGE',
  'EMPTY',
] as const;

/** A stable issue code, see {@link VALIDATION_ISSUE_CODES}. */
export type ValidationIssueCode = (typeof VALIDATION_ISSUE_CODES)[number];

/** One problem found in a tool's source. Messages are written for an LLM to act on. */
export interface ValidationIssue {
  /** Stable code. */
  readonly code: ValidationIssueCode;
  /** What is wrong and what to write instead. */
  readonly message: string;
  /** 1-based line in the extracted source (the one `validate` returns on success), when known. */
  readonly line?: number;
}

/** Options of {@link formatIssue}. */
export interface FormatIssueOptions {
  /**
   * The file the source came from. When set, the issue reads `file:N: CODE: message`, the
   * compiler-style form that editors and terminals turn into links.
   */
  readonly file?: string;
}

/**
 * One line for a validation issue: `CODE (line N): message`, or `CODE: message` when the line is
 * unknown. With `options.file`: `file:N: CODE: message` (or `file: CODE: message`).
 * @example
 * ```ts
 * const result = new CodeValidator().validate(source, { name: 'add' });
 * const problems = result.ok ? [] : result.issues.map((issue) => formatIssue(issue)); // one line each
 * ```
 */
export function formatIssue(issue: ValidationIssue, options: FormatIssueOptions = {}): string {
  if (options.file !== undefined) {
    return `${options.file}${issue.line === undefined ? '' : `:${issue.line}`}: ${issue.code}: ${issue.message}`;
  }
  return `${issue.code}${issue.line === undefined ? '' : ` (line ${issue.line})`}: ${issue.message}`;
}

/** The outcome of {@link CodeValidator.validate}. */
export type ValidationResult =
  | { readonly ok: true; readonly source: string }
  | { readonly ok: false; readonly issues: ValidationIssue[] };

/** Options of {@link CodeValidator}. */
export interface CodeValidatorOptions {
  /**
   * Largest accepted source, in UTF-8 bytes (after stripping the Markdown fence).
   * @default 65_536
   */
  readonly maxBytes?: number;
}

/** Per-call options of {@link CodeValidator.validate}. */
export interface ValidateOptions {
  /** The required name of the entry function (the tool's name). */
  readonly name: string;
  /** Overrides the validator's `maxBytes` for this call. */
  readonly maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 65_536;
const MAX_ALLOWED_BYTES = 16 * 1024 * 1024;

/** Names through which a script reaches the global object. */
const GLOBAL_OBJECTS = new Set(['globalThis', 'window', 'self', 'global']);
/** Globals that compile strings into code. */
const CODE_FROM_STRING = new Set(['eval', 'Function']);

const SCRIPT_OPTIONS: Options = { ecmaVersion: 'latest', sourceType: 'script', locations: true };

type Scoped = Map<Node, Set<string>>;

/**
 * Checks that an LLM's answer is a well-formed tool before it goes near the sandbox, with a real
 * JavaScript parser (acorn), and reports every problem with a stable code, a line and a message
 * an LLM can act on. `validate` strips one Markdown fence and surrounding prose first
 * ({@link extractCode}) and returns the stripped source when it passes.
 *
 * A valid tool is a script with exactly one top-level `function <name>(input) { … }` (or
 * `async function`) taking at most one parameter (a destructuring pattern or a default value is
 * fine), and nothing else at the top level but `const` declarations (helpers, constants).
 *
 * What the static checks catch, and what they do not: `eval`, `Function` (read, called or
 * constructed), `globalThis.eval` / `window['Function']` and the like, any `x.constructor(…)`
 * call with arguments (the `(() => {}).constructor('code')` escape), `setTimeout('code')`,
 * `require`, `import()`, `import`/`export`, `module.exports`, assignments to undeclared names
 * and to `globalThis.x`. Not caught: names computed at run time (`globalThis['ev' + 'al']`,
 * `Reflect.get(globalThis, name)`), the global object reached through an alias
 * (`const g = globalThis; g.x = 1`) or through `this` in a sloppy function. These checks give
 * fast, precise feedback; the QuickJS sandbox is the security boundary.
 *
 * @example
 * ```ts
 * const result = new CodeValidator().validate(answer, { name: 'add' });
 * if (result.ok) await sandbox.run({ source: result.source, entry: 'add' }, { a: 1, b: 2 });
 * else for (const issue of result.issues) report(issue.code, issue.line, issue.message);
 * ```
 */
export class CodeValidator {
  readonly #maxBytes: number;

  constructor(options: CodeValidatorOptions = {}) {
    objectOption('options', options);
    this.#maxBytes =
      options.maxBytes === undefined
        ? DEFAULT_MAX_BYTES
        : integerOption('maxBytes', options.maxBytes, 1, MAX_ALLOWED_BYTES);
  }

  /** The size cap in UTF-8 bytes this validator applies by default. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /**
   * Validates `source` (a model's answer: code, fenced or not, possibly with prose around it).
   * Never throws for bad code; throws `InvalidOptionError` for a bad `name` or `maxBytes`.
   */
  validate(source: string, options: ValidateOptions): ValidationResult {
    objectOption('options', options);
    const name = stringOption('name', options.name);
    const maxBytes =
      options.maxBytes === undefined ? this.#maxBytes : integerOption('maxBytes', options.maxBytes, 1);
    if (typeof source !== 'string') return fail([emptyIssue(name, undefined)]);

    const code = extractCode(source);
    if (code.length === 0) return fail([emptyIssue(name, undefined)]);
    const bytes = Buffer.byteLength(code, 'utf8');
    if (bytes > maxBytes) {
      return fail([
        {
          code: 'TOO_LARGE',
          message: `The code is ${bytes} bytes; the limit is ${maxBytes}. Write a shorter tool: drop comments, unused helpers and embedded data.`,
        },
      ]);
    }

    const issues: ValidationIssue[] = [];
    const program = parseProgram(code, name, issues);
    if (program === null) return fail(issues);
    try {
      checkTopLevel(program, name, issues);
      checkBody(program, issues);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      issues.push({
        code: 'SYNTAX',
        message: 'The code is nested too deeply to analyse. Flatten deeply nested expressions.',
      });
    }
    return issues.length === 0 ? { ok: true, source: code } : fail(issues);
  }
}

function fail(issues: ValidationIssue[]): ValidationResult {
  const unique = new Map<string, ValidationIssue>();
  for (const issue of issues) unique.set(`${issue.code}\u0000${issue.line}\u0000${issue.message}`, issue);
  const sorted = [...unique.values()].sort(
    (a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER),
  );
  return { ok: false, issues: sorted };
}

function emptyIssue(name: string, prose: string | undefined): ValidationIssue {
  const said =
    prose === undefined
      ? 'The answer contained no code.'
      : `The answer contained no JavaScript code, only prose: "${abbreviate(prose, 120)}".`;
  return {
    code: 'EMPTY',
    message: `${said} Answer with only the JavaScript source of \`function ${name}(input) { … }\`, in one \`\`\`js fence, with no other text.`,
  };
}

interface AcornSyntaxError {
  readonly message: string;
  readonly loc?: { readonly line: number; readonly column: number };
}

function parseProgram(code: string, name: string, issues: ValidationIssue[]): Program | null {
  try {
    return parse(code, SCRIPT_OPTIONS);
  } catch (error) {
    const syntax = asSyntaxError(error);
    if (syntax === null) {
      issues.push({ code: 'SYNTAX', message: 'The code is nested too deeply to parse. Flatten it.' });
      return null;
    }
    if (isModuleOnlySyntax(syntax.message)) {
      // `import`/`export` are syntax errors in a script; parse as a module to report them as
      // FORBIDDEN_IMPORT and to keep checking the rest of the code.
      try {
        return parse(code, { ...SCRIPT_OPTIONS, sourceType: 'module' });
      } catch (moduleError) {
        issues.push({
          code: 'FORBIDDEN_IMPORT',
          message: `Remove every \`import\`/\`export\`/\`import.meta\`: a tool is a plain script; the sandbox calls \`${name}\` by name and offers no modules.`,
          ...lineOf(syntax),
        });
        const moduleSyntax = asSyntaxError(moduleError);
        if (moduleSyntax !== null) issues.push(syntaxIssue(moduleSyntax));
        return null;
      }
    }
    issues.push(looksLikeProse(code) ? emptyIssue(name, code) : syntaxIssue(syntax));
    return null;
  }
}

function asSyntaxError(error: unknown): AcornSyntaxError | null {
  return error instanceof SyntaxError ? (error as AcornSyntaxError) : null;
}

function isModuleOnlySyntax(message: string): boolean {
  return message.includes('sourceType: module') || message.includes('import.meta');
}

function syntaxIssue(error: AcornSyntaxError): ValidationIssue {
  // acorn appends "(line:column)" to its messages; the line is reported separately.
  const reason = error.message.replace(/\s*\(\d+:\d+\)$/, '');
  const where = error.loc === undefined ? '' : ` at line ${error.loc.line}, column ${error.loc.column + 1}`;
  return {
    code: 'SYNTAX',
    message: `The code does not parse as JavaScript: ${reason}${where}. Write plain modern JavaScript (no TypeScript types, no JSX) and make sure the answer is complete.`,
    ...lineOf(error),
  };
}

function lineOf(error: AcornSyntaxError): { line?: number } {
  return error.loc === undefined ? {} : { line: error.loc.line };
}

// Only picks the message (EMPTY rather than SYNTAX) for text that fails to parse anyway.
function looksLikeProse(code: string): boolean {
  if (/\bfunction\b|=>|[{};=]/.test(code)) return false;
  return (code.match(/[A-Za-z]{2,}/g)?.length ?? 0) >= 2;
}

function line(node: Node): number | undefined {
  return node.loc?.start.line;
}

function at(node: Node): { line?: number } {
  const value = line(node);
  return value === undefined ? {} : { line: value };
}

function abbreviate(text: string, length: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= length ? flat : `${flat.slice(0, length - 1)}…`;
}

function checkTopLevel(program: Program, name: string, issues: ValidationIssue[]): void {
  const entries: FunctionDeclaration[] = [];
  const otherFunctions: { name: string; node: Node }[] = [];
  const constEntries: Node[] = [];
  let statements = 0;

  for (const statement of program.body) {
    let declaration: AnyNode = statement;
    if (
      statement.type === 'ImportDeclaration' ||
      statement.type === 'ExportNamedDeclaration' ||
      statement.type === 'ExportDefaultDeclaration' ||
      statement.type === 'ExportAllDeclaration'
    ) {
      const keyword = statement.type === 'ImportDeclaration' ? 'import' : 'export';
      issues.push({
        code: 'FORBIDDEN_IMPORT',
        message:
          keyword === 'import'
            ? 'Remove this `import`: a tool cannot load modules. Use the globals the sandbox provides (fetch, URL, …) or write the helper yourself.'
            : `Remove this \`export\`: the sandbox calls \`${name}\` by name, so nothing needs exporting.`,
        ...at(statement),
      });
      const inner = 'declaration' in statement ? statement.declaration : null;
      if (inner === null || inner === undefined) continue;
      declaration = inner;
    }
    statements += 1;
    switch (declaration.type) {
      case 'FunctionDeclaration': {
        const functionName = declaration.id?.name ?? '(anonymous)';
        if (functionName === name) entries.push(declaration as FunctionDeclaration);
        else otherFunctions.push({ name: functionName, node: declaration });
        break;
      }
      case 'VariableDeclaration':
        if (declaration.kind === 'const') {
          for (const declarator of declaration.declarations) {
            if (declarator.id.type === 'Identifier' && declarator.id.name === name)
              constEntries.push(declarator);
          }
        } else {
          const names = declaration.declarations.flatMap((declarator) => patternNames(declarator.id));
          issues.push({
            code: 'TOP_LEVEL_STATEMENT',
            message: `Top-level \`${declaration.kind}\` declaration of ${formatNames(names)}: the top level may only hold \`const\` declarations and \`function ${name}\`. Use \`const\`, or move mutable state inside \`${name}\` (state must not outlive one call).`,
            ...at(declaration),
          });
        }
        break;
      case 'ClassDeclaration':
        issues.push({
          code: 'TOP_LEVEL_STATEMENT',
          message: `Top-level class \`${declaration.id?.name ?? ''}\`: declare it as \`const ${declaration.id?.name ?? 'Helper'} = class { … }\` or inside \`${name}\`.`,
          ...at(declaration),
        });
        break;
      case 'EmptyStatement':
        break;
      case 'ExpressionStatement':
        if ('directive' in declaration && typeof declaration.directive === 'string') break;
        // `module.exports = …` is reported once, as FORBIDDEN_IMPORT, by the body checks.
        if (isModuleExportsAssignment(declaration.expression)) break;
        issues.push({
          code: 'TOP_LEVEL_STATEMENT',
          message: describeTopLevelExpression(declaration.expression, name),
          ...at(declaration),
        });
        break;
      default:
        issues.push({
          code: 'TOP_LEVEL_STATEMENT',
          message: `Top-level \`${statementKeyword(declaration.type)}\` statement: the top level may only hold \`const\` declarations and \`function ${name}\`. Move this code inside \`${name}\`.`,
          ...at(declaration),
        });
    }
  }

  if (statements === 0) {
    issues.push(emptyIssue(name, undefined));
    return;
  }
  checkEntry(name, entries, otherFunctions, constEntries, issues);
}

function checkEntry(
  name: string,
  entries: FunctionDeclaration[],
  otherFunctions: { name: string; node: Node }[],
  constEntries: Node[],
  issues: ValidationIssue[],
): void {
  const entry = entries[0];
  if (entry === undefined) {
    const constEntry = constEntries[0];
    if (constEntry !== undefined) {
      issues.push({
        code: 'NO_ENTRY_FUNCTION',
        message: `\`${name}\` is a const, not a function declaration: write \`function ${name}(input) { … }\` (or \`async function ${name}(input)\`).`,
        ...at(constEntry),
      });
    } else if (otherFunctions.length > 0) {
      const found = otherFunctions.map((other) => `\`${other.name}\` (line ${line(other.node)})`).join(', ');
      issues.push({
        code: 'WRONG_NAME',
        message: `No top-level function is named \`${name}\`; found ${found}. Name the entry function exactly \`${name}\`${otherFunctions.length > 1 ? ', and declare helpers as `const helper = (…) => …` or inside it' : ''}.`,
        ...at((otherFunctions[0] as { node: Node }).node),
      });
    } else {
      issues.push({
        code: 'NO_ENTRY_FUNCTION',
        message: `The code declares no function \`${name}\`. Declare \`function ${name}(input) { … }\` (or \`async function ${name}(input)\`) at the top level.`,
      });
    }
    return;
  }
  // Helpers declared as functions: only the entry may be a top-level function declaration, so
  // that `name` is unambiguous and every helper is a const.
  for (const other of otherFunctions) {
    issues.push({
      code: 'TOP_LEVEL_STATEMENT',
      message: `Top-level function \`${other.name}\`: only \`${name}\` may be a top-level function. Declare helpers as \`const ${other.name} = (…) => …\` or inside \`${name}\`.`,
      ...at(other.node),
    });
  }
  for (const duplicate of entries.slice(1)) {
    issues.push({
      code: 'TOP_LEVEL_STATEMENT',
      message: `\`${name}\` is declared more than once (first at line ${line(entry)}). Keep exactly one declaration.`,
      ...at(duplicate),
    });
  }
  if (entry.generator) {
    issues.push({
      code: 'NO_ENTRY_FUNCTION',
      message: `\`${name}\` is a generator (\`function*\`); it must return JSON data. Write \`function ${name}(input)\` or \`async function ${name}(input)\`.`,
      ...at(entry),
    });
  }
  if (entry.params.length > 1) {
    const params = entry.params.map((param) => patternNames(param).join(', ') || '…');
    issues.push({
      code: 'TOO_MANY_PARAMS',
      message: `\`${name}\` declares ${entry.params.length} parameters (${params.join('; ')}); it is called with exactly one argument, the input object. Write \`function ${name}(input)\` or destructure it: \`function ${name}({ ${params.join(', ')} })\`.`,
      ...at(entry),
    });
  }
}

function describeTopLevelExpression(expression: AnyNode, name: string): string {
  const callee =
    expression.type === 'CallExpression'
      ? expression.callee
      : expression.type === 'AwaitExpression' && expression.argument.type === 'CallExpression'
        ? expression.argument.callee
        : null;
  if (callee !== null && (calls(callee, name) || containsCallOf(expression, name))) {
    return `Top-level call of \`${name}\`: remove example calls and test code; the sandbox calls \`${name}\` itself.`;
  }
  if (callee !== null && callee.type === 'MemberExpression' && isIdentifier(callee.object, 'console')) {
    return 'Top-level `console` call: remove it (and any example or test code) from the top level.';
  }
  if (expression.type === 'AssignmentExpression') {
    return `Top-level assignment: the top level may only hold \`const\` declarations and \`function ${name}\`. Use \`const\`, or move the assignment inside \`${name}\`.`;
  }
  return `Top-level expression: the top level may only hold \`const\` declarations and \`function ${name}\`. Move this code inside \`${name}\`, or declare helpers as \`const helper = (…) => …\`.`;
}

function isModuleExportsAssignment(expression: AnyNode): boolean {
  if (expression.type !== 'AssignmentExpression' || expression.left.type !== 'MemberExpression') return false;
  const { object } = expression.left;
  return isIdentifier(object, 'exports') || isIdentifier(object, 'module');
}

function calls(callee: AnyNode, name: string): boolean {
  return isIdentifier(callee, name);
}

function containsCallOf(expression: AnyNode, name: string): boolean {
  let found = false;
  ancestor(expression, {
    CallExpression(node) {
      if (isIdentifier(node.callee, name)) found = true;
    },
  });
  return found;
}

function statementKeyword(type: string): string {
  const keywords: Record<string, string> = {
    IfStatement: 'if',
    ForStatement: 'for',
    ForInStatement: 'for…in',
    ForOfStatement: 'for…of',
    WhileStatement: 'while',
    DoWhileStatement: 'do…while',
    TryStatement: 'try',
    SwitchStatement: 'switch',
    ThrowStatement: 'throw',
    BlockStatement: '{ … } block',
    LabeledStatement: 'labeled',
    WithStatement: 'with',
    DebuggerStatement: 'debugger',
    ReturnStatement: 'return',
  };
  return keywords[type] ?? type;
}

function formatNames(names: string[]): string {
  return names.length === 0 ? 'a pattern' : names.map((entry) => `\`${entry}\``).join(', ');
}

function isIdentifier(node: AnyNode | null | undefined, name: string): boolean {
  return node?.type === 'Identifier' && node.name === name;
}

/** Identifier names bound by a declaration pattern (`a`, `{ a, b: [c] }`, `...rest`, `x = 1`). */
function patternNames(pattern: AnyNode): string[] {
  switch (pattern.type) {
    case 'Identifier':
      return [pattern.name];
    case 'ObjectPattern':
      return pattern.properties.flatMap((property) =>
        property.type === 'RestElement' ? patternNames(property.argument) : patternNames(property.value),
      );
    case 'ArrayPattern':
      return pattern.elements.flatMap((element) => (element === null ? [] : patternNames(element)));
    case 'RestElement':
      return patternNames(pattern.argument);
    case 'AssignmentPattern':
      return patternNames(pattern.left);
    default:
      return [];
  }
}

/** Identifiers and member expressions written by an assignment target pattern. */
function assignmentTargets(pattern: AnyNode): AnyNode[] {
  switch (pattern.type) {
    case 'Identifier':
    case 'MemberExpression':
      return [pattern];
    case 'ObjectPattern':
      return pattern.properties.flatMap((property) =>
        property.type === 'RestElement'
          ? assignmentTargets(property.argument)
          : assignmentTargets(property.value),
      );
    case 'ArrayPattern':
      return pattern.elements.flatMap((element) => (element === null ? [] : assignmentTargets(element)));
    case 'RestElement':
      return assignmentTargets(pattern.argument);
    case 'AssignmentPattern':
      return assignmentTargets(pattern.left);
    case 'ParenthesizedExpression':
      return assignmentTargets(pattern.expression);
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Scopes: every name a declaration binds is recorded on the node that scopes it (Program,
// function, block, for, switch, catch, class). A reference is declared when one of its ancestors
// binds the name. `var` and function declarations also bind in the nearest function, which
// over-approximates sloppy-mode hoisting: it can hide an implicit global, never invent one.

const BLOCK_SCOPES = new Set([
  'Program',
  'BlockStatement',
  'StaticBlock',
  'SwitchStatement',
  'ForStatement',
  'ForInStatement',
  'ForOfStatement',
  'CatchClause',
]);
const FUNCTION_SCOPES = new Set([
  'Program',
  'FunctionDeclaration',
  'FunctionExpression',
  'ArrowFunctionExpression',
]);
const PATTERN_WRAPPERS = new Set([
  'ObjectPattern',
  'ArrayPattern',
  'RestElement',
  'AssignmentPattern',
  'Property',
]);

function bind(scopes: Scoped, scope: Node | undefined, name: string): void {
  if (scope === undefined) return;
  let names = scopes.get(scope);
  if (names === undefined) {
    names = new Set();
    scopes.set(scope, names);
  }
  names.add(name);
}

function nearest(ancestors: readonly AnyNode[], from: number, kinds: Set<string>): AnyNode | undefined {
  for (let index = from; index >= 0; index -= 1) {
    const node = ancestors[index] as AnyNode;
    if (kinds.has(node.type)) return node;
  }
  return undefined;
}

function collectScopes(program: Program): Scoped {
  const scopes: Scoped = new Map();
  // acorn-walk calls `VariablePattern` for every identifier in a binding or assignment pattern;
  // its typings do not list that pseudo-type.
  const visitors = {
    VariablePattern(node: AnyNode, _state: unknown, ancestors: AnyNode[]) {
      if (node.type !== 'Identifier') return;
      let index = ancestors.length - 2;
      while (index >= 0 && PATTERN_WRAPPERS.has((ancestors[index] as AnyNode).type)) index -= 1;
      const owner = ancestors[index];
      if (owner === undefined) return;
      switch (owner.type) {
        case 'VariableDeclarator': {
          const declaration = ancestors[index - 1];
          if (declaration?.type !== 'VariableDeclaration') return;
          if (declaration.kind === 'var')
            bind(scopes, nearest(ancestors, index - 2, FUNCTION_SCOPES), node.name);
          else bind(scopes, nearest(ancestors, index - 2, BLOCK_SCOPES), node.name);
          return;
        }
        case 'FunctionDeclaration':
          if (owner.id === node) {
            bind(scopes, nearest(ancestors, index - 1, BLOCK_SCOPES), node.name);
            bind(scopes, nearest(ancestors, index - 1, FUNCTION_SCOPES), node.name);
          } else bind(scopes, owner, node.name);
          return;
        case 'FunctionExpression':
        case 'ArrowFunctionExpression':
        case 'CatchClause':
        case 'ClassExpression':
          bind(scopes, owner, node.name);
          return;
        case 'ClassDeclaration':
          bind(scopes, nearest(ancestors, index - 1, BLOCK_SCOPES), node.name);
          return;
        default:
          return; // an assignment target, not a declaration
      }
    },
  };
  ancestor(program, visitors as AncestorVisitors<unknown>);
  return scopes;
}

function isDeclared(scopes: Scoped, ancestors: readonly AnyNode[], name: string): boolean {
  for (let index = ancestors.length - 1; index >= 0; index -= 1) {
    if (scopes.get(ancestors[index] as AnyNode)?.has(name) === true) return true;
  }
  return false;
}

function propertyName(member: AnyNode): string | undefined {
  if (member.type !== 'MemberExpression') return undefined;
  if (!member.computed && member.property.type === 'Identifier') return member.property.name;
  if (member.property.type === 'Literal' && typeof member.property.value === 'string')
    return member.property.value;
  if (member.property.type === 'TemplateLiteral' && member.property.expressions.length === 0) {
    return member.property.quasis[0]?.value.cooked ?? undefined;
  }
  return undefined;
}

function checkBody(program: Program, issues: ValidationIssue[]): void {
  const scopes = collectScopes(program);
  const undeclared = (name: string, ancestors: readonly AnyNode[]) => !isDeclared(scopes, ancestors, name);

  const checkWrite = (target: AnyNode, ancestors: readonly AnyNode[]) => {
    if (target.type === 'Identifier') {
      if (undeclared(target.name, ancestors)) {
        issues.push({
          code: 'FORBIDDEN_GLOBAL_ASSIGNMENT',
          message: `Assignment to \`${target.name}\`, which is declared nowhere (it would become a global). Declare it first with \`let ${target.name}\` or \`const ${target.name}\` inside the function.`,
          ...at(target),
        });
      }
      return;
    }
    if (target.type !== 'MemberExpression' || target.object.type !== 'Identifier') return;
    const object = target.object.name;
    if (!undeclared(object, ancestors)) return;
    if (GLOBAL_OBJECTS.has(object)) {
      issues.push({
        code: 'FORBIDDEN_GLOBAL_ASSIGNMENT',
        message: `Assignment to \`${object}.${propertyName(target) ?? '[…]'}\`: a tool must not change the global object. Keep the value in a local \`const\`/\`let\`.`,
        ...at(target),
      });
    } else if (object === 'module' || object === 'exports') {
      issues.push({
        code: 'FORBIDDEN_IMPORT',
        message:
          'Remove `module.exports`/`exports`: a tool is a plain script and the sandbox calls the function by name.',
        ...at(target),
      });
    }
  };

  ancestor(program, {
    AssignmentExpression(node, _state, ancestors) {
      for (const target of assignmentTargets(node.left)) checkWrite(target, ancestors);
    },
    UpdateExpression(node, _state, ancestors) {
      checkWrite(node.argument, ancestors);
    },
    ForInStatement(node, _state, ancestors) {
      if (node.left.type !== 'VariableDeclaration') {
        for (const target of assignmentTargets(node.left)) checkWrite(target, ancestors);
      }
    },
    ForOfStatement(node, _state, ancestors) {
      if (node.left.type !== 'VariableDeclaration') {
        for (const target of assignmentTargets(node.left)) checkWrite(target, ancestors);
      }
    },
    Identifier(node, _state, ancestors) {
      if (!CODE_FROM_STRING.has(node.name) && node.name !== 'require') return;
      if (!undeclared(node.name, ancestors)) return;
      const parent = ancestors[ancestors.length - 2];
      // `value instanceof Function` is a type test, not code generation.
      if (parent?.type === 'BinaryExpression' && parent.operator === 'instanceof' && parent.right === node)
        return;
      if (node.name === 'require') {
        issues.push({
          code: 'FORBIDDEN_IMPORT',
          message:
            'Remove `require(…)`: a tool cannot load modules. Use the globals the sandbox provides (fetch, URL, TextEncoder, …) or write the helper yourself.',
          ...at(node),
        });
        return;
      }
      issues.push({
        code: 'FORBIDDEN_EVAL',
        message: `\`${node.name}\` compiles strings into code and is not allowed. Write the logic directly (parse JSON with JSON.parse, look values up in an object).`,
        ...at(node),
      });
    },
    MemberExpression(node, _state, ancestors) {
      const property = propertyName(node);
      if (property === undefined || !CODE_FROM_STRING.has(property)) return;
      if (node.object.type !== 'Identifier' || !GLOBAL_OBJECTS.has(node.object.name)) return;
      if (!undeclared(node.object.name, ancestors)) return;
      issues.push({
        code: 'FORBIDDEN_EVAL',
        message: `\`${node.object.name}.${property}\` compiles strings into code and is not allowed. Write the logic directly.`,
        ...at(node),
      });
    },
    CallExpression(node) {
      checkCall(node, issues);
    },
    NewExpression(node) {
      checkCall(node, issues);
    },
    ImportExpression(node) {
      issues.push({
        code: 'FORBIDDEN_IMPORT',
        message:
          'Remove `import(…)`: a tool cannot load modules. Use the globals the sandbox provides or write the helper yourself.',
        ...at(node),
      });
    },
  });
}

function checkCall(node: AnyNode, issues: ValidationIssue[]): void {
  if (node.type !== 'CallExpression' && node.type !== 'NewExpression') return;
  const { callee } = node;
  if (
    callee.type === 'MemberExpression' &&
    propertyName(callee) === 'constructor' &&
    node.arguments.length > 0
  ) {
    issues.push({
      code: 'FORBIDDEN_EVAL',
      message:
        'Calling `.constructor(…)` with arguments can compile a string into code (the Function constructor) and is not allowed. Create values with literals or named constructors instead.',
      ...at(node),
    });
    return;
  }
  const first = node.arguments[0];
  const timer = callee.type === 'Identifier' ? callee.name : propertyName(callee);
  if (
    (timer === 'setTimeout' || timer === 'setInterval') &&
    first !== undefined &&
    ((first.type === 'Literal' && typeof first.value === 'string') || first.type === 'TemplateLiteral')
  ) {
    issues.push({
      code: 'FORBIDDEN_EVAL',
      message: `\`${timer}\` with a string compiles it into code. Pass a function: \`${timer}(() => { … }, ms)\`.`,
      ...at(node),
    });
  }
}

import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import {
  CodeValidator,
  formatIssue,
  VALIDATION_ISSUE_CODES,
  type ValidationIssue,
  type ValidationIssueCode,
} from './code-validator.ts';

const validator = new CodeValidator();

function issues(source: string, name = 'tool'): ValidationIssue[] {
  const result = validator.validate(source, { name });
  if (result.ok) throw new Error(`expected issues for:\n${source}`);
  return result.issues;
}

function codes(source: string, name = 'tool'): [ValidationIssueCode, number | undefined][] {
  return issues(source, name).map((issue) => [issue.code, issue.line]);
}

function passes(source: string, name = 'tool'): string {
  const result = validator.validate(source, { name });
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.issues, null, 2)}`);
  return result.source;
}

describe('CodeValidator: code that passes', () => {
  it.each([
    ['a plain function', 'function tool(input) { return input.a + 1; }'],
    ['an async function', 'async function tool(input) { return await Promise.resolve(input); }'],
    [
      'a destructured parameter with defaults',
      'function tool({ a = 1, b: [c] = [], ...rest } = {}) { return a + c; }',
    ],
    ['no parameter', 'function tool() { return 42; }'],
    ['a rest parameter', 'function tool(...args) { return args.length; }'],
    [
      'const arrow helpers and constants',
      "'use strict';\nconst FACTOR = 2;\nconst double = (x) => x * FACTOR;\nconst helper = function named(y) { return named.length + y; };\nfunction tool({ n }) { return double(n) + helper(1); }",
    ],
    [
      'nested functions, closures and local state',
      'function tool(input) {\n  let total = 0;\n  function add(x) { total += x; }\n  for (const value of input.values) add(value);\n  const cache = {};\n  cache.last = total;\n  return { total, last: cache.last };\n}',
    ],
    [
      'loops, catch, classes and var inside the function',
      'function tool(input) {\n  var count = 0;\n  for (let i = 0; i < 3; i++) count++;\n  for (const key in input) count += key.length;\n  try { JSON.parse("x"); } catch (error) { error = null; }\n  class Box { constructor(v) { this.v = v; } }\n  let a, b;\n  [a, b] = [1, 2];\n  ({ a, b } = { a: b, b: a });\n  return new Box(count + a + b).v;\n}',
    ],
    ['an instanceof Function type test', 'function tool(input) { return input instanceof Function; }'],
    [
      'a local named eval shadowing the global',
      'function tool(input) { const eval_ = 1; const Function = (x) => x; return Function(eval_); }',
    ],
    [
      'setTimeout with a function',
      'async function tool() { await new Promise((resolve) => setTimeout(resolve, 10)); return 1; }',
    ],
    [
      'a property called constructor without a call',
      'function tool(input) { return input.constructor === Object; }',
    ],
    [
      'reading (not writing) globals',
      'function tool() { return typeof globalThis.fetch === "function" && Math.max(1, 2); }',
    ],
  ])('accepts %s', (_label, source) => {
    expect(passes(source)).toBe(source);
  });

  it('accepts a realistic fetch tool and returns the code without its fence', () => {
    // The guest's template literals are escaped (\` and \${) inside this host template literal.
    const code = `const BASE_URL = "https://api.example.com/latest/";
const toNumber = (value, field) => {
  const number = Number(value);
  if (!Number.isFinite(number)) throw new Error(\`\${field} must be a number, got \${value}\`);
  return number;
};

async function fetch_exchange_rate({ from, to, amount = 1 }) {
  if (typeof from !== "string" || typeof to !== "string") throw new Error("from and to are required");
  const url = new URL(BASE_URL + encodeURIComponent(from));
  url.searchParams.set("symbols", to);
  const response = await fetch(url.toString(), { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(\`HTTP \${response.status}\`);
  const body = await response.json();
  const rate = body.rates?.[to];
  if (rate === undefined) throw new Error(\`unknown currency \${to}\`);
  return { rate, converted: toNumber(amount, "amount") * rate };
}`;
    const answer = `Here is the tool:\n\n\`\`\`javascript\n${code}\n\`\`\`\n\nIt uses the \`rates\` field.`;
    expect(validator.validate(answer, { name: 'fetch_exchange_rate' })).toEqual({ ok: true, source: code });
  });
});

describe('CodeValidator: one issue code each', () => {
  it('EMPTY for empty, whitespace, fence-only and comment-only answers', () => {
    for (const source of ['', '   \n\t ', '```js\n```', '// nothing here\n/* at all */']) {
      const found = issues(source);
      expect(found.map((issue) => issue.code)).toEqual(['EMPTY']);
      expect(found[0]?.message).toContain(
        'Answer with only the JavaScript source of `function tool(input) { … }`',
      );
    }
  });

  it('EMPTY (not SYNTAX) for a refusal, quoting it', () => {
    const [issue] = issues("I'm sorry, but I can't help with that request.");
    expect(issue?.code).toBe('EMPTY');
    expect(issue?.message).toContain(`only prose: "I'm sorry, but I can't help with that request."`);
  });

  it('TOO_LARGE counts UTF-8 bytes before parsing', () => {
    const small = new CodeValidator({ maxBytes: 40 });
    const code = `function tool() { return "${'é'.repeat(8)}"; }`; // 38 characters, 46 bytes
    expect(code.length).toBeLessThan(40);
    const result = small.validate(code, { name: 'tool' });
    expect(result).toEqual({
      ok: false,
      issues: [
        {
          code: 'TOO_LARGE',
          message:
            'The code is 46 bytes; the limit is 40. Write a shorter tool: drop comments, unused helpers and embedded data.',
        },
      ],
    });
    // a broken program that is too large is reported as TOO_LARGE only (never parsed)
    expect(codes('('.repeat(41)).map(([code]) => code)).toEqual(['SYNTAX']);
    expect(small.validate('('.repeat(41), { name: 'tool' })).toMatchObject({
      issues: [{ code: 'TOO_LARGE' }],
    });
    // per-call maxBytes overrides the validator's
    expect(validator.validate(code, { name: 'tool', maxBytes: 46 }).ok).toBe(true);
    expect(validator.validate(code, { name: 'tool', maxBytes: 45 }).ok).toBe(false);
  });

  it('SYNTAX with line and column, e.g. for TypeScript', () => {
    const found = issues('function tool(input) {\n  const x: number = 1;\n  return x;\n}');
    expect(found).toEqual([
      {
        code: 'SYNTAX',
        line: 2,
        message:
          'The code does not parse as JavaScript: Unexpected token at line 2, column 10. Write plain modern JavaScript (no TypeScript types, no JSX) and make sure the answer is complete.',
      },
    ]);
  });

  it('SYNTAX for a truncated answer', () => {
    expect(codes('function tool(input) {\n  return [1, 2')).toEqual([['SYNTAX', 2]]);
  });

  it('SYNTAX (not a host crash) for pathologically deep nesting', () => {
    const deep = `function tool() { return ${'['.repeat(20_000)}${']'.repeat(20_000)}; }`;
    const result = validator.validate(deep, { name: 'tool' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]?.code).toBe('SYNTAX');
  });

  it('NO_ENTRY_FUNCTION when there is no function at all', () => {
    expect(issues('const x = 1;')).toEqual([
      {
        code: 'NO_ENTRY_FUNCTION',
        message:
          'The code declares no function `tool`. Declare `function tool(input) { … }` (or `async function tool(input)`) at the top level.',
      },
    ]);
  });

  it('NO_ENTRY_FUNCTION when the entry is a const arrow function', () => {
    const [issue] = issues('const tool = async (input) => input;');
    expect(issue).toMatchObject({ code: 'NO_ENTRY_FUNCTION', line: 1 });
    expect(issue?.message).toContain(
      '`tool` is a const, not a function declaration: write `function tool(input) { … }`',
    );
  });

  it('NO_ENTRY_FUNCTION for a generator', () => {
    expect(codes('function* tool(input) { yield 1; }')).toEqual([['NO_ENTRY_FUNCTION', 1]]);
  });

  it('WRONG_NAME names both the required and the found function', () => {
    expect(issues('const RATE = 1;\nfunction fetchRate(input) { return RATE; }', 'fetch_rate')).toEqual([
      {
        code: 'WRONG_NAME',
        line: 2,
        message:
          'No top-level function is named `fetch_rate`; found `fetchRate` (line 2). Name the entry function exactly `fetch_rate`.',
      },
    ]);
    const [several] = issues('function a() {}\nfunction b(input) { return a(); }');
    expect(several?.message).toBe(
      'No top-level function is named `tool`; found `a` (line 1), `b` (line 2). Name the entry function exactly `tool`, and declare helpers as `const helper = (…) => …` or inside it.',
    );
  });

  it('TOO_MANY_PARAMS suggests destructuring', () => {
    expect(issues('function tool(from, to) { return from + to; }')).toEqual([
      {
        code: 'TOO_MANY_PARAMS',
        line: 1,
        message:
          '`tool` declares 2 parameters (from; to); it is called with exactly one argument, the input object. Write `function tool(input)` or destructure it: `function tool({ from, to })`.',
      },
    ]);
  });

  it('FORBIDDEN_IMPORT for import and export statements (reported, not SYNTAX), and keeps checking', () => {
    const found = issues(
      "import fs from 'node:fs';\nexport async function tool(input) {\n  total = 1;\n  return fs;\n}",
    );
    expect(found.map((issue) => [issue.code, issue.line])).toEqual([
      ['FORBIDDEN_IMPORT', 1],
      ['FORBIDDEN_IMPORT', 2],
      ['FORBIDDEN_GLOBAL_ASSIGNMENT', 3],
    ]);
    expect(found[0]?.message).toMatch(/^Remove this `import`/);
    expect(found[1]?.message).toBe(
      'Remove this `export`: the sandbox calls `tool` by name, so nothing needs exporting.',
    );
  });

  it('FORBIDDEN_IMPORT for export default, require, import() and module.exports', () => {
    expect(codes('export default function tool(input) { return 1; }')).toEqual([['FORBIDDEN_IMPORT', 1]]);
    expect(
      codes(
        "function tool(input) {\n  const fs = require('fs');\n  return import('node:os');\n}\nmodule.exports = tool;\nexports.tool = tool;",
      ),
    ).toEqual([
      ['FORBIDDEN_IMPORT', 2],
      ['FORBIDDEN_IMPORT', 3],
      ['FORBIDDEN_IMPORT', 5],
      ['FORBIDDEN_IMPORT', 6],
    ]);
  });

  it('FORBIDDEN_IMPORT plus SYNTAX when the module has another error', () => {
    expect(codes("import x from 'y';\nfunction tool( {")).toEqual([
      ['FORBIDDEN_IMPORT', 1],
      ['SYNTAX', 2],
    ]);
  });

  it('FORBIDDEN_EVAL for every string-to-code route it can see', () => {
    const source = [
      'function tool(input) {',
      "  eval('1');", // 2
      "  const f = new Function('return 1');", // 3
      "  Function('return 2')();", // 4
      "  globalThis.eval('3');", // 5
      "  window['Function']('4');", // 6
      "  (() => {}).constructor('return 5')();", // 7
      "  Object.getPrototypeOf(async function () {}).constructor('return 6');", // 8
      "  setTimeout('doSomething()', 10);", // 9
      '  const alias = eval;', // 10
      '  return f;',
      '}',
    ].join('\n');
    expect(codes(source)).toEqual([
      ['FORBIDDEN_EVAL', 2],
      ['FORBIDDEN_EVAL', 3],
      ['FORBIDDEN_EVAL', 4],
      ['FORBIDDEN_EVAL', 5],
      ['FORBIDDEN_EVAL', 6],
      ['FORBIDDEN_EVAL', 7],
      ['FORBIDDEN_EVAL', 8],
      ['FORBIDDEN_EVAL', 9],
      ['FORBIDDEN_EVAL', 10],
    ]);
  });

  it('does not catch names computed at run time (documented: the sandbox is the boundary)', () => {
    expect(passes("function tool() { const name = 'ev' + 'al'; return globalThis[name]; }")).toContain(
      'globalThis[name]',
    );
  });

  it('TOP_LEVEL_STATEMENT for let/var, other functions, classes, calls and control flow', () => {
    const source = [
      'let counter = 0;', // 1
      'var cache = {};', // 2
      'class Helper {}', // 3
      'function helper() { return 1; }', // 4
      'function tool(input) { return helper(); }', // 5
      'console.log(tool({}));', // 6
      'if (true) { counter = 1; }', // 7
      'tool({ a: 1 });', // 8
    ].join('\n');
    const found = issues(source);
    expect(found.map((issue) => [issue.code, issue.line])).toEqual([
      ['TOP_LEVEL_STATEMENT', 1],
      ['TOP_LEVEL_STATEMENT', 2],
      ['TOP_LEVEL_STATEMENT', 3],
      ['TOP_LEVEL_STATEMENT', 4],
      ['TOP_LEVEL_STATEMENT', 6],
      ['TOP_LEVEL_STATEMENT', 7],
      ['TOP_LEVEL_STATEMENT', 8],
    ]);
    const messages = found.map((issue) => issue.message);
    expect(messages[0]).toContain('Top-level `let` declaration of `counter`');
    expect(messages[2]).toBe(
      'Top-level class `Helper`: declare it as `const Helper = class { … }` or inside `tool`.',
    );
    expect(messages[3]).toBe(
      'Top-level function `helper`: only `tool` may be a top-level function. Declare helpers as `const helper = (…) => …` or inside `tool`.',
    );
    expect(messages[4]).toBe(
      'Top-level call of `tool`: remove example calls and test code; the sandbox calls `tool` itself.',
    );
    expect(messages[5]).toContain('Top-level `if` statement');
  });

  it('TOP_LEVEL_STATEMENT for a duplicate entry declaration', () => {
    expect(codes('function tool() { return 1; }\nfunction tool() { return 2; }')).toEqual([
      ['TOP_LEVEL_STATEMENT', 2],
    ]);
  });

  it('FORBIDDEN_GLOBAL_ASSIGNMENT for implicit globals and global-object writes', () => {
    const source = [
      'function tool(input) {',
      '  result = input.a;', // 2
      '  count++;', // 3
      '  for (key in input) {}', // 4
      '  [first, second] = [1, 2];', // 5
      '  globalThis.shared = 1;', // 6
      "  window['x'] = 2;", // 7
      '  return result;',
      '}',
    ].join('\n');
    const found = issues(source);
    expect(found.map((issue) => [issue.code, issue.line])).toEqual([
      ['FORBIDDEN_GLOBAL_ASSIGNMENT', 2],
      ['FORBIDDEN_GLOBAL_ASSIGNMENT', 3],
      ['FORBIDDEN_GLOBAL_ASSIGNMENT', 4],
      ['FORBIDDEN_GLOBAL_ASSIGNMENT', 5],
      ['FORBIDDEN_GLOBAL_ASSIGNMENT', 5],
      ['FORBIDDEN_GLOBAL_ASSIGNMENT', 6],
      ['FORBIDDEN_GLOBAL_ASSIGNMENT', 7],
    ]);
    expect(found[0]?.message).toBe(
      'Assignment to `result`, which is declared nowhere (it would become a global). Declare it first with `let result` or `const result` inside the function.',
    );
    expect(found[5]?.message).toBe(
      'Assignment to `globalThis.shared`: a tool must not change the global object. Keep the value in a local `const`/`let`.',
    );
  });

  it('a variable declared in an inner block does not cover an assignment outside it', () => {
    expect(codes('function tool() {\n  { let x = 1; }\n  x = 2;\n  return 1;\n}')).toEqual([
      ['FORBIDDEN_GLOBAL_ASSIGNMENT', 3],
    ]);
  });

  it('reports every issue at once, sorted by line', () => {
    const found = codes("let a = 1;\nfunction tool(x, y) {\n  b = eval('2');\n  return require('z');\n}");
    expect(found).toEqual([
      ['TOP_LEVEL_STATEMENT', 1],
      ['TOO_MANY_PARAMS', 2],
      ['FORBIDDEN_EVAL', 3],
      ['FORBIDDEN_GLOBAL_ASSIGNMENT', 3],
      ['FORBIDDEN_IMPORT', 4],
    ]);
  });

  it('has a test for every code', () => {
    expect([...VALIDATION_ISSUE_CODES].sort()).toEqual(
      [
        'EMPTY',
        'FORBIDDEN_EVAL',
        'FORBIDDEN_GLOBAL_ASSIGNMENT',
        'FORBIDDEN_IMPORT',
        'NO_ENTRY_FUNCTION',
        'SYNTAX',
        'TOO_LARGE',
        'TOO_MANY_PARAMS',
        'TOP_LEVEL_STATEMENT',
        'WRONG_NAME',
      ].sort(),
    );
  });
});

describe('CodeValidator options', () => {
  it('rejects invalid options and names', () => {
    expect(() => new CodeValidator({ maxBytes: 0 })).toThrow(InvalidOptionError);
    expect(() => new CodeValidator({ maxBytes: 1.5 })).toThrow(/Invalid option "maxBytes"/);
    expect(() => validator.validate('function tool() {}', { name: '' })).toThrow(/Invalid option "name"/);
    expect(() => validator.validate('function tool() {}', { name: 'tool', maxBytes: -1 })).toThrow(
      /Invalid option "maxBytes"/,
    );
    expect(new CodeValidator().maxBytes).toBe(65_536);
  });

  it('does not mutate its input and returns the same result twice', () => {
    const source = '```js\nfunction tool() { return 1; }\n```';
    expect(validator.validate(source, { name: 'tool' })).toEqual(
      validator.validate(source, { name: 'tool' }),
    );
  });
});

describe('formatIssue', () => {
  it('reads CODE (line N): message, without the line when it is unknown', () => {
    const [issue] = issues('const x = 1;\nfunction other() {}', 'tool');
    expect(issue).toBeDefined();
    if (issue === undefined) return;
    expect(formatIssue({ ...issue, line: 2 })).toBe(`${issue.code} (line 2): ${issue.message}`);
    expect(formatIssue({ code: 'EMPTY', message: 'no code' })).toBe('EMPTY: no code');
  });

  it('with a file, reads file:N: CODE: message', () => {
    expect(formatIssue({ code: 'SYNTAX', message: 'bad', line: 3 }, { file: 'tools/a.js' })).toBe(
      'tools/a.js:3: SYNTAX: bad',
    );
    expect(formatIssue({ code: 'EMPTY', message: 'no code' }, { file: 'a.js' })).toBe('a.js: EMPTY: no code');
  });
});

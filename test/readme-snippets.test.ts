/**
 * Every TypeScript snippet of README.md and examples/*\/README.md typechecks as pasted.
 *
 * Each ```ts / ```typescript block becomes its own module in a temporary folder inside the
 * repository (so `ai`, `zod` and `@ai-sdk/openai` resolve from node_modules), next to a generated
 * tsconfig.json that extends the project's and maps `self-improving-agent`, `/testing`, `/mcp` and
 * `/postgres` to src/. The folder mirrors the repository's layout and is merged with it
 * (`rootDirs`), so a relative import in examples/x/README.md resolves as from examples/x/.
 * One TypeScript program checks all of them; a diagnostic names the README and the line. A snippet that is deliberately partial is preceded by
 * `<!-- snippet: not-checked (reason) -->` and left out. `SIA_KEEP_SNIPPETS=1` keeps the folder
 * (test-artifacts/readme-snippets-*) for a look with `npx tsc -p <folder>`.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

/** One fenced TypeScript block of a README. */
interface Snippet {
  /** README path relative to the repository. */
  readme: string;
  /** 1-based line of the block's first code line in the README. */
  line: number;
  code: string;
  /** The reason given in a `not-checked` marker, or null when the block is checked. */
  notChecked: string | null;
}

const NOT_CHECKED = /^<!--\s*snippet:\s*not-checked\s*\((.+)\)\s*-->$/;

/** The fenced ts/typescript blocks of one Markdown file (CommonMark fences: ``` or ~~~, 3+). */
function extractSnippets(readme: string, markdown: string): Snippet[] {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  for (let index = 0; index < lines.length; index += 1) {
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[index] ?? '');
    if (!open) continue;
    const fence = open[1] as string;
    const language = (open[2] ?? '').toLowerCase();
    let end = index + 1;
    const closing = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    while (end < lines.length && !closing.test(lines[end] ?? '')) end += 1;
    if (language === 'ts' || language === 'typescript') {
      let previous = index - 1;
      while (previous >= 0 && (lines[previous] ?? '').trim() === '') previous -= 1;
      const marker = NOT_CHECKED.exec((lines[previous] ?? '').trim());
      snippets.push({
        readme,
        line: index + 2,
        code: lines.slice(index + 1, end).join('\n'),
        notChecked: marker?.[1] ?? null,
      });
    }
    index = end;
  }
  return snippets;
}

const exampleFolders = readdirSync(join(root, 'examples'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

function readmes(): string[] {
  const examples = exampleFolders
    .map((name) => join('examples', name, 'README.md'))
    .filter((path) => existsSync(join(root, path)));
  return ['README.md', ...examples];
}

const snippets = readmes().flatMap((path) => extractSnippets(path, readFileSync(join(root, path), 'utf8')));
const checked = snippets.filter((snippet) => snippet.notChecked === null);
const skipped = snippets.filter((snippet) => snippet.notChecked !== null);

/** A snippet that must fail: proves the harness reports a real error at the right line. */
const CONTROL: Snippet = {
  readme: '(control)',
  line: 1,
  code: "import { sqlJsStorage } from 'self-improving-agent';\n\nconst path: number = sqlJsStorage().name;\n",
  notChecked: null,
};

interface Finding {
  /** null for a diagnostic outside every snippet (options, globals). */
  snippet: Snippet | null;
  /** `README.md:123: TS2304 Cannot find name 'memory'.` */
  text: string;
}

let folder: string;
let findings: Finding[];

beforeAll(() => {
  mkdirSync(join(root, 'test-artifacts'), { recursive: true });
  folder = mkdtempSync(join(root, 'test-artifacts', 'readme-snippets-'));
  const files = new Map<string, Snippet>();
  [...checked, CONTROL].forEach((snippet, index) => {
    // Beside where the README is, in the mirror: snippet-03-L456.ts for README.md line 456.
    const beside = join(folder, dirname(snippet.readme));
    mkdirSync(beside, { recursive: true });
    const file = join(beside, `snippet-${String(index).padStart(2, '0')}-L${snippet.line}.ts`);
    writeFileSync(file, snippet.code);
    files.set(file, snippet);
  });
  const fromFolder = (path: string) => relative(folder, join(root, path));
  writeFileSync(
    join(folder, 'tsconfig.json'),
    JSON.stringify(
      {
        extends: fromFolder('tsconfig.json'),
        compilerOptions: {
          // A pasted snippet is a module of its own (top-level await, imports), never a script.
          moduleDetection: 'force',
          rootDirs: ['.', fromFolder('.')],
          paths: {
            'self-improving-agent': [fromFolder('src/index.ts')],
            'self-improving-agent/kit': [fromFolder('src/kit.ts')],
            'self-improving-agent/testing': [fromFolder('src/testing/index.ts')],
            'self-improving-agent/postgres': [fromFolder('src/storage/postgres/index.ts')],
            'self-improving-agent/mcp': [fromFolder('src/mcp/index.ts')],
          },
        },
        files: [...files.keys()].map((file) => relative(folder, file)),
        include: [], // not the project's src/test/examples: only the snippets are roots
      },
      null,
      2,
    ),
  );
  const config = ts.getParsedCommandLineOfConfigFile(join(folder, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  });
  if (!config) throw new Error('cannot read the generated tsconfig.json');
  const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
  const diagnostics: ts.Diagnostic[] = [
    ...config.errors,
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
  ];
  // Only the snippets are checked: src/ has its own typecheck, and checking it here would be slow.
  for (const file of files.keys()) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`the program did not load ${file}`);
    diagnostics.push(...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source));
  }
  findings = diagnostics.map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n  ');
    const snippet = diagnostic.file ? files.get(diagnostic.file.fileName) : undefined;
    if (!diagnostic.file || !snippet || diagnostic.start === undefined) {
      return { snippet: null, text: `(global) TS${diagnostic.code} ${message}` };
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const at = `${snippet.readme}:${snippet.line + line}`;
    return {
      snippet,
      text: `${at}: TS${diagnostic.code} ${message}\n  (module: ${relative(root, diagnostic.file.fileName)})`,
    };
  });
}, 300_000); // one TypeScript program: seconds when idle, far more on a loaded machine

afterAll(() => {
  if (folder && process.env.SIA_KEEP_SNIPPETS === undefined) rmSync(folder, { recursive: true, force: true });
});

describe('README snippets', () => {
  it('finds the TypeScript blocks, and every skipped one says why', () => {
    // README.md alone has more than ten; a parser that finds none would pass everything.
    expect(checked.length).toBeGreaterThan(10);
    expect(checked.some((snippet) => snippet.readme.startsWith('examples/'))).toBe(true);
    for (const snippet of skipped) expect(snippet.notChecked?.trim()).not.toBe('');
  });

  it('every example folder is in the examples table and has the README the table promises', () => {
    const table = readFileSync(join(root, 'README.md'), 'utf8');
    const listed = [...table.matchAll(/^\| \[([a-z0-9-]+)\]\(examples\/\1\) \|/gm)].map((match) => match[1]);
    expect(listed.sort()).toEqual(exampleFolders);
    expect(exampleFolders.filter((name) => !existsSync(join(root, 'examples', name, 'README.md')))).toEqual(
      [],
    );
  });

  it('reports an error in a snippet with its README line (control snippet)', () => {
    const control = findings.filter((finding) => finding.snippet === CONTROL);
    expect(control.map((finding) => finding.text.split('\n')[0])).toEqual([
      "(control):3: TS2322 Type 'string' is not assignable to type 'number'.",
    ]);
  });

  it('every README snippet typechecks as pasted', () => {
    const problems = findings.filter((finding) => finding.snippet !== CONTROL).map((finding) => finding.text);
    expect(problems, problems.join('\n')).toEqual([]);
  });
});

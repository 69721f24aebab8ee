/**
 * The `sia` CLI against real sql.js (and node:sqlite, PostgreSQL) databases: every command,
 * exit codes 0/1/2, error messages, read-only commands leaving the file untouched, and the
 * export → edit → import round trip. Run in this process through `runCli` and its injectable
 * I/O; the last block spawns the real process a few times to prove its binding (exit code,
 * stdout/stderr, the node:sqlite warning).
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ToolRegistry } from '../src/registry/tool-registry.ts';
import { IMPROVEMENT_AUDIT_TYPE } from '../src/storage/audit-evidence.ts';
import { postgresStorage } from '../src/storage/postgres/index.ts';
import { nodeSqliteStorage } from '../src/storage/sqlite/node-sqlite-storage.ts';
import { sqlJsStorage } from '../src/storage/sqlite/sql-js-storage.ts';
import type { StorageAdapter } from '../src/storage/storage-adapter.ts';
import { databaseUrl, noteSkipped, suiteDatabase } from './support/postgres-database.ts';
import { SCENARIO_TOOL, SCENARIO_V1, writeScenario } from './support/report-scenario.ts';
import { runSia, sia } from './support/run-sia.ts';

let root: string;
let base: string;
let counter = 0;

/** A fresh copy of the scenario database, in its own folder (which is also the cwd). */
async function freshDb(): Promise<{ dir: string; db: string }> {
  counter += 1;
  const dir = join(root, `case-${counter}`);
  await mkdir(dir);
  const db = join(dir, 'agent.sqlite');
  await copyFile(base, db);
  return { dir, db };
}

/** Writes the scenario on a fake clock: pass a storage on this thread (`thread: false`), whose clock it is. */
async function fill(storage: StorageAdapter): Promise<void> {
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    await writeScenario(storage, (time) => vi.setSystemTime(time));
  } finally {
    vi.useRealTimers();
  }
  await storage.close();
}

/** Reads the database after the CLI exited (and closes it again). */
async function inspect<T>(db: string, read: (storage: StorageAdapter) => Promise<T>): Promise<T> {
  const storage = sqlJsStorage({ path: db, flushIntervalMs: 0 });
  try {
    return await read(storage);
  } finally {
    await storage.close();
  }
}

/** Runs the tasks one after another (each run is in this process: nothing to gain in parallel). */
async function inOrder<T>(tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  for (const task of tasks) results.push(await task());
  return results;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sia-cli-'));
  base = join(root, 'base.sqlite');
  await fill(sqlJsStorage({ path: base, thread: false }));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('sia: help, version and usage errors', () => {
  it('prints help for the program, every command and the tests group, exit 0', async () => {
    const cwd = root;
    const main = await sia(['--help'], { cwd });
    expect(main.code).toBe(0);
    expect(main.stdout).toContain('Usage: sia [--db <file> | --postgres <url>] <command>');
    const commands = [
      'tools',
      'report',
      'history',
      'diff',
      'rollback',
      'pin',
      'unpin',
      'disable',
      'enable',
      'tests list',
      'tests add',
      'tests remove',
      'export',
      'import',
    ];
    for (const command of commands) expect(main.stdout).toMatch(new RegExp(`\\n  ${command} +\\S`));
    const runs = await inOrder(commands.map((command) => () => sia([...command.split(' '), '-h'], { cwd })));
    runs.forEach((run, index) => {
      expect(run.code, commands[index]).toBe(0);
      expect(run.stdout).toContain(`Usage: sia ${commands[index]}`);
      expect(run.stdout).toContain('--db <file>');
      expect(run.stderr).toBe('');
    });
    const group = await sia(['tests', '--help'], { cwd });
    expect(group).toMatchObject({ code: 0 });
    expect(group.stdout).toContain('Usage: sia tests <list|add|remove>');
    const helpCommand = await sia(['help', 'diff'], { cwd });
    expect(helpCommand.stdout).toContain('Usage: sia diff <tool> <a> <b>');
  });

  it('prints the package version', async () => {
    const { version } = JSON.parse(await readFile(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
    for (const flag of ['--version', '-v']) {
      expect(await sia([flag], { cwd: root })).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('exits 2 with a one-line reason and a pointer to --help for a wrong command line', async () => {
    const { dir, db } = await freshDb();
    const cases: Array<[string[], string, string]> = [
      [[], 'sia: missing command', 'sia --help'],
      [['frobnicate'], 'sia: unknown command "frobnicate"; commands: tools, report, history', 'sia --help'],
      [['tools', '--bogus'], "sia: Unknown option '--bogus'", 'sia tools --help'],
      [['history'], 'sia: missing <tool>', 'sia history --help'],
      [['history', 'a', 'b'], 'sia: unexpected argument "b"', 'sia history --help'],
      [['diff', SCENARIO_TOOL, '1'], 'sia: missing <b>', 'sia diff --help'],
      [
        ['diff', SCENARIO_TOOL, 'one', '2'],
        'sia: <a> must be a positive integer, got "one"',
        'sia diff --help',
      ],
      [
        ['rollback', SCENARIO_TOOL, '--to'],
        "sia: Option '--to <value>' argument missing",
        'sia rollback --help',
      ],
      [['tests'], 'sia: "tests" needs a subcommand: list, add', 'sia tests --help'],
      [['tests', 'run', 'x'], 'sia: unknown command "tests run"; use one of: list, add', 'sia tests --help'],
      [
        ['--db', db, '--postgres', 'postgres://x', 'tools'],
        'sia: use either --db <file> or --postgres <url>',
        'sia tools --help',
      ],
      [
        ['--db', db, '--driver', 'mysql', 'tools'],
        'sia: unknown --driver "mysql": use sql.js or node-sqlite',
        'sia tools --help',
      ],
      [
        ['--db', db, 'report', '--bucket-size', '0'],
        'sia: --bucket-size must be a positive integer, got "0"',
        'sia report --help',
      ],
      [
        [
          '--db',
          db,
          'tests',
          'add',
          SCENARIO_TOOL,
          '--input',
          '{"a":',
          '--expect',
          '{"equals":1}',
          '--description',
          'd',
        ],
        'sia: --input is not valid JSON',
        'sia tests add --help',
      ],
      [
        [
          '--db',
          db,
          'tests',
          'add',
          SCENARIO_TOOL,
          '--input',
          '[1]',
          '--expect',
          '{"equals":1}',
          '--description',
          'd',
        ],
        'sia: --input must be a JSON object',
        'sia tests add --help',
      ],
      [
        [
          '--db',
          db,
          'tests',
          'add',
          SCENARIO_TOOL,
          '--input',
          '{}',
          '--expect',
          '{"equal":1}',
          '--description',
          'd',
        ],
        'sia: --expect: Invalid expectation "case.expect.equal"',
        'sia tests add --help',
      ],
      [
        ['--db', db, 'tests', 'add', SCENARIO_TOOL, '--expect', '{"equals":1}', '--description', 'd'],
        'sia: missing --input',
        'sia tests add --help',
      ],
    ];
    const before = await readFile(db);
    const runs = await inOrder(
      cases.map(
        ([args]) =>
          () =>
            sia(args, { cwd: dir }),
      ),
    );
    runs.forEach((run, index) => {
      const [args, message, help] = cases[index] as [string[], string, string];
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr.startsWith(message), `${args.join(' ')} → ${run.stderr}`).toBe(true);
      expect(run.stderr).toContain(`Run "${help}" for usage.`);
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });
    expect(await readFile(db)).toEqual(before);
    expect(await readdir(dir)).toEqual(['agent.sqlite']);
  });
});

describe('sia: databases', () => {
  it('says which file is missing and how to get one, creates nothing, exit 1', async () => {
    const dir = join(root, 'empty-cwd');
    await mkdir(dir);
    const missing = await sia(['tools'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `sia: no database at ${join(dir, '.sia', 'agent.sqlite')}. Pass --db <file> (or set SIA_DB) to use another one; a database is created when an agent first runs with sqlJsStorage({ path }) or nodeSqliteStorage({ path }). In a clone of self-improving-agent, \`npm run demo\` writes .sia/agent.sqlite in the clone's folder, where sia finds it without --db.\n`,
    );
    const env = await sia(['tools'], { cwd: dir, env: { SIA_DB: 'other.sqlite' } });
    expect(env.stderr).toContain(`no database at ${join(dir, 'other.sqlite')}.`);
    expect(await readdir(dir)).toEqual([]);
  });

  it('uses SIA_DB and --db relative to the working directory', async () => {
    const { dir } = await freshDb();
    const viaEnv = await sia(['tools'], { cwd: dir, env: { SIA_DB: 'agent.sqlite' } });
    const viaFlag = await sia(['tools', '--db', 'agent.sqlite'], { cwd: dir });
    expect(viaEnv.code).toBe(0);
    expect(viaFlag).toEqual(viaEnv);
  });

  it('reads a sql.js file another process holds; a changing command names that process, exit 1', async () => {
    const { dir, db } = await freshDb();
    const holder = sqlJsStorage({ path: db });
    await holder.ready?.();
    try {
      // Read-only commands take no lock: they read the file as the holder last wrote it.
      for (const args of [['tools'], ['history', SCENARIO_TOOL], ['tests', 'list', SCENARIO_TOOL]]) {
        const read = await sia(['--db', db, ...args], { cwd: dir });
        expect(read.code, read.stderr).toBe(0);
      }
      const locked = await sia(['--db', db, 'pin', SCENARIO_TOOL], { cwd: dir });
      expect(locked.code).toBe(1);
      expect(locked.stderr).toBe(
        `sia: ${db} is in use by process ${process.pid} (an agent or another sia holds the lock file ${db}.lock); stop that process or wait until it closes the database, then try again\n`,
      );
    } finally {
      await holder.close();
    }
  });

  it('reports a file that is not a database, exit 1', async () => {
    const dir = join(root, 'corrupt');
    await mkdir(dir);
    await writeFile(join(dir, 'x.sqlite'), 'not sqlite at all, just text '.repeat(10));
    const run = await sia(['--db', 'x.sqlite', 'tools'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^sia: Storage file ".*x\.sqlite" is not a SQLite database\./);
  });

  it('opens node:sqlite files with --driver node-sqlite', async () => {
    const dir = join(root, 'node-sqlite');
    await mkdir(dir);
    const db = join(dir, 'agent.db');
    await fill(nodeSqliteStorage({ path: db, thread: false }));
    const run = await sia(['--db', db, '--driver', 'node-sqlite', 'tools', '--json'], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).tools.map((tool: { name: string }) => tool.name)).toEqual([
      'add_numbers',
      SCENARIO_TOOL,
    ]);
    expect((await readdir(dir)).sort()).toEqual(['agent.db']);
  });
});

describe('sia: files that are not self-improving-agent databases', () => {
  /** Another application's SQLite file, written with node:sqlite. */
  async function otherAppDb(path: string): Promise<void> {
    const { DatabaseSync } = await import('node:sqlite');
    const other = new DatabaseSync(path);
    other.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE orders (id INTEGER);');
    other.exec("INSERT INTO users (name) VALUES ('ada')");
    other.close();
  }

  const kinds: [string, (path: string) => Promise<void>, RegExp][] = [
    ['an empty file', (path) => writeFile(path, ''), /is empty: it is not a self-improving-agent database\./],
    [
      "another app's SQLite file",
      otherAppDb,
      /is not a self-improving-agent database \(a SQLite database with other tables: orders, users\)\./,
    ],
    [
      'a text file',
      (path) => writeFile(path, 'just text, not sqlite '.repeat(20)),
      /is not a SQLite database\./,
    ],
  ];

  it.each(kinds)(
    '%s: every command refuses with one line, exit 1, and the file is untouched',
    async (_kind, make, message) => {
      counter += 1;
      const dir = join(root, `not-sia-${counter}`);
      await mkdir(dir);
      const db = join(dir, 'app.db');
      await make(db);
      const before = await readFile(db);
      const mtime = (await stat(db)).mtimeMs;
      const commands = [
        ['tools'],
        ['tests', 'list', SCENARIO_TOOL],
        ['history', SCENARIO_TOOL],
        ['export', 'out'],
        ['pin', SCENARIO_TOOL],
        [
          'tests',
          'add',
          SCENARIO_TOOL,
          '--input',
          '{"from":"a","to":"b"}',
          '--expect',
          '{"equals":1}',
          '--description',
          'd',
        ],
        ['--driver', 'node-sqlite', 'tools'],
        ['--driver', 'node-sqlite', 'pin', SCENARIO_TOOL],
      ];
      const runs = [];
      for (const args of commands) runs.push(await sia(['--db', db, ...args], { cwd: dir }));
      runs.forEach((run, index) => {
        const label = commands[index]?.join(' ');
        expect(run.code, `${label}: ${run.stderr}`).toBe(1);
        expect(run.stderr, label).toMatch(message);
        expect(run.stderr.trimEnd().split('\n'), label).toHaveLength(1);
      });
      expect(await readFile(db)).toEqual(before);
      expect((await stat(db)).mtimeMs).toBe(mtime);
      expect(await readdir(dir)).toEqual(['app.db']);
    },
  );

  it('node:sqlite files: read-only commands create no -wal, -shm or lock file and change no byte', async () => {
    counter += 1;
    const dir = join(root, `node-sqlite-ro-${counter}`);
    await mkdir(dir);
    const db = join(dir, 'agent.db');
    await fill(nodeSqliteStorage({ path: db, thread: false }));
    const before = await readFile(db);
    const mtime = (await stat(db)).mtimeMs;
    const listing = (await readdir(dir)).sort();
    const commands = [
      ['tools'],
      ['history', SCENARIO_TOOL],
      ['tests', 'list', SCENARIO_TOOL],
      ['report', '--json'],
    ];
    for (const args of commands) {
      const run = await sia(['--db', db, '--driver', 'node-sqlite', ...args], { cwd: dir });
      expect(run.code, run.stderr).toBe(0);
    }
    expect((await readdir(dir)).sort()).toEqual(listing);
    expect(await readFile(db)).toEqual(before);
    expect((await stat(db)).mtimeMs).toBe(mtime);
  });
});

describe('sia: reading commands', () => {
  let dir: string;
  let db: string;
  let before: Buffer;
  let mtime: number;
  beforeAll(async () => {
    ({ dir, db } = await freshDb());
    before = await readFile(db);
    mtime = (await stat(db)).mtimeMs;
  });
  afterAll(async () => {
    // None of them wrote the database or left its lock behind.
    expect(await readFile(db)).toEqual(before);
    expect((await stat(db)).mtimeMs).toBe(mtime);
    expect(await readdir(dir)).not.toContain('agent.sqlite.lock');
  });

  it('tools: active version, pin and the score of the active version over its last 20 calls, saying so', async () => {
    const text = await sia(['--db', db, 'tools'], { cwd: dir });
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')).toEqual([
      "window: the active version's last 20 calls (the evaluator's window); CALLS counts them, SCORE, SUCCESS and P95 are over them",
      'TOOL         KIND       ACTIVE  PINNED  DISABLED  VERSIONS  CALLS  SCORE  SUCCESS  P95     FEEDBACK',
      'add_numbers  sandboxed  v1      no      no        1         3      1.00   1.00     5 ms    –',
      'fetch_rate   sandboxed  v1      no      no        2         20     0.76   0.80     2.40 s  –',
      'created by the model: 1 (limit: creation.maxTools, 50 by default; pass --max-tools to compare)',
      '',
    ]);
    const json = JSON.parse((await sia(['--db', db, 'tools', '--json'], { cwd: dir })).stdout);
    const tool = json.tools[1];
    expect(tool).toMatchObject({
      name: SCENARIO_TOOL,
      activeVersion: 1,
      pinned: false,
      versions: 2,
      calls: 20,
    });
    // 10 calls at 150 ms and 10 degraded ones (4 failed; 2000–2400 ms): the article's formula,
    // with the default evaluator's 100 ms latency floor taken off the spread.
    const avg = 23_500 / 20;
    const expected = 0.5 * 0.8 + 0.3 * (1 - (avg - 1000) / 4000) + 0.2 * (1 - (2400 - 150 - 100) / (avg * 3));
    expect(tool.score).toBeCloseTo(expected, 12);
    expect(tool.p95LatencyMs).toBe(2400);
  });

  it('report: text, JSON and a self-contained HTML file', async () => {
    const text = await sia(['--db', db, 'report', '--tool', SCENARIO_TOOL], { cwd: dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      'fetch_rate: active v1, 2 versions, 70 calls recorded, 1 promotion, 1 rollback',
    );
    // Every number says its window: the rows are buckets, the active version's line names both.
    expect(text.stdout).toContain(
      '  each row: 20 consecutive calls of any version (the last row may have fewer), oldest first\n',
    );
    expect(text.stdout).toContain(
      '2025-01-01 12:00:20Z  2025-01-01 12:00:39Z  20     v1        0.70   0.60     2.40 s',
    );
    expect(text.stdout).toMatch(
      /\n {2}active v1: score \d\.\d\d over its last 20 calls; success \d\.\d\d, p95 \S+ s over all its 50 calls\n\ncreated by the model: 1 of 50 \(creation\.maxTools\)\n$/,
    );
    expect(text.stdout).toMatch(
      /promoted +v1→v2 +agent-1 +promote 3\/3 +LOW_SUCCESS: gate passed \(3 cases\)/,
    );
    expect(text.stdout).toMatch(/rolled-back +v2→v1 +cli +– +v2 answered slower than v1 in production/);
    expect(text.stdout).not.toContain('add_numbers');

    const json = JSON.parse(
      (await sia(['--db', db, 'report', '--json', '--bucket-size', '35'], { cwd: dir })).stdout,
    );
    expect(json.bucketSize).toBe(35);
    expect(json.tools[1].series.map((point: { calls: number }) => point.calls)).toEqual([35, 35]);

    const out = join(dir, 'out', 'report.html');
    const html = await sia(['--db', db, 'report', '--html', 'out/report.html', '--title', 'CLI <report>'], {
      cwd: dir,
    });
    expect(html.code).toBe(0);
    expect(html.stdout).toMatch(
      new RegExp(`^wrote ${out.replaceAll('.', '\\.')} \\(2 tools, \\d+ KiB\\)\\n$`),
    );
    const page = await readFile(out, 'utf8');
    expect(page).toContain('<title>CLI &lt;report&gt;</title>');
    expect(page.match(/data-version-marker=/g)).toHaveLength(2);

    const both = await sia(['--db', db, 'report', '--json', '--html', 'out/again.html'], { cwd: dir });
    expect(JSON.parse(both.stdout).tools).toHaveLength(2);
    expect(both.stderr).toMatch(/^wrote .*again\.html/);
    await rm(join(dir, 'out'), { recursive: true });
  });

  it('history: versions, authors, reasons and gate results', async () => {
    const run = await sia(['--db', db, 'history', SCENARIO_TOOL], { cwd: dir });
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, 6)).toEqual([
      'fetch_rate: Exchange rate between two currencies',
      'active v1, not pinned, 2 versions, 0 rewrites',
      '',
      'VERSION  AUTHOR     PARENT  CREATED               CALLS  SUCCESS  P95 ≈   REASON',
      'v1 *     generator  –       2025-01-01 11:59:59Z  50     0.84     2.35 s  requested by the model: convert currencies',
      'v2       hardening  v1      2025-01-01 12:00:39Z  20     1.00     200 ms  retry 429 responses with back-off',
    ]);
    // The calls over the tool's life (71 s: one-minute periods), per version.
    expect(lines.slice(7, 13)).toEqual([
      'calls over time, per 1 min and version (P95 ≈ estimated from a latency histogram)',
      'FROM                  TO                    VERSION  CALLS  SUCCESS  P95 ≈   FROM ROLLUPS',
      '2025-01-01 12:00:00Z  2025-01-01 12:01:00Z  v1       40     0.80     2.35 s  0',
      '2025-01-01 12:00:00Z  2025-01-01 12:01:00Z  v2       19     1.00     200 ms  0',
      '2025-01-01 12:01:00Z  2025-01-01 12:02:00Z  v1       10     1.00     150 ms  0',
      '2025-01-01 12:01:00Z  2025-01-01 12:02:00Z  v2       1      1.00     200 ms  0',
    ]);
    expect(run.stdout).toMatch(/2025-01-01 12:00:40Z +promoted +v1→v2 +agent-1 +LOW_SUCCESS: gate passed/);
    expect(run.stdout).toContain('↳ evaluation 0.41 (the score that triggered the change)');
    expect(run.stdout).toContain(
      '↳ gate promote: 3/3 cases passed, median 3 ms vs 4 ms, error rate 0.00 vs 0.25',
    );
    expect(run.stdout).toMatch(/improvement +v1 +agent-1 +failed: attempt 1 \(gate\): CASE_FAILED: case 1/);
    const json = JSON.parse(
      (await sia(['--db', db, 'history', SCENARIO_TOOL, '--json'], { cwd: dir })).stdout,
    );
    expect(
      json.versions.map((version: { version: number; source?: string }) => [version.version, version.source]),
    ).toEqual([
      [1, undefined],
      [2, undefined],
    ]);
    const promoted = json.audit.find((entry: { type: string }) => entry.type === 'tool:promoted');
    expect(promoted.summary.gate).toMatchObject({ verdict: 'promote', cases: 3, passedCases: 3 });
    expect(json.versions[1].lifetime).toEqual({ calls: 20, successRate: 1, p95LatencyMs: 200 });
    expect(json.history.bucketMs).toBe(60_000);
    expect(json.history.buckets).toHaveLength(4);
  });

  it('history and report: the whole life of a tool after its older calls were pruned', async () => {
    const { dir, db } = await freshDb();
    const storage = sqlJsStorage({ path: db, flushIntervalMs: 0 });
    expect(
      await storage.pruneInvocations({ maxRecordsPerVersion: 5, now: Date.UTC(2025, 0, 1, 13) }),
    ).toEqual({ deleted: 60 }); // 45 of v1 and 15 of v2; add_numbers has 3 calls only
    await storage.close();
    const history = await sia(['--db', db, 'history', SCENARIO_TOOL, '--every', '1h'], { cwd: dir });
    expect(history.code).toBe(0);
    const lines = history.stdout.split('\n');
    // The same whole-life numbers as before the prune, and which calls are known from rollups only.
    expect(lines.slice(3, 6)).toEqual([
      'VERSION  AUTHOR     PARENT  CREATED               CALLS  SUCCESS  P95 ≈   REASON',
      'v1 *     generator  –       2025-01-01 11:59:59Z  50     0.84     2.35 s  requested by the model: convert currencies',
      'v2       hardening  v1      2025-01-01 12:00:39Z  20     1.00     200 ms  retry 429 responses with back-off',
    ]);
    expect(lines.slice(7, 11)).toEqual([
      'calls over time, per 1 h and version (P95 ≈ estimated from a latency histogram; 60 calls known from rollups only (their rows were pruned), older periods possibly coarser)',
      'FROM                  TO                    VERSION  CALLS  SUCCESS  P95 ≈   FROM ROLLUPS',
      '2025-01-01 12:00:00Z  2025-01-01 13:00:00Z  v1       50     0.84     2.35 s  45',
      '2025-01-01 12:00:00Z  2025-01-01 13:00:00Z  v2       20     1.00     200 ms  15',
    ]);
    const report = await sia(['--db', db, 'report', '--tool', SCENARIO_TOOL], { cwd: dir });
    expect(report.stdout).toContain(
      'fetch_rate: active v1, 2 versions, 10 calls recorded + 60 from history (pruned), 1 promotion, 1 rollback',
    );
    expect(report.stdout).toMatch(/ 40 +v1 +0\.76 +0\.80 +≈2\.35 s\n/);
    expect(report.stdout).toContain('over its whole life 50 calls, success 0.84, p95 ≈2.35 s');
    const usage = await sia(['--db', db, 'history', SCENARIO_TOOL, '--every', '90s'], { cwd: dir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain(
      '--every must be a whole number of minutes, hours or days (30m, 6h, 1d), got "90s"',
    );
  });

  it('diff: the unified diff between two versions', async () => {
    const run = await sia(['--db', db, 'diff', SCENARIO_TOOL, '1', 'v2'], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--- fetch_rate@v1\n+++ fetch_rate@v2\n@@ -1,4 +1,5 @@\n');
    expect(run.stdout).toContain('\n+  // retried with back-off by the hardening rewriter\n');
    const missing = await sia(['--db', db, 'diff', SCENARIO_TOOL, '1', '9'], { cwd: dir });
    expect(missing).toEqual({
      code: 1,
      stdout: '',
      stderr: 'sia: fetch_rate has no version 9; its versions are v1, v2\n',
    });
  });

  it('names the known tools when a tool does not exist, exit 1', async () => {
    for (const args of [
      ['history', 'nope'],
      ['diff', 'nope', '1', '2'],
      ['tests', 'list', 'nope'],
      ['report', '--tool', 'nope'],
      ['pin', 'nope'],
    ]) {
      const run = await sia(['--db', db, ...args], { cwd: dir });
      expect(run.code, args.join(' ')).toBe(1);
      expect(run.stderr).toBe(`sia: no tool "nope" in ${db}; known tools: add_numbers, fetch_rate\n`);
    }
  });

  it('tests list: the cases of a tool', async () => {
    const run = await sia(['--db', db, 'tests', 'list', SCENARIO_TOOL], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      'ID  ORIGIN   HELD-OUT  ADDED                 INPUT                      EXPECT        DESCRIPTION',
      '1   example  no        2025-01-01 11:59:59Z  {"from":"USD","to":"USD"}  {"equals":1}  example 1',
      '',
    ]);
    const none = await sia(['--db', db, 'tests', 'list', 'add_numbers'], { cwd: dir });
    expect(none.stdout).toBe('add_numbers has no regression cases; add one with sia tests add\n');
  });
});

describe('sia: changing commands', () => {
  it('rollback: a person activates an earlier version, also on a pinned tool', async () => {
    const { dir, db } = await freshDb();
    const pin = await sia(['--db', db, 'pin', SCENARIO_TOOL, '--reason', 'frozen for the audit'], {
      cwd: dir,
    });
    expect(pin).toEqual({ code: 0, stdout: 'fetch_rate is now pinned (active v1)\n', stderr: '' });
    // By default: the version that was active before the current one (v1 came back from v2).
    const back = await sia(['--db', db, 'rollback', SCENARIO_TOOL], { cwd: dir });
    expect(back).toEqual({
      code: 0,
      stdout: 'fetch_rate: rolled back v1 → v2 (rolled back with sia rollback)\n',
      stderr: '',
    });
    const to = await sia(
      ['--db', db, 'rollback', SCENARIO_TOOL, '--to', '1', '--reason', 'v2 <bad>', '--json'],
      { cwd: dir },
    );
    expect(JSON.parse(to.stdout)).toMatchObject({ tool: SCENARIO_TOOL, fromVersion: 2, toVersion: 1 });
    const same = await sia(['--db', db, 'rollback', SCENARIO_TOOL, '--to', '1'], { cwd: dir });
    expect(same.code).toBe(1);
    expect(same.stderr).toBe(
      'sia: Cannot roll back "fetch_rate": version 1 is already the active version. Choose the version with sia rollback fetch_rate --to <version> (sia history fetch_rate lists the versions).\n',
    );
    // The library's own remedy names its API ({ to: <version> }); the CLI names its option.
    expect(same.stderr).not.toContain('{ to:');
    const first = await sia(['--db', db, 'rollback', 'add_numbers'], { cwd: dir });
    expect(first).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'sia: Cannot roll back "add_numbers": version 1 is the first version and nothing was active before it. Choose the version with sia rollback add_numbers --to <version> (sia history add_numbers lists the versions).\n',
    });
    const unknown = await sia(['--db', db, 'rollback', SCENARIO_TOOL, '--to', '7'], { cwd: dir });
    expect(unknown.stderr).toBe('sia: fetch_rate has no version 7; its versions are v1, v2\n');

    const audit = await inspect(db, (storage) => storage.listAudit({ toolName: SCENARIO_TOOL }));
    const changes = audit.filter((entry) => entry.actor === 'cli' && entry.at > Date.UTC(2025, 0, 2));
    expect(
      changes.map(({ type, fromVersion, toVersion, reason }) => [type, fromVersion, toVersion, reason]),
    ).toEqual([
      ['tool:pinned', 1, 1, 'frozen for the audit'],
      ['tool:rolled-back', 1, 2, 'rolled back with sia rollback'],
      ['tool:rolled-back', 2, 1, 'v2 <bad>'],
    ]);
    expect(await readdir(dir)).toEqual(['agent.sqlite']);
  });

  it('pin and unpin change the pin once; repeating changes nothing and writes nothing', async () => {
    const { dir, db } = await freshDb();
    expect((await sia(['--db', db, 'unpin', SCENARIO_TOOL], { cwd: dir })).stdout).toBe(
      'fetch_rate is already not pinned; nothing changed\n',
    );
    expect(await readFile(db)).toEqual(await readFile(base));
    await sia(['--db', db, 'pin', SCENARIO_TOOL], { cwd: dir });
    expect(await inspect(db, async (storage) => (await storage.getTool(SCENARIO_TOOL))?.pinned)).toBe(true);
    const pinned = await readFile(db);
    const again = await sia(['--db', db, 'pin', SCENARIO_TOOL], { cwd: dir });
    expect(again.stdout).toBe('fetch_rate is already pinned; nothing changed\n');
    expect(await readFile(db)).toEqual(pinned);
    const tools = await sia(['--db', db, 'tools'], { cwd: dir });
    expect(tools.stdout).toMatch(/fetch_rate +sandboxed +v1 +yes /);
    expect((await sia(['--db', db, 'unpin', SCENARIO_TOOL], { cwd: dir })).stdout).toBe(
      'fetch_rate is now not pinned (active v1)\n',
    );
    expect(await inspect(db, async (storage) => (await storage.getTool(SCENARIO_TOOL))?.pinned)).toBe(false);
  });

  it("tools: counts the app's feedback on the active version from the audit log", async () => {
    const { dir, db } = await freshDb();
    await inspect(db, async (storage) => {
      const verdicts: [number, boolean][] = [
        [1, false],
        [1, false],
        [1, true],
        [2, false],
      ];
      for (const [toVersion, correct] of verdicts) {
        await storage.appendAudit({
          type: 'tool:feedback',
          toolName: SCENARIO_TOOL,
          actor: 'app',
          reason: 'feedback',
          toVersion,
          evidence: { correct, callId: null },
        });
      }
    });
    const text = await sia(['--db', db, 'tools'], { cwd: dir });
    expect(text.stdout).toMatch(/fetch_rate +sandboxed +v1 .* 2\.40 s +2 wrong, 1 correct\n/);
    const json = JSON.parse((await sia(['--db', db, 'tools', '--json'], { cwd: dir })).stdout);
    expect(json.tools.map((tool: { feedback: unknown }) => tool.feedback)).toEqual([
      { correct: 0, wrong: 0 },
      { correct: 1, wrong: 2 },
    ]);
  });

  it('tests add: stores a manual case that tests list shows', async () => {
    const { dir, db } = await freshDb();
    const added = await sia(
      [
        '--db',
        db,
        'tests',
        'add',
        SCENARIO_TOOL,
        '--input',
        '{"from":"EUR","to":"EUR"}',
        '--expect',
        '{"equals":1}',
        '--description',
        'same currency',
        '--max-latency-ms',
        '50',
      ],
      { cwd: dir },
    );
    expect(added).toEqual({ code: 0, stdout: 'fetch_rate: added case 2 (manual)\n', stderr: '' });
    const held = await sia(
      [
        '--db',
        db,
        'tests',
        'add',
        SCENARIO_TOOL,
        '--input',
        '{"from":"a","to":"b"}',
        '--expect',
        '{"type":"number"}',
        '--description',
        'a number',
        '--held-out',
        '--json',
      ],
      { cwd: dir },
    );
    expect(JSON.parse(held.stdout)).toMatchObject({
      id: 3,
      heldOut: true,
      origin: 'manual',
      expect: { type: 'number' },
    });
    const cases = await inspect(db, (storage) => storage.listTestCases(SCENARIO_TOOL));
    expect(
      cases.map(({ id, input, expect: expectation, description, origin, maxLatencyMs }) => ({
        id,
        input,
        expectation,
        description,
        origin,
        maxLatencyMs,
      })),
    ).toEqual([
      {
        id: 1,
        input: { from: 'USD', to: 'USD' },
        expectation: { equals: 1 },
        description: 'example 1',
        origin: 'example',
        maxLatencyMs: undefined,
      },
      {
        id: 2,
        input: { from: 'EUR', to: 'EUR' },
        expectation: { equals: 1 },
        description: 'same currency',
        origin: 'manual',
        maxLatencyMs: 50,
      },
      {
        id: 3,
        input: { from: 'a', to: 'b' },
        expectation: { type: 'number' },
        description: 'a number',
        origin: 'manual',
        maxLatencyMs: undefined,
      },
    ]);
    const listed = await sia(['--db', db, 'tests', 'list', SCENARIO_TOOL, '--json'], { cwd: dir });
    expect(JSON.parse(listed.stdout).cases).toHaveLength(3);
  });

  it("tests add refuses an input the tool's input schema rejects, naming the problem; nothing stored", async () => {
    const { dir, db } = await freshDb();
    const before = await readFile(db);
    const run = await sia(
      [
        '--db',
        db,
        'tests',
        'add',
        SCENARIO_TOOL,
        '--input',
        '{"from":1}',
        '--expect',
        '{"equals":1}',
        '--description',
        'd',
      ],
      { cwd: dir },
    );
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const [first] = run.stderr.split('\n');
    expect(first).toContain(`matching the input schema of "${SCENARIO_TOOL}" v1`);
    expect(first).toMatch(/\/from: .*string/);
    expect(first).toMatch(/required/);
    expect(await readFile(db)).toEqual(before);
  });

  it('tests remove: deletes one case with an audit entry; an unknown id is refused, exit 1', async () => {
    const { dir, db } = await freshDb();
    const unknown = await sia(['--db', db, 'tests', 'remove', SCENARIO_TOOL, '9'], { cwd: dir });
    expect(unknown).toEqual({
      code: 1,
      stdout: '',
      stderr: `sia: ${SCENARIO_TOOL} has no case 9; its cases: 1 (see sia tests list ${SCENARIO_TOOL})\n`,
    });
    // The command failed with the database open for writing: runCli closed it (no lock left).
    expect(await readdir(dir)).toEqual(['agent.sqlite']);
    const removed = await sia(
      ['--db', db, 'tests', 'remove', SCENARIO_TOOL, '1', '--reason', 'the example was wrong'],
      { cwd: dir },
    );
    expect(removed).toEqual({
      code: 0,
      stdout: `${SCENARIO_TOOL}: removed case 1 (example: example 1)\n`,
      stderr: '',
    });
    const { cases, audit } = await inspect(db, async (storage) => ({
      cases: await storage.listTestCases(SCENARIO_TOOL),
      audit: await storage.listAudit({ toolName: SCENARIO_TOOL, type: 'test:removed' }),
    }));
    expect(cases).toEqual([]);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'cli',
      reason: 'the example was wrong',
      evidence: { case: { id: 1, input: { from: 'USD', to: 'USD' }, expect: { equals: 1 } } },
    });
    const again = await sia(['--db', db, 'tests', 'remove', SCENARIO_TOOL, '1'], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('has no case 1; it has no cases');
  });

  it('history: says which calls an evaluation scored; a gate without cases points at sia tests add', async () => {
    const { dir, db } = await freshDb();
    const storage = sqlJsStorage({ path: db, flushIntervalMs: 0 });
    await storage.appendAudit({
      type: 'tool:rolled-back',
      toolName: SCENARIO_TOOL,
      actor: 'agent-2',
      reason: 'v2 did worse',
      fromVersion: 2,
      toVersion: 1,
      evidence: { evaluation: { score: 0.5, summary: { invocations: 17 }, reasons: [] } },
    });
    await storage.appendAudit({
      type: IMPROVEMENT_AUDIT_TYPE,
      toolName: SCENARIO_TOOL,
      actor: 'agent-2',
      reason: 'failed',
      fromVersion: 1,
      evidence: {
        reasons: [
          'attempt 1 (gate): NO_TEST_CASES: "fetch_rate" has no regression cases, so nothing shows the candidate is correct. Add cases with addCase(), examples, or harvest().',
        ],
      },
    });
    await storage.close();
    const run = await sia(['--db', db, 'history', SCENARIO_TOOL], { cwd: dir });
    expect(run.stdout).toContain('↳ evaluation 0.50 (v2 over its last 17 calls, which triggered the change)');
    expect(run.stdout).toMatch(
      /NO_TEST_CASES.*\n +↳ add a case the gate can run: sia tests add fetch_rate --help\n/,
    );
    expect(run.stdout).toContain('↳ evaluation 0.41 (the score that triggered the change)');
  });

  it('prints text from storage without terminal control sequences', async () => {
    const { dir, db } = await freshDb();
    const storage = sqlJsStorage({ path: db, flushIntervalMs: 0 });
    await storage.addVersion(SCENARIO_TOOL, {
      source: SCENARIO_V1,
      inputSchema: { type: 'object' },
      capabilities: { network: [] },
      parentVersion: 1,
      reason: 'red \u001b[31mALERT\u001b[0m\u0007 and\na newline',
      author: 'llm-rewriter',
    });
    await storage.close();
    const run = await sia(['--db', db, 'history', SCENARIO_TOOL], { cwd: dir });
    for (const control of ['\u001b', '\u0007']) expect(run.stdout).not.toContain(control);
    expect(run.stdout).toContain('red ?[31mALERT?[0m? and a newline');
  });
});

describe('sia export and import', () => {
  it('round-trips: unchanged files are skipped, an edited file becomes a new active human version', async () => {
    const { dir, db } = await freshDb();
    const exported = await sia(['--db', db, 'export', 'tools'], { cwd: dir });
    expect(exported.code).toBe(0);
    expect(exported.stdout.split('\n')).toEqual([
      `add_numbers v1 → ${join(dir, 'tools', 'add_numbers.js')}`,
      `fetch_rate v1 → ${join(dir, 'tools', 'fetch_rate.js')}`,
      `exported 2 tools to ${join(dir, 'tools')}`,
      '',
    ]);
    expect((await readdir(join(dir, 'tools'))).sort()).toEqual([
      'add_numbers.js',
      'fetch_rate.js',
      'manifest.json',
    ]);
    expect(await readFile(join(dir, 'tools', 'fetch_rate.js'), 'utf8')).toBe(SCENARIO_V1);
    const manifest = JSON.parse(await readFile(join(dir, 'tools', 'manifest.json'), 'utf8'));
    expect(manifest.format).toBe('self-improving-agent/tools');
    expect(manifest.tools[1]).toEqual({
      name: SCENARIO_TOOL,
      description: 'Exchange rate between two currencies',
      kind: 'sandboxed',
      disabled: false,
      version: 1,
      author: 'generator',
      inputSchema: {
        type: 'object',
        properties: { from: { type: 'string' }, to: { type: 'string' } },
        required: ['from', 'to'],
      },
      capabilities: { network: [] },
      file: 'fetch_rate.js',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    // Exporting is reproducible (no timestamps) and reads only.
    const first = await readFile(join(dir, 'tools', 'manifest.json'));
    await sia(['--db', db, 'export', 'tools'], { cwd: dir });
    expect(await readFile(join(dir, 'tools', 'manifest.json'))).toEqual(first);
    expect(await readFile(db)).toEqual(await readFile(base));

    const unchanged = await sia(['--db', db, 'import', 'tools'], { cwd: dir });
    expect(unchanged).toEqual({
      code: 0,
      stdout:
        'add_numbers: unchanged (v1)\nfetch_rate: unchanged (v1)\nimported 0 of 2 tools (2 unchanged)\n',
      stderr: '',
    });
    expect(await readFile(db)).toEqual(await readFile(base));

    const edited = SCENARIO_V1.replace('return 1;', 'return 1; // same currency');
    await writeFile(join(dir, 'tools', 'fetch_rate.js'), edited);
    const dry = await sia(['--db', db, 'import', 'tools', '--dry-run'], { cwd: dir });
    expect(dry.stdout).toBe(
      'add_numbers: unchanged (v1)\nfetch_rate: would be updated v1 → v3\ndry run: 1 of 2 tools would change; nothing was written\n',
    );
    expect(await readFile(db)).toEqual(await readFile(base));
    const imported = await sia(['--db', db, 'import', 'tools', '--reason', 'reviewed in PR 12'], {
      cwd: dir,
    });
    expect(imported).toEqual({
      code: 0,
      stdout:
        'add_numbers: unchanged (v1)\nfetch_rate: updated v1 → v3 (active)\nimported 1 of 2 tools (1 unchanged)\n',
      stderr: '',
    });
    const after = await inspect(db, async (storage) => ({
      active: await storage.getActiveVersion(SCENARIO_TOOL),
      audit: await storage.listAudit({ toolName: SCENARIO_TOOL, type: 'tool:promoted' }),
    }));
    expect(after.active).toMatchObject({
      version: 3,
      source: edited,
      author: 'human',
      parentVersion: 1,
      reason: 'reviewed in PR 12',
    });
    expect(after.audit.at(-1)).toMatchObject({
      actor: 'cli',
      fromVersion: 1,
      toVersion: 3,
      reason: 'reviewed in PR 12',
    });

    // A second export shows the new version with the edited file's hash; importing it changes nothing.
    await sia(['--db', db, 'export', 'tools'], { cwd: dir });
    const again = JSON.parse(await readFile(join(dir, 'tools', 'manifest.json'), 'utf8'));
    expect(again.tools[1]).toMatchObject({ version: 3, author: 'human' });
    expect(again.tools[1].sha256).not.toBe(manifest.tools[1].sha256);
    expect((await sia(['--db', db, 'import', 'tools'], { cwd: dir })).stdout).toContain(
      'imported 0 of 2 tools',
    );
  });

  it('creates the tools a database does not have yet', async () => {
    const { dir, db } = await freshDb();
    await sia(['--db', db, 'export', 'tools'], { cwd: dir });
    const other = join(dir, 'other.sqlite');
    const empty = sqlJsStorage({ path: other });
    await empty.ready?.();
    await empty.close();
    const run = await sia(['--db', other, 'import', 'tools', '--json'], { cwd: dir });
    expect(
      JSON.parse(run.stdout).results.map((result: { tool: string; action: string }) => [
        result.tool,
        result.action,
      ]),
    ).toEqual([
      ['add_numbers', 'created'],
      [SCENARIO_TOOL, 'created'],
    ]);
    const tool = await inspect(other, async (storage) => ({
      record: await storage.getTool(SCENARIO_TOOL),
      version: await storage.getActiveVersion(SCENARIO_TOOL),
    }));
    expect(tool.record).toMatchObject({
      description: 'Exchange rate between two currencies',
      activeVersion: 1,
    });
    expect(tool.version).toMatchObject({ source: SCENARIO_V1, author: 'human' });
  });

  it("carries a tool's output schema through export and import", async () => {
    const { dir } = await freshDb();
    const outputSchema = { type: 'number', minimum: 0 };
    const source = join(dir, 'with-schema.sqlite');
    const storage = sqlJsStorage({ path: source, flushIntervalMs: 0 });
    await new ToolRegistry({ storage }).create({
      name: 'halve',
      description: 'Half of n',
      inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
      outputSchema,
      source: 'function halve({ n }) { return n / 2; }',
    });
    await storage.close();
    await sia(['--db', source, 'export', 'tools'], { cwd: dir });
    const manifest = JSON.parse(await readFile(join(dir, 'tools', 'manifest.json'), 'utf8'));
    expect(manifest.tools[0].outputSchema).toEqual(outputSchema);
    const target = join(dir, 'target.sqlite');
    const empty = sqlJsStorage({ path: target });
    await empty.ready?.();
    await empty.close();
    expect((await sia(['--db', target, 'import', 'tools'], { cwd: dir })).code).toBe(0);
    const imported = await inspect(target, (store) => store.getActiveVersion('halve'));
    expect(imported?.outputSchema).toEqual(outputSchema);
    // A manifest whose output schema differs from the active version's cannot become a new version.
    manifest.tools[0].outputSchema = { type: 'string' };
    await writeFile(join(dir, 'tools', 'manifest.json'), JSON.stringify(manifest));
    await writeFile(join(dir, 'tools', 'halve.js'), 'function halve({ n }) { return n * 0.5; }');
    const refused = await sia(['--db', target, 'import', 'tools'], { cwd: dir });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('halve: inputSchema, outputSchema or capabilities differ from v1');
  });

  it('refuses invalid manifests and sources with every problem listed, writing nothing, exit 1', async () => {
    const { dir, db } = await freshDb();
    await sia(['--db', db, 'export', 'tools'], { cwd: dir });
    const folder = join(dir, 'tools');
    const manifestPath = join(folder, 'manifest.json');
    const good = await readFile(manifestPath, 'utf8');

    const missing = await sia(['--db', db, 'import', 'nowhere'], { cwd: dir });
    expect(missing).toEqual({
      code: 1,
      stdout: '',
      stderr: `sia: no manifest.json in ${join(dir, 'nowhere')}; create the folder with sia export nowhere\n`,
    });

    await writeFile(manifestPath, '{ "format": ');
    const broken = await sia(['--db', db, 'import', 'tools'], { cwd: dir });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(
      new RegExp(`^sia: ${manifestPath.replaceAll('.', '\\.')} is not valid JSON \\(`),
    );

    const manifest = JSON.parse(good);
    manifest.tools[0].file = '../../etc/passwd';
    manifest.tools[1].version = 0;
    manifest.tools[1].capabilities = { network: [42] };
    await writeFile(manifestPath, JSON.stringify(manifest));
    const invalid = await sia(['--db', db, 'import', 'tools'], { cwd: dir });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr.split('\n')).toEqual([
      `sia: ${manifestPath}: nothing imported, 3 problems:`,
      '  - tools[0].file: expected "add_numbers.js", got "../../etc/passwd"',
      '  - tools[1].version: expected a version number, got 0',
      expect.stringMatching(
        /^ {2}- tools\[1\]\.capabilities\.network\[0\]: expected a "host", "host:port" or "\*\.domain" entry/,
      ),
      '',
    ]);

    await writeFile(manifestPath, good);
    await writeFile(
      join(folder, 'fetch_rate.js'),
      'function fetch_rates(input) { return eval(input.code); }',
    );
    await writeFile(join(folder, 'add_numbers.js'), 'function add_numbers({ a, b }) { return a - b; }');
    const badSource = await sia(['--db', db, 'import', 'tools'], { cwd: dir });
    expect(badSource.code).toBe(1);
    expect(badSource.stderr).toMatch(/nothing imported, \d+ problems?:\n {2}- fetch_rate\.js:1: /);
    expect(badSource.stderr).toContain('fetch_rate');
    expect(badSource.stderr).not.toContain('add_numbers.js');

    // Exported from v1, but v2 is active now: the edit would silently drop v2.
    await writeFile(join(folder, 'fetch_rate.js'), SCENARIO_V1.replace('return 1;', 'return 1.0;'));
    await sia(['--db', db, 'rollback', SCENARIO_TOOL, '--to', '2'], { cwd: dir });
    const stale = await readFile(db);
    const conflict = await sia(['--db', db, 'import', 'tools'], { cwd: dir });
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toBe(
      `sia: ${manifestPath}: nothing imported, 1 problem:\n  - fetch_rate.js: exported from v1, but v2 is active now; export again and re-apply your edit\n`,
    );
    // add_numbers.js was edited too, but nothing was written.
    expect(await readFile(db)).toEqual(stale);
  });
});

describe('sia: host tools, disabling and creation.maxTools', () => {
  /** A fresh scenario copy with a host tool deployed at two labels (v2 "2026.12.1" active). */
  async function withHostTool(): Promise<{ dir: string; db: string }> {
    const fresh = await freshDb();
    await inspect(fresh.db, async (storage) => {
      const registry = new ToolRegistry({ storage, actor: 'app' });
      const weather = {
        name: 'get_weather',
        description: 'The app’s weather lookup',
        inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
      };
      await registry.registerHostTool({ ...weather, label: '2026.11.0' });
      await registry.registerHostTool({ ...weather, label: '2026.12.1' });
    });
    return fresh;
  }

  it('tools: kind, the active version with its label, disabled, and the model-created count against --max-tools', async () => {
    const { dir, db } = await withHostTool();
    const text = await sia(['--db', db, 'tools', '--max-tools', '3'], { cwd: dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\nget_weather +host +v2 \(2026\.12\.1\) +no +no +2 +0 /);
    expect(text.stdout).toMatch(/\nfetch_rate +sandboxed +v1 +no +no /);
    expect(text.stdout).toContain('\ncreated by the model: 1 of 3 (creation.maxTools)\n');
    const json = JSON.parse((await sia(['--db', db, 'tools', '--json'], { cwd: dir })).stdout);
    expect(json).toMatchObject({ createdByModel: 1, maxTools: 50, maxToolsGiven: false });
    expect(json.tools.find((tool: { name: string }) => tool.name === 'get_weather')).toMatchObject({
      kind: 'host',
      activeVersion: 2,
      activeLabel: '2026.12.1',
      disabled: false,
    });
    const report = await sia(['--db', db, 'report', '--max-tools', '3', '--html', 'report.html'], {
      cwd: dir,
    });
    expect(report.code).toBe(0);
    const html = await readFile(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('data-badge="host"');
    expect(html).toContain('Tools created by the model: 1 of 3 (creation.maxTools)');
    const summary = (await sia(['--db', db, 'report', '--tool', 'get_weather'], { cwd: dir })).stdout;
    expect(summary).toContain(
      'get_weather [host: measured, never rewritten]: active v2 (2026.12.1), 2 versions',
    );
    expect(summary).toContain('\ncreated by the model: 1 of 50 (creation.maxTools)\n');
    const bad = await sia(['--db', db, 'tools', '--max-tools', 'many'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-tools must be a whole number');
  });

  it('disable and enable change the state once with an audit entry (actor cli); repeating writes nothing', async () => {
    const { dir, db } = await withHostTool();
    const disabled = await sia(['--db', db, 'disable', 'get_weather', '--reason', 'upstream down'], {
      cwd: dir,
    });
    expect(disabled).toMatchObject({ code: 0, stdout: 'get_weather is now disabled (active v2)\n' });
    const written = await readFile(db);
    expect((await sia(['--db', db, 'disable', 'get_weather'], { cwd: dir })).stdout).toBe(
      'get_weather is already disabled; nothing changed\n',
    );
    expect(await readFile(db)).toEqual(written);
    expect((await sia(['--db', db, 'tools'], { cwd: dir })).stdout).toMatch(
      /\nget_weather +host +v2 \(2026\.12\.1\) +no +yes /,
    );
    expect((await sia(['--db', db, 'enable', SCENARIO_TOOL], { cwd: dir })).stdout).toBe(
      'fetch_rate is already enabled; nothing changed\n',
    );
    expect((await sia(['--db', db, 'enable', 'get_weather'], { cwd: dir })).stdout).toBe(
      'get_weather is now enabled (active v2)\n',
    );
    const entries = await inspect(db, (storage) => storage.listAudit({ toolName: 'get_weather' }));
    expect(
      entries
        .filter((entry) => entry.type === 'tool:disabled' || entry.type === 'tool:enabled')
        .map((entry) => [entry.type, entry.actor, entry.reason]),
    ).toEqual([
      ['tool:disabled', 'cli', 'upstream down'],
      ['tool:enabled', 'cli', 'enabled'],
    ]);
    const missing = await sia(['--db', db, 'disable', 'nope'], { cwd: dir });
    expect(missing.code).toBe(1);
  });

  it('rollback refuses a host tool: its versions are the app’s releases; nothing changes', async () => {
    const { dir, db } = await withHostTool();
    const before = await readFile(db);
    const run = await sia(['--db', db, 'rollback', 'get_weather', '--to', '1'], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('get_weather is a host tool');
    expect(run.stderr).toContain('deploying the earlier release');
    expect(await readFile(db)).toEqual(before);
  });

  it('export and import carry kind, disabled state and labels; a manifest without them still imports', async () => {
    const { dir, db } = await withHostTool();
    await sia(['--db', db, 'disable', SCENARIO_TOOL], { cwd: dir });
    expect((await sia(['--db', db, 'export', 'tools'], { cwd: dir })).code).toBe(0);
    expect((await readdir(join(dir, 'tools'))).sort()).toEqual([
      'add_numbers.js',
      'fetch_rate.js',
      'manifest.json',
    ]);
    const manifest = JSON.parse(await readFile(join(dir, 'tools', 'manifest.json'), 'utf8'));
    const host = manifest.tools.find((tool: { name: string }) => tool.name === 'get_weather');
    expect(host).toEqual({
      name: 'get_weather',
      description: 'The app’s weather lookup',
      kind: 'host',
      disabled: false,
      label: '2026.12.1',
      version: 2,
      author: 'host',
      inputSchema: { type: 'object', properties: { city: { type: 'string' } } },
      capabilities: { network: [] },
    });
    expect(manifest.tools.find((tool: { name: string }) => tool.name === SCENARIO_TOOL)).toMatchObject({
      kind: 'sandboxed',
      disabled: true,
    });

    // Into an empty database: the host tool is registered at its label, the disabled tool disabled.
    const target = join(dir, 'target.sqlite');
    const empty = sqlJsStorage({ path: target });
    await empty.ready?.();
    await empty.close();
    const imported = await sia(['--db', target, 'import', 'tools'], { cwd: dir });
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('fetch_rate: created as v1; disabled');
    expect(imported.stdout).toContain('get_weather: created as v1');
    await inspect(target, async (storage) => {
      expect(await storage.getTool('get_weather')).toMatchObject({ kind: 'host', disabled: false });
      expect((await storage.getActiveVersion('get_weather'))?.label).toBe('2026.12.1');
      expect((await storage.getTool(SCENARIO_TOOL))?.disabled).toBe(true);
    });

    // A manifest as written before host tools (no kind, disabled or label): imports, and leaves
    // the disabled state alone.
    const old = {
      ...manifest,
      tools: manifest.tools
        .filter((tool: { kind: string }) => tool.kind === 'sandboxed')
        .map(({ kind: _kind, disabled: _disabled, ...rest }: Record<string, unknown>) => rest),
    };
    await writeFile(join(dir, 'tools', 'manifest.json'), JSON.stringify(old));
    const again = await sia(['--db', target, 'import', 'tools', '--json'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).results.map((result: { action: string }) => result.action)).toEqual([
      'unchanged',
      'unchanged',
    ]);
    await inspect(target, async (storage) =>
      expect((await storage.getTool(SCENARIO_TOOL))?.disabled).toBe(true),
    );

    // A kind that does not match the database's tool is refused, writing nothing.
    const clash = { ...manifest, tools: [{ ...host, name: SCENARIO_TOOL }] };
    await writeFile(join(dir, 'tools', 'manifest.json'), JSON.stringify(clash));
    const refused = await sia(['--db', target, 'import', 'tools'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'the manifest lists a host tool, but the database holds a sandboxed tool',
    );
  });
});

describe('sia as a process (node src/cli/main.ts): the binding of runCli to the process', () => {
  it('a wrong command line: exit code 2, the reason on stderr without a stack, nothing on stdout', async () => {
    const run = await runSia(['frobnicate'], { cwd: root });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'sia: unknown command "frobnicate"; commands: tools, report, history, diff, rollback, pin, unpin, disable, enable, tests, export, import, improvements, mcp\nRun "sia --help" for usage.\n',
    );
  });

  it('a normal command: its output on stdout, exit code 0, as runCli gives it in-process', async () => {
    const { dir } = await freshDb();
    const run = await runSia(['tools'], { cwd: dir, env: { SIA_DB: 'agent.sqlite' } });
    expect(run).toEqual(await sia(['tools'], { cwd: dir, env: { SIA_DB: 'agent.sqlite' } }));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^window: .*\nTOOL +KIND +ACTIVE/);
  });

  it('--driver node-sqlite prints no ExperimentalWarning (main.ts filters it; other warnings still pass)', async () => {
    const dir = join(root, 'node-sqlite-spawn');
    await mkdir(dir);
    const db = join(dir, 'agent.db');
    await fill(nodeSqliteStorage({ path: db, thread: false }));
    const run = await runSia(['--db', db, '--driver', 'node-sqlite', 'tools', '--json'], { cwd: dir });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).tools).toHaveLength(2);
  });
});

noteSkipped('sia --postgres');

describe.skipIf(databaseUrl === undefined)('sia --postgres', () => {
  const database = suiteDatabase();

  it('reads and changes a PostgreSQL store through the lazily loaded adapter', async () => {
    const url = databaseUrl as string;
    const schema = database.schema();
    await fill(postgresStorage({ connectionString: url }, { schema }));
    const tools = await sia(['--postgres', url, '--schema', schema, 'tools', '--json'], { cwd: root });
    expect(tools.stderr).toBe('');
    expect(JSON.parse(tools.stdout).tools.map((tool: { name: string; score: number }) => tool.name)).toEqual([
      'add_numbers',
      SCENARIO_TOOL,
    ]);
    const report = await sia(['--postgres', url, '--schema', schema, 'report', '--json'], { cwd: root });
    expect(JSON.parse(report.stdout).tools[1].series).toHaveLength(4);
    const rollback = await sia(
      ['--postgres', url, '--schema', schema, 'rollback', SCENARIO_TOOL, '--to', '2'],
      {
        cwd: root,
      },
    );
    expect(rollback).toEqual({
      code: 0,
      stdout: 'fetch_rate: rolled back v1 → v2 (rolled back with sia rollback)\n',
      stderr: '',
    });
    const check = postgresStorage({ connectionString: url }, { schema });
    try {
      expect((await check.getTool(SCENARIO_TOOL))?.activeVersion).toBe(2);
    } finally {
      await check.close();
    }
    const usage = await sia(['--postgres', url, '--driver', 'node-sqlite', 'tools'], { cwd: root });
    expect(usage.code).toBe(2);
  });

  it('never creates a schema: reading and changing commands refuse a missing one with one line, exit 1', async () => {
    const url = databaseUrl as string;
    const schema = database.schema(); // taken (and dropped at the end) but never created here
    for (const args of [['tools'], ['pin', SCENARIO_TOOL]]) {
      const run = await sia(['--postgres', url, '--schema', schema, ...args], { cwd: root });
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/\(PostgreSQL schema\) does not exist\./);
      expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    const found = await database.admin.query('SELECT to_regnamespace($1) IS NOT NULL AS exists', [schema]);
    expect(found.rows[0]).toEqual({ exists: false });
    // A read-only adapter rejects writes even on a migrated schema.
    await fill(postgresStorage({ connectionString: url }, { schema }));
    const reader = postgresStorage({ connectionString: url }, { schema, readOnly: true });
    try {
      expect((await reader.listTools()).length).toBe(2);
      await expect(reader.appendAudit({ type: 'x', actor: 'test', reason: 'no' })).rejects.toThrow(
        /read-only/,
      );
    } finally {
      await reader.close();
    }
  });
});

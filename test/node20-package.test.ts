/**
 * The built package on the oldest Node.js it declares (`engines: >=20`): on a machine whose own
 * node is 20 (this one, and CI's, where npm scripts run on the Node 22 that `npm install` brings),
 * the built dist/ is imported by that Node 20 and runs a sandboxed tool, sql.js storage and an
 * `agent.run()` with `scriptedModel`, while a resolve hook makes `vitest` unresolvable, so
 * `self-improving-agent/testing` is proven to work without vitest. Skipped, saying why, when no
 * Node 20 is on PATH or dist/ is missing.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runToEnd } from './support/child-process.ts';

const root = join(import.meta.dirname, '..');
const built = existsSync(join(root, 'dist', 'index.js')) && existsSync(join(root, 'dist', 'testing.js'));

/** The first `node` on PATH whose major version is 20, or undefined. */
function findNode20(): string | undefined {
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(folder, 'node');
    try {
      accessSync(candidate, constants.X_OK);
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
      if (version.startsWith('v20.')) return candidate;
    } catch {
      // not there, or not runnable
    }
  }
  return undefined;
}

const node20 = built ? findNode20() : undefined;
if (!built)
  process.stdout.write('node20-package tests skipped: dist/ is missing; run `npm run build` first\n');
else if (node20 === undefined) process.stdout.write('node20-package tests skipped: no Node.js 20 on PATH\n');

/** A module resolve hook that refuses `vitest`, as in an app that never installed it. */
const NO_VITEST_HOOK = `
export async function resolve(specifier, context, next) {
  if (specifier === 'vitest' || specifier.startsWith('vitest/'))
    throw Object.assign(new Error('vitest is not installed here'), { code: 'ERR_MODULE_NOT_FOUND' });
  return next(specifier, context);
}`;

function childScript(dist: string, dbPath: string): string {
  return `
import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(NO_VITEST_HOOK)}));
const { SelfImprovingAgent, sqlJsStorage } = await import(${JSON.stringify(pathToFileURL(join(dist, 'index.js')).href)});
const { scriptedModel } = await import(${JSON.stringify(pathToFileURL(join(dist, 'testing.js')).href)});
let vitestMissing = false;
try { await import('vitest'); } catch { vitestMissing = true; }
const model = scriptedModel((call) => {
  const doubled = call.toolResults.find((result) => result.toolName === 'double');
  if (doubled === undefined) return { toolCalls: [{ toolName: 'double', input: { n: 21 } }] };
  return { text: 'the answer is ' + JSON.stringify(doubled.output) };
});
const agent = new SelfImprovingAgent({
  model,
  storage: sqlJsStorage({ path: ${JSON.stringify(dbPath)} }),
  closeStorage: true,
});
try {
  await agent.addTool({
    name: 'double',
    description: 'Doubles n',
    inputSchema: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] },
    source: 'function double({ n }) { return n * 2; }',
    examples: [{ input: { n: 2 }, output: 4 }],
  });
  const result = await agent.run('What is 21 doubled?');
  await agent.idle();
  const summary = await agent.memory.summary('double', { version: 1 });
  console.log(JSON.stringify({ node: process.version, vitestMissing, text: result.text, calls: summary.invocations, successes: summary.successes }));
} finally {
  await agent.close();
}`;
}

describe.skipIf(node20 === undefined)('the built package on Node.js 20', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sia-node20-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a sandboxed tool through agent.run() with scriptedModel, sql.js storage, and no vitest', async () => {
    const script = join(dir, 'check.mjs');
    const dbPath = join(dir, 'agent.sqlite');
    writeFileSync(script, childScript(join(root, 'dist'), dbPath));
    const env = { ...process.env };
    delete env.VITEST; // as in an app: vitest sets it in its own processes only
    const child = await runToEnd(node20 as string, [script], { cwd: dir, env });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const line = JSON.parse(child.stdout.trim().split('\n').at(-1) as string);
    expect(line).toEqual({
      node: expect.stringMatching(/^v20\./),
      vitestMissing: true,
      text: 'the answer is 42',
      calls: 1,
      successes: 1,
    });
    expect(readFileSync(dbPath).subarray(0, 16).toString('latin1')).toBe('SQLite format 3\u0000');
  });

  it('answers node:sqlite storage on Node.js 20 with one line naming the version it needs', async () => {
    const script = join(dir, 'sqlite.mjs');
    writeFileSync(
      script,
      `const { nodeSqliteStorage } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'index.js')).href)});
const storage = nodeSqliteStorage({ path: ${JSON.stringify(join(dir, 'native.sqlite'))} });
try { await storage.listTools(); console.log('opened'); } catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }`,
    );
    const child = await runToEnd(node20 as string, [script], { cwd: dir });
    expect(child.status).toBe(0);
    const answer = JSON.parse(child.stdout.trim());
    expect(answer.code).toBe('STORAGE_UNAVAILABLE');
    expect(answer.message).toMatch(/Node\.js 22\.13 or later.*this is Node\.js v20\./);
    expect(answer.message).not.toContain('\n');
  });
});

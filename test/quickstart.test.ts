/**
 * The README quickstart, run as its own program against a real sql.js file: after
 * `agent.close()` nothing may be left behind (no `<path>.lock`, no temporary file).
 * `QUICKSTART` is the README snippet, read from README.md; only its two import lines are pointed at this
 * checkout and at a scripted stand-in for `@ai-sdk/openai`.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ToolRegistry } from '../src/registry/tool-registry.ts';
import { sqlJsStorage } from '../src/storage/sqlite/sql-js-storage.ts';
import { runToEnd } from './support/child-process.ts';

/** The README's quickstart code block, read from README.md so the two can never drift apart. */
const QUICKSTART = quickstartOf(readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8'));

function quickstartOf(readme: string): string {
  const section = readme.slice(readme.indexOf('## Quickstart'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block?.[1]) throw new Error('README.md has no ```ts block under "## Quickstart"');
  return block[1];
}

const repo = join(import.meta.dirname, '..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sia-quickstart-'));
  // The tool the quickstart invokes, as an earlier run would have left it.
  const seed = sqlJsStorage({ path: join(dir, '.sia', 'agent.sqlite') });
  await new ToolRegistry({ storage: seed }).create({
    name: 'fetch_exchange_rate',
    description: 'Exchange rate between two currencies',
    inputSchema: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } } },
    source: 'function fetch_exchange_rate({ from, to }) { return from === to ? 1 : 0.86; }',
  });
  await seed.close();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('the README quickstart leaves only its database behind after close()', async () => {
  const program = QUICKSTART.replace(
    "from '@ai-sdk/openai'",
    `from '${pathToFileURL(join(repo, 'test', 'support', 'quickstart-openai-stub.ts')).href}'`,
  ).replace("from 'self-improving-agent'", `from '${pathToFileURL(join(repo, 'src', 'index.ts')).href}'`);
  const script = join(dir, 'quickstart.mts');
  await writeFile(script, program);
  const run = await runToEnd(process.execPath, ['--no-warnings', script], {
    cwd: dir,
    env: { ...process.env, OPENAI_API_KEY: 'unused' },
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toBe('5000 USD is about 18,500 ILS.\n');
  expect((await readdir(dir)).sort()).toEqual(['.sia', 'quickstart.mts']);
  expect(await readdir(join(dir, '.sia'))).toEqual(['agent.sqlite']);
  // The records were written: the invocation is in the file.
  const check = sqlJsStorage({ path: join(dir, '.sia', 'agent.sqlite'), readOnly: true });
  try {
    const calls = await check.recentInvocations({ toolName: 'fetch_exchange_rate', limit: 10 });
    expect(calls.map((call) => call.success)).toEqual([true]);
  } finally {
    await check.close();
  }
}, 180_000);

it('closeStorage and closeSandbox must be booleans', async () => {
  const { SelfImprovingAgent } = await import('../src/agent/self-improving-agent.ts');
  expect(() => new SelfImprovingAgent({ closeStorage: 'yes' as never })).toThrow(/closeStorage/);
  expect(() => new SelfImprovingAgent({ closeSandbox: 1 as never })).toThrow(/closeSandbox/);
});

/**
 * The README quickstart, run as its own program against a real sql.js file: after
 * `agent.close()` nothing may be left behind (no `<path>.lock`, no temporary file).
 * `QUICKSTART` is the README snippet verbatim; only its two import lines are pointed at this
 * checkout and at a scripted stand-in for `@ai-sdk/openai`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ToolRegistry } from '../src/registry/tool-registry.ts';
import { sqlJsStorage } from '../src/storage/sql-js-storage.ts';

/** The README's quickstart code block (keep identical to README.md). */
const QUICKSTART = `import { createOpenAI } from '@ai-sdk/openai';          // or any AI SDK LanguageModel
import { SelfImprovingAgent, sqlJsStorage } from 'self-improving-agent';

const agent = new SelfImprovingAgent({
  model: createOpenAI({ apiKey: process.env.OPENAI_API_KEY }).chat('gpt-4o-mini'),
  storage: sqlJsStorage({ path: '.sia/agent.sqlite' }),   // tools, versions, metrics, audit log
  closeStorage: true,                                       // close() writes the file, removes its .lock
  capture: { inputs: true, outputs: true },                 // lets the gate harvest real cases
});
agent.on('tool:promoted', ({ toolName, fromVersion, toVersion, loop }) =>
  console.log(\`\${toolName} v\${fromVersion} → v\${toVersion} after \${loop.ms} ms\`));
agent.on('tool:rolled-back', ({ toolName, toVersion }) => console.log(\`\${toolName} back to v\${toVersion}\`));

const { text } = await agent.run('Convert 5000 USD to ILS');  // may create tools with request_new_tool
console.log(text);
const rate = await agent.invoke('fetch_exchange_rate', { from: 'EUR', to: 'GBP' }); // no model needed
await agent.idle();   // let background improvement settle
await agent.close();  // write every record, release what the agent owns
`;

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
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--no-warnings', script],
      { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, OPENAI_API_KEY: 'unused' } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
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

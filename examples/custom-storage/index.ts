/**
 * A custom storage adapter in use: an agent keeps its tools, versions and call records in a
 * JSON-lines file (./json-lines-storage.ts), and a second agent started on the same file finds
 * everything again. `adapter.test.ts` checks the adapter with the library's contract suite.
 *
 * Usage: node examples/custom-storage/index.ts [--data <dir>]   (default: a new temp folder)
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { QuickJsSandbox, SelfImprovingAgent } from 'self-improving-agent';
import { jsonLinesStorage } from './json-lines-storage.ts';

const { values: args } = parseArgs({ options: { data: { type: 'string' } } });
const folder = args.data ? resolve(args.data) : await mkdtemp(join(tmpdir(), 'sia-custom-storage-'));
const path = join(folder, `agent-${Date.now()}.jsonl`);
console.log(`store: ${path}`);

const sandbox = new QuickJsSandbox({ workers: 1 });
try {
  // First run: add a hand-written tool and call it.
  const storage = jsonLinesStorage({ path });
  const agent = new SelfImprovingAgent({ storage, sandbox });
  try {
    await agent.addTool({
      name: 'slugify',
      description: 'Turns a title into a URL slug',
      inputSchema: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] },
      source: `function slugify({ title }) {
  const plain = title.normalize('NFKD').replace(/[\\u0300-\\u036f]/g, ''); // drop accents
  return plain.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}`,
      examples: [{ input: { title: 'Hello, World!' }, output: 'hello-world' }],
    });
    for (const title of [
      'Self-improving tools',
      'JSON lines: one change per line',
      'Ünïcödé stays readable',
    ]) {
      console.log(
        `slugify(${JSON.stringify(title)}) = ${JSON.stringify(await agent.invoke('slugify', { title }))}`,
      );
    }
  } finally {
    await agent.close(); // writes the buffered call records
    await storage.close(); // the agent never closes storage it was given
  }

  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  console.log(`\nthe file holds ${lines.length} operations, one per line:`);
  for (const line of lines) console.log(`  ${line.length > 110 ? `${line.slice(0, 107)}...` : line}`);

  // Second run: a new agent on the same file finds the tool, its cases and its history.
  const reopened = jsonLinesStorage({ path });
  const again = new SelfImprovingAgent({ storage: reopened, sandbox });
  try {
    await again.ready();
    const tools = await again.listTools();
    const summary = await again.memory.summary('slugify', { version: 1 });
    const cases = await again.regression.cases('slugify');
    console.log(
      `\nreopened: ${tools.map((tool) => `${tool.name} v${tool.version.version}`).join(', ')}; ` +
        `${summary.invocations} calls recorded (${summary.successes} ok), ${cases.length} regression case(s)`,
    );
    console.log(
      `and it still works: ${JSON.stringify(await again.invoke('slugify', { title: 'Back again' }))}`,
    );
  } finally {
    await again.close();
    await reopened.close();
  }
} finally {
  await sandbox.close();
}

/**
 * Child process of the improvement crash test (run directly by Node, which strips the types):
 * one SelfImprovingAgent on a SQLite file improving its tools without pause, to be killed with
 * SIGKILL at a random moment.
 *
 *   improvement-crash-child.ts <sql.js|node:sqlite> <path>
 *
 * Every call fails often, so each tool is evaluated, rewritten, gated and promoted again and
 * again; every other rewrite is broken on live traffic, so the watch rolls it back. Every 30
 * calls a new tool is created (the name is the next free `tool_<n>`, so a creation the kill
 * interrupted is retried under the same name), and every 25 calls a tool is pinned, every 25
 * (offset) unpinned.
 *
 * It first loads and warms up everything that does not touch the file (modules, sql.js, a
 * sandbox worker), prints `loaded`, and opens the file only when stdin says `go`: the test
 * starts the next child while the current one runs, so a round costs no start-up time.
 *
 * stdout, one line each:
 *   loaded
 *   ready          the agent opened the file and loaded its tools
 *   event <JSON>   { type } for started / promoted / rolled-back / failed / created / pinned /
 *                  unpinned, printed when it happens (the test counts them to pick the kill moment)
 *   ack <JSON>     { type, toolName, from?, to? }: that change is durable (node:sqlite: committed,
 *                  durable per transaction; sql.js: a flush() that started after it resolved)
 */
import { createInterface } from 'node:readline';
import { SelfImprovingAgent } from '../../src/agent/self-improving-agent.ts';
import type { Rewriter } from '../../src/rewriting/rewriter.ts';
import { QuickJsSandbox } from '../../src/sandbox/quickjs-sandbox.ts';
import { loadSqlJs } from '../../src/storage/sqlite/load-sql-js.ts';
import { loadNodeSqlite } from '../../src/storage/sqlite/node-sqlite-driver.ts';
import { nodeSqliteStorage } from '../../src/storage/sqlite/node-sqlite-storage.ts';
import { sqlJsStorage } from '../../src/storage/sqlite/sql-js-storage.ts';

const [adapter, path] = process.argv.slice(2);
if ((adapter !== 'sql.js' && adapter !== 'node:sqlite') || !path) {
  process.stderr.write('usage: improvement-crash-child.ts sql.js|node:sqlite <path>\n');
  process.exit(2);
}
const print = (line: string) => process.stdout.write(`${line}\n`);
// The test kills this process and stops reading: a write to the closed pipe must not throw.
process.stdout.on('error', () => undefined);

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
await (adapter === 'sql.js' ? loadSqlJs() : loadNodeSqlite());
await sandbox.run({ source: 'function warm() { return 1; }', entry: 'warm' }, {});
print('loaded');
let go = false;
for await (const line of createInterface({ input: process.stdin })) {
  go = line.trim() === 'go';
  if (go) break;
}
// The test ended (or failed) without needing this child.
if (!go) process.exit(0);

const storage =
  adapter === 'sql.js' ? sqlJsStorage({ path, flushIntervalMs: 5 }) : nodeSqliteStorage({ path });

/** Prints `ack` once the change is durable. */
function acknowledge(change: { type: string; toolName: string; from?: number; to?: number }): void {
  print(`event ${JSON.stringify({ type: change.type })}`);
  const durable = storage.flush ? storage.flush() : Promise.resolve();
  void durable.then(
    () => print(`ack ${JSON.stringify(change)}`),
    () => undefined,
  );
}

const failing = (revision: string) => `function NAME({ text, legacy }) {
  // ${revision}
  if (legacy) throw new Error('cannot parse legacy amount ' + text);
  return Number(text);
}`;
const broken = (revision: string) => `function NAME({ text }) {
  // ${revision}
  if (text !== '12.5') throw new Error('broken rewrite');
  return 12.5;
}`;

let rewrites = 0;
const rewriter: Rewriter = {
  name: 'crash-test',
  rewrite: async (request) => {
    rewrites += 1;
    const revision = `rewrite ${process.pid}-${rewrites}`;
    const source = (rewrites % 2 === 0 ? broken : failing)(revision).replace('NAME', request.tool.name);
    return { source, rationale: revision, author: 'llm-rewriter' };
  },
};

const agent = new SelfImprovingAgent({
  storage,
  sandbox,
  rewriter,
  improvement: {
    evaluateEvery: 5,
    watchCalls: 10,
    cooldownMs: 0,
    shadowCalls: 0,
    maxRewritesPerTool: 1_000_000,
  },
});
agent.on('improvement:started', () => print(`event ${JSON.stringify({ type: 'started' })}`));
agent.on('improvement:failed', () => print(`event ${JSON.stringify({ type: 'failed' })}`));
agent.on('tool:promoted', (event) =>
  acknowledge({ type: 'promoted', toolName: event.toolName, from: event.fromVersion, to: event.toVersion }),
);
agent.on('tool:rolled-back', (event) =>
  acknowledge({
    type: 'rolled-back',
    toolName: event.toolName,
    from: event.fromVersion,
    to: event.toVersion,
  }),
);

await agent.ready();
print('ready');

async function createTool(): Promise<void> {
  const count = (await agent.registry.list()).length;
  const name = `tool_${count + 1}`;
  await agent.addTool({
    name,
    description: 'Parses an amount',
    inputSchema: {
      type: 'object',
      properties: { text: { type: 'string' }, legacy: { type: 'boolean' } },
      required: ['text'],
    },
    source: failing('v1').replace('NAME', name),
    examples: [{ input: { text: '12.5' }, output: 12.5 }],
    sideEffects: count % 2 === 1,
  });
  acknowledge({ type: 'created', toolName: name });
}

if ((await agent.registry.list()).length === 0) await createTool();
for (let call = 1; ; call += 1) {
  const tools = await agent.registry.list();
  const tool = tools[call % tools.length];
  if (tool === undefined) continue;
  const input = call % 5 < 3 ? { text: '1,000', legacy: true } : { text: '5' };
  await agent.invoke(tool.name, input).catch(() => undefined);
  if (call % 30 === 0) await createTool();
  if (call % 25 === 0 && !tool.pinned) {
    await agent.registry.pin(tool.name, { actor: 'crash-test' });
    acknowledge({ type: 'pinned', toolName: tool.name });
  }
  if (call % 25 === 12) {
    const pinned = tools.find((candidate) => candidate.pinned);
    if (pinned) {
      await agent.registry.unpin(pinned.name, { actor: 'crash-test' });
      acknowledge({ type: 'unpinned', toolName: pinned.name });
    }
  }
}

/**
 * MCP throughput benchmark (`npm run bench mcp`).
 *
 * Calls per second of one small managed tool through `agent.invoke` (the baseline), through the
 * MCP server over Streamable HTTP (the official client, loopback, in this process) and over
 * stdio (`sia mcp` in a child process, as an MCP client starts it), measured in turns in the
 * same run. Each path runs the tool in the sandbox and records the call; the ratios show what
 * the protocol, its JSON-RPC framing and the transport add.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { measureInterleaved, printTable } from '../../test/support/benchmark.ts';
import { SelfImprovingAgent } from '../agent/self-improving-agent.ts';
import { sqlJsStorage } from '../storage/sqlite/sql-js-storage.ts';
import { McpToolServer } from './mcp-tool-server.ts';

const dir = await mkdtemp(join(tmpdir(), 'sia-mcp-bench-'));
const seeded = join(dir, 'seed.sqlite');
{
  const agent = new SelfImprovingAgent({ storage: sqlJsStorage({ path: seeded }), closeStorage: true });
  await agent.addTool({
    name: 'add_numbers',
    description: 'Adds two numbers',
    inputSchema: {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    },
    source: 'function add_numbers({ a, b }) { return { sum: a + b }; }',
  });
  await agent.close();
}
// Each path has its own copy of the database (one writer per sql.js file).
await copyFile(seeded, join(dir, 'local.sqlite'));
await copyFile(seeded, join(dir, 'stdio.sqlite'));

const agent = new SelfImprovingAgent({
  storage: sqlJsStorage({ path: join(dir, 'local.sqlite') }),
  closeStorage: true,
});
await agent.ready();
const server = new McpToolServer(agent);
const endpoint = await server.listen();
const http = new Client({ name: 'bench-http', version: '1.0.0' });
await http.connect(new StreamableHTTPClientTransport(new URL(endpoint.url)));
const stdio = new Client({ name: 'bench-stdio', version: '1.0.0' });
await stdio.connect(
  new StdioClientTransport({
    command: process.execPath,
    args: [join(import.meta.dirname, '..', 'cli', 'main.ts'), '--db', join(dir, 'stdio.sqlite'), 'mcp'],
    stderr: 'ignore',
  }),
);

const input = (index: number) => ({ a: index, b: 1 });
const results = await measureInterleaved(
  [
    { name: 'agent.invoke()', operation: (index) => agent.invoke('add_numbers', input(index)) },
    {
      name: 'MCP Streamable HTTP (in process)',
      operation: (index) => http.callTool({ name: 'add_numbers', arguments: input(index) }),
    },
    {
      name: 'MCP stdio (sia mcp child)',
      operation: (index) => stdio.callTool({ name: 'add_numbers', arguments: input(index) }),
    },
  ],
  { operations: 300, trials: 7 },
);
const notes: Record<string, string> = {};
for (const result of results) notes[result.name] = `${Math.round(1_000_000 / result.medianMicros)} calls/s`;
printTable('Calls of one sandboxed tool: invoke against MCP (median per call)', results, {
  baseline: 'agent.invoke()',
  notes,
});

await stdio.close();
await http.close();
await server.close();
await agent.idle();
await agent.close();
await rm(dir, { recursive: true, force: true });

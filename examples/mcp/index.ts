/**
 * MCP both ways, offline.
 *
 * 1. Serve: the agent's managed tools go to an MCP client (the official SDK client here; Claude
 *    Desktop, Cursor or VS Code in real use) over Streamable HTTP on 127.0.0.1. `parse_amount`
 *    v1 fails on amounts with thousands separators; the client's own calls make it degrade, a
 *    rewriter (a stand-in for an LLM) proposes a fix, the gate passes it, and the client, still
 *    connected, is told the tool list changed and gets the fixed answer.
 * 2. Measure: a third-party MCP server (built here with the SDK, on stdio in real use) has a
 *    tool that starts failing; `measureMcpTools` records its calls like the app's own tools and
 *    the agent raises `tool:degraded` for it. It is never rewritten: it is not ours.
 *
 * Usage: node examples/mcp/index.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { type Rewriter, SelfImprovingAgent } from 'self-improving-agent';
import { McpToolServer, measureMcpTools } from 'self-improving-agent/mcp';
import { z } from 'zod';

// A stand-in for an LLM rewriter, so this runs offline (with a model, leave `rewriter` out).
const rewriter: Rewriter = {
  name: 'scripted',
  rewrite: async () => ({
    source: `function parse_amount({ text }) {
  return Number(String(text).replace(/,/g, ''));
}`,
    rationale: 'strips thousands separators',
    author: 'llm-rewriter',
  }),
};

const agent = new SelfImprovingAgent({ rewriter, improvement: { cooldownMs: 0 } });
agent.on('tool:promoted', ({ toolName, fromVersion, toVersion }) =>
  console.log(`agent: ${toolName} promoted v${fromVersion} → v${toVersion}`),
);
agent.on('tool:degraded', ({ toolName, kind, label }) =>
  console.log(`agent: tool:degraded ${toolName} (${kind}${label === undefined ? '' : `, release ${label}`})`),
);

await agent.addTool({
  name: 'parse_amount',
  description: 'Parses an amount written as text, such as "12.50" or "1,250"',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  outputSchema: { type: 'number' },
  source: `function parse_amount({ text }) {
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error('not a number: ' + text);
  return value;
}`,
  examples: [
    { input: { text: '12.5' }, output: 12.5 },
    { input: { text: '7' }, output: 7 },
  ],
});

// --- 1. Serve ---------------------------------------------------------------------------------
const server = new McpToolServer(agent);
const endpoint = await server.listen(); // 127.0.0.1, a free port; `sia mcp --http` does the same
const client = new Client({ name: 'example-client', version: '1.0.0' });
let listChanged = 0;
client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
  listChanged += 1;
});
await client.connect(new StreamableHTTPClientTransport(new URL(endpoint.url)));
const [listed] = (await client.listTools()).tools;
console.log(
  `client: ${listed?.name} (v${listed?._meta?.['self-improving-agent/version']}), output ${JSON.stringify(listed?.outputSchema)}`,
);

const call = (text: string) => client.callTool({ name: 'parse_amount', arguments: { text } });
const first = await call('1,250');
console.log(`client: parse_amount("1,250") → isError ${first.isError === true}`);
const invalid = await client.callTool({ name: 'parse_amount', arguments: { text: 1250 } });
console.log(`client: parse_amount(1250) → ${(invalid.content as { text: string }[])[0]?.text}`);

// Traffic: two of every five amounts have separators; the agent improves the tool meanwhile.
for (let round = 0; round < 8; round += 1) {
  for (const text of ['12', '1,250', '99.5', '3,000', '8']) await call(text);
}
await agent.idle();
for (let wait = 0; wait < 500 && listChanged === 0; wait += 1)
  await new Promise((resolve) => setTimeout(resolve, 10));
const [relisted] = (await client.listTools()).tools;
const fixed = await call('1,250');
console.log(
  `client: ${listChanged > 0 ? 'told the list changed' : 'NOT told the list changed'}; parse_amount is v${relisted?._meta?.['self-improving-agent/version']}`,
);
console.log(`client: parse_amount("1,250") → ${JSON.stringify(fixed.structuredContent)}`);

// --- 2. Measure -------------------------------------------------------------------------------
// A third-party server (its own process and package in real use; `{ command, args }` for stdio).
let upstreamDown = false;
const weather = createServer(async (request, response) => {
  const mcp = new McpServer({ name: 'weather', version: '3.1.0' });
  mcp.registerTool(
    'get_forecast',
    { description: 'The forecast for a city', inputSchema: { city: z.string() } },
    async ({ city }) =>
      upstreamDown
        ? { isError: true, content: [{ type: 'text', text: 'upstream weather API down' }] }
        : { content: [{ type: 'text', text: `sunny in ${city}` }] },
  );
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  response.on('close', () => void mcp.close());
  await mcp.connect(transport);
  await transport.handleRequest(request, response);
});
await new Promise<void>((resolve) => weather.listen(0, '127.0.0.1', resolve));
const { port } = weather.address() as AddressInfo;
const remote = await measureMcpTools(agent, { url: `http://127.0.0.1:${port}/mcp` });
console.log(`measured: ${Object.keys(remote.tools).join(', ')} under release ${remote.version}`);
const forecast = remote.tools.get_forecast?.execute as (input: unknown, options: unknown) => Promise<unknown>;
const options = { toolCallId: 'example', messages: [] };
for (let index = 0; index < 30; index += 1) {
  if (index === 10) upstreamDown = true;
  await forecast({ city: 'Oslo' }, options).catch(() => undefined);
}
await agent.idle();
const versions = await agent.registry.versions('get_forecast');
console.log(`measured: get_forecast has ${versions.length} version (never rewritten)`);

await remote.close();
await client.close();
await server.close();
await agent.close();
weather.close();

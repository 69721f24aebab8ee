import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { ToolSet } from 'ai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { SelfImprovingAgent } from '../agent/self-improving-agent.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { SiaError } from '../core/sia-error.ts';
import type { ToolDegradedEvent } from '../improvement/improvement-events.ts';
import { collectReport } from '../report/collect-report.ts';
import type { ToolInvokedEvent } from '../runtime/runtime-events.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { McpToolError } from './mcp-tool-error.ts';
import { measureMcpTools } from './measure-mcp-tools.ts';

const fixture = fileURLToPath(new URL('../../test/fixtures/mcp-echo-server.ts', import.meta.url));

/** The stdio source of the echo fixture, whose `serverInfo.version` is `version`. */
function echoServer(version?: string, env?: Record<string, string>) {
  return {
    command: process.execPath,
    args: ['--no-warnings', fixture, ...(version === undefined ? [] : [version])],
    ...(env === undefined ? {} : { env }),
  };
}

/** Work each test undoes at its end, last first: agents, servers, clients. */
let cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
  vi.restoreAllMocks();
});

function newAgent(): SelfImprovingAgent {
  const agent = new SelfImprovingAgent({
    storage: memoryStorage(),
    improvement: { mode: 'inline', evaluateEvery: 5, cooldownMs: 0 },
  });
  cleanups.push(() => agent.close());
  return agent;
}

/**
 * Starts a third-party MCP server over Streamable HTTP on 127.0.0.1 and a free port (stateful:
 * one `McpServer` from `build` per session, so a cancellation reaches the request it cancels).
 */
async function startMcpServer(
  build: () => McpServer | Server,
  options: { ignoreDelete?: boolean } = {},
): Promise<TestServer & { url: string }> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const servers: (McpServer | Server)[] = [];
  const http = await startTestServer((request, response) => {
    const body: unknown = request.body === '' ? undefined : JSON.parse(request.body);
    const sessionId = request.headers['mcp-session-id'];
    const known = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    // A server that never answers the session's DELETE.
    if (options.ignoreDelete === true && request.method === 'DELETE') return;
    if (known !== undefined) {
      void known.handleRequest(request, response, body);
      return;
    }
    if (request.method !== 'POST' || sessionId !== undefined) {
      response.writeHead(404).end();
      return;
    }
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, transport);
      },
    });
    const server = build();
    servers.push(server);
    void server.connect(transport).then(() => transport.handleRequest(request, response, body));
  });
  const started = {
    ...http,
    url: `${http.origin}/mcp`,
    close: async () => {
      await http.close();
      for (const server of servers) await server.close();
    },
  };
  cleanups.push(() => started.close());
  return started;
}

/**
 * Whether process `pid` is gone, waiting for it: the SDK's close() ends stdin, then signals the
 * child after 2 s each, and returns after the last signal without waiting for the exit.
 */
async function exitOf(pid: number): Promise<boolean> {
  for (let round = 0; round < 6000; round += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

type Execute = (input: unknown, options: unknown) => Promise<CallToolResult>;

function executeOf(tools: ToolSet, name: string): Execute {
  const execute = tools[name]?.execute;
  if (execute === undefined) throw new Error(`no tool ${name}`);
  return execute as Execute;
}

const callOptions = (abortSignal?: AbortSignal) => ({
  toolCallId: randomUUID(),
  messages: [],
  ...(abortSignal === undefined ? {} : { abortSignal }),
});

describe('measureMcpTools over Streamable HTTP', () => {
  it('records every call of the server’s tool, evaluates it and raises tool:degraded once when it starts failing, never rewriting it', async () => {
    const state = { failing: false };
    const server = await startMcpServer(() => {
      const mcp = new McpServer({ name: 'weather-service', version: '2.0.0' });
      mcp.registerTool(
        'get-forecast',
        { description: 'The forecast for a city', inputSchema: { city: z.string() } },
        async ({ city }) =>
          state.failing
            ? { isError: true, content: [{ type: 'text', text: `upstream weather API down for ${city}` }] }
            : {
                content: [{ type: 'text', text: `sunny in ${city}` }],
                structuredContent: { city, sky: 'sunny' },
              },
      );
      return mcp;
    });
    const agent = newAgent();
    const invoked: ToolInvokedEvent[] = [];
    const degraded: ToolDegradedEvent[] = [];
    let evaluated = 0;
    const improvements: string[] = [];
    agent.on('tool:invoked', (event) => invoked.push(event));
    agent.on('tool:degraded', (event) => degraded.push(event));
    agent.on('tool:evaluated', () => {
      evaluated += 1;
    });
    agent.on('improvement:started', (event) => improvements.push(event.toolName));

    const measured = await measureMcpTools(agent, {
      url: server.url,
      headers: { Authorization: 'Bearer test-token' },
    });
    cleanups.push(() => measured.close());
    expect(measured.version).toBe('2.0.0');
    expect(Object.keys(measured.tools)).toEqual(['get-forecast']);
    expect(server.requests.every((request) => request.headers.authorization === 'Bearer test-token')).toBe(
      true,
    );
    const execute = executeOf(measured.tools, 'get-forecast');

    for (let i = 0; i < 10; i += 1) {
      const result = await execute({ city: `city-${i}` }, callOptions());
      expect(result.content).toEqual([{ type: 'text', text: `sunny in city-${i}` }]);
      expect(result.structuredContent).toEqual({ city: `city-${i}`, sky: 'sunny' });
    }
    state.failing = true;
    for (let i = 0; i < 20; i += 1) {
      const error = await execute({ city: 'Oslo' }, callOptions()).catch((thrown: unknown) => thrown);
      expect(McpToolError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'MCP_TOOL_ERROR', toolName: 'get-forecast' });
    }
    await agent.idle();

    expect(invoked).toHaveLength(30);
    expect(invoked.filter((event) => !event.success)).toHaveLength(20);
    expect(invoked.every((event) => event.toolName === 'get_forecast' && event.version === 1)).toBe(true);
    expect(agent.memory.statistics('get_forecast', 1)).toMatchObject({ calls: 30, failures: 20 });
    const summary = await agent.memory.summary('get_forecast', { version: 1, window: 30 });
    expect(summary).toMatchObject({ invocations: 30, successes: 10, failures: 20 });
    expect(summary.recentErrors[0]).toContain('upstream weather API down for Oslo');
    const [last] = await agent.memory.recent('get_forecast', { version: 1, limit: 1 });
    expect(last).toMatchObject({ success: false, errorCode: 'MCP_TOOL_ERROR' });

    expect(evaluated).toBeGreaterThan(0);
    expect(degraded).toHaveLength(1);
    expect(degraded[0]).toMatchObject({ toolName: 'get_forecast', version: 1, kind: 'host', label: '2.0.0' });
    expect(degraded[0]?.evaluation.needsRewrite).toBe(true);
    expect(improvements).toEqual([]);
    expect(await agent.registry.versions('get_forecast')).toHaveLength(1);
    expect(await agent.registry.active('get_forecast')).toMatchObject({ author: 'host', label: '2.0.0' });
    // close() ends the session on the server (DELETE), which the SDK client's close() does not.
    await measured.close();
    expect(server.requests.at(-1)).toMatchObject({
      method: 'DELETE',
      headers: { 'mcp-session-id': expect.any(String) },
    });
    // The report (and so `sia report` / `sia tools`) shows it as a host tool with its calls.
    await agent.memory.flush();
    const report = await collectReport(agent.storage);
    expect(report.tools.find((entry) => entry.name === 'get_forecast')).toMatchObject({ kind: 'host' });
  });

  it('an abortSignal that fires during a slow call rejects it, cancels it on the server, and is recorded as a thrown error', async () => {
    let markStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    let markCancelled: () => void = () => undefined;
    const cancelled = new Promise<void>((resolve) => {
      markCancelled = resolve;
    });
    const server = await startMcpServer(() => {
      const mcp = new McpServer({ name: 'slow-service', version: '0.3.0' });
      mcp.registerTool(
        'slow-lookup',
        { description: 'Waits until it is cancelled', inputSchema: { q: z.string() } },
        async (_input, extra) => {
          markStarted();
          await new Promise((resolve) => extra.signal.addEventListener('abort', resolve, { once: true }));
          markCancelled();
          return { content: [{ type: 'text', text: 'too late' }] };
        },
      );
      return mcp;
    });
    // The app's own connected client: measureMcpTools uses it and leaves it open.
    const client = new Client({ name: 'the-app', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url)));
    cleanups.push(() => client.close());
    const agent = newAgent();
    const invoked: ToolInvokedEvent[] = [];
    agent.on('tool:invoked', (event) => invoked.push(event));

    const measured = await measureMcpTools(agent, { client });
    expect(measured.client).toBe(client);
    const controller = new AbortController();
    const call = executeOf(measured.tools, 'slow-lookup')({ q: 'x' }, callOptions(controller.signal));
    const outcome = call.then(
      () => undefined,
      (error: unknown) => error,
    );
    await started;
    controller.abort();
    const error = await outcome;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('aborted');
    await cancelled;

    expect(invoked).toHaveLength(1);
    expect(invoked[0]).toMatchObject({ toolName: 'slow_lookup', success: false });
    // The MCP SDK's error has a numeric code: measureTools records it as TOOL_ERROR with its message.
    expect(invoked[0]?.error).toEqual({ code: 'TOOL_ERROR', message: (error as Error).message });
    const [record] = await agent.memory.recent('slow_lookup', { limit: 1 });
    expect(record).toMatchObject({
      success: false,
      errorCode: 'TOOL_ERROR',
      errorMessage: (error as Error).message,
    });

    await measured.close();
    expect((await client.listTools()).tools.map((listed) => listed.name)).toEqual(['slow-lookup']);
  });
});

describe('measureMcpTools close()', () => {
  it('ends the HTTP session, and does not wait for ever on a server that never answers the DELETE', async () => {
    const server = await startMcpServer(
      () => {
        const mcp = new McpServer({ name: 'silent-on-delete', version: '1.0.0' });
        mcp.registerTool('ping', { description: 'Pings', inputSchema: {} }, async () => ({
          content: [{ type: 'text', text: 'pong' }],
        }));
        return mcp;
      },
      { ignoreDelete: true },
    );
    const measured = await measureMcpTools(newAgent(), { url: server.url });
    await measured.close(); // bounded: the test's own timeout is the hang detector
    expect(server.requests.at(-1)?.method).toBe('DELETE');
  });
});

describe('measureMcpTools over stdio', () => {
  it('lists and calls the fixture’s tools under its serverInfo.version, records an isError answer as MCP_TOOL_ERROR, and close() ends the child', async () => {
    const agent = newAgent();
    const measured = await measureMcpTools(agent, echoServer());
    cleanups.push(() => measured.close());
    expect(measured.version).toBe('1.4.2');
    expect(Object.keys(measured.tools)).toEqual(['echo', 'shout-back', 'refuse']);
    expect((await agent.registry.list()).map((record) => record.name).sort()).toEqual([
      'echo',
      'refuse',
      'shout_back',
    ]);
    expect(await agent.registry.active('shout_back')).toMatchObject({ version: 1, label: '1.4.2' });

    const echoed = await executeOf(measured.tools, 'echo')({ text: 'hi' }, callOptions());
    expect(echoed).toMatchObject({
      content: [{ type: 'text', text: 'echo: hi' }],
      structuredContent: { echoed: 'hi' },
    });
    expect(await executeOf(measured.tools, 'shout-back')({ text: 'hi' }, callOptions())).toMatchObject({
      content: [{ type: 'text', text: 'HI' }],
    });
    const refused = await executeOf(measured.tools, 'refuse')({ reason: 'no quota' }, callOptions()).catch(
      (error: unknown) => error,
    );
    expect(McpToolError.isInstance(refused)).toBe(true);
    expect((refused as McpToolError).serverText).toBe('refused: no quota');
    expect((refused as McpToolError).message).toContain('refused: no quota');
    await agent.idle();
    const [record] = await agent.memory.recent('refuse', { limit: 1 });
    expect(record).toMatchObject({ success: false, errorCode: 'MCP_TOOL_ERROR' });
    expect(record?.errorMessage).toContain('refused: no quota');
    expect(agent.memory.statistics('echo', 1)).toMatchObject({ calls: 1, failures: 0 });

    const transport = measured.client.transport as StdioClientTransport;
    const pid = transport.pid;
    expect(typeof pid).toBe('number');
    let closed = false;
    measured.client.onclose = () => {
      closed = true;
    };
    await measured.close();
    await measured.close();
    expect(closed).toBe(true);
    expect(await exitOf(pid as number)).toBe(true);
  });

  it('records under an explicit version instead of the server’s; refuses names and include entries the server does not list', async () => {
    const agent = newAgent();
    await expect(measureMcpTools(agent, echoServer(), { include: ['echo', 'nope'] })).rejects.toMatchObject({
      field: 'include[1]',
      value: 'nope',
    });
    const typo = await measureMcpTools(agent, echoServer(), { names: { ecko: 'echo_v2' } }).catch(
      (error: unknown) => error,
    );
    expect(typo).toMatchObject({ field: 'names.ecko' });
    expect((typo as Error).message).toContain('"shout-back"');
    expect(await agent.registry.list()).toEqual([]);
    const measured = await measureMcpTools(agent, echoServer('7.0.0'), {
      version: 'release-42',
      include: ['echo'],
      names: { echo: 'echo_v2' },
    });
    cleanups.push(() => measured.close());
    expect(measured.version).toBe('release-42');
    expect(Object.keys(measured.tools)).toEqual(['echo']);
    expect((await agent.registry.list()).map((record) => record.name)).toEqual(['echo_v2']);
    expect(await agent.registry.active('echo_v2')).toMatchObject({ version: 1, label: 'release-42' });
  });
});

describe('measureMcpTools and a hostile server', () => {
  it('refuses a tool name that cannot be a registry name without a names entry, registering nothing; cuts a huge description', async () => {
    // The MCP SDK warns on the console about the bad name it serves.
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const server = await startMcpServer(() => {
      const mcp = new McpServer({ name: 'hostile', version: '1.0.0' });
      mcp.registerTool(
        'fine-tool',
        { description: 'x'.repeat(50_000), inputSchema: { a: z.string() } },
        async () => ({
          content: [],
        }),
      );
      mcp.registerTool(
        'bad name!',
        { description: 'A bad name', inputSchema: { a: z.string() } },
        async () => ({
          content: [{ type: 'text', text: 'ok' }],
        }),
      );
      return mcp;
    });
    const agent = newAgent();
    const refused = await measureMcpTools(agent, { url: server.url }).catch((error: unknown) => error);
    expect(InvalidOptionError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({ field: 'names.bad name!', value: 'bad name!' });
    expect((refused as Error).message).toContain('options.names');
    expect(await agent.registry.list()).toEqual([]);

    const measured = await measureMcpTools(
      agent,
      { url: server.url },
      { names: { 'bad name!': 'bad_name' } },
    );
    cleanups.push(() => measured.close());
    expect(Object.keys(measured.tools)).toEqual(['fine-tool', 'bad name!']);
    expect((await agent.registry.list()).map((record) => record.name).sort()).toEqual([
      'bad_name',
      'fine_tool',
    ]);
    const fine = await agent.registry.find('fine_tool');
    expect(fine?.description.length).toBe(4096);
    expect((measured.tools['fine-tool'] as { description?: string }).description?.length).toBe(4096);
    expect(await executeOf(measured.tools, 'bad name!')({ a: '1' }, callOptions())).toMatchObject({
      content: [{ type: 'text', text: 'ok' }],
    });
  });

  it('measures tools named like Object.prototype’s members (toString, constructor) as their own', async () => {
    // McpServer keeps its tools in a plain object and refuses these names: the low-level Server serves them.
    const server = await startMcpServer(() => {
      const low = new Server({ name: 'prototype-names', version: '1.0.0' }, { capabilities: { tools: {} } });
      low.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: ['toString', 'constructor'].map((name) => ({
          name,
          description: `The tool ${name}`,
          inputSchema: { type: 'object' as const, properties: {} },
        })),
      }));
      low.setRequestHandler(CallToolRequestSchema, (request) => ({
        content: [{ type: 'text', text: `ran ${request.params.name}` }],
      }));
      return low;
    });
    const agent = newAgent();
    const measured = await measureMcpTools(agent, { url: server.url });
    cleanups.push(() => measured.close());
    expect(Object.keys(measured.tools)).toEqual(['toString', 'constructor']);
    expect((await agent.registry.list()).map((record) => record.name).sort()).toEqual([
      'constructor',
      'to_string',
    ]);
    expect(await executeOf(measured.tools, 'toString')({}, callOptions())).toMatchObject({
      content: [{ type: 'text', text: 'ran toString' }],
    });
  });

  it('refuses a server version with a control character, asking for version, registering nothing and ending the child it started', async () => {
    const server = await startMcpServer(() => {
      const mcp = new McpServer({ name: 'odd', version: '1.0\u0007' });
      mcp.registerTool('ping', { inputSchema: { a: z.string() } }, async () => ({ content: [] }));
      return mcp;
    });
    const agent = newAgent();
    const refused = await measureMcpTools(agent, { url: server.url }).catch((error: unknown) => error);
    expect(InvalidOptionError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({ field: 'version', value: '1.0\u0007' });
    expect((refused as Error).message).toContain('pass options.version');
    expect(await agent.registry.list()).toEqual([]);
    // With a version of its own the same server is measured.
    const measured = await measureMcpTools(agent, { url: server.url }, { version: 'pinned' });
    cleanups.push(() => measured.close());
    expect(await agent.registry.active('ping')).toMatchObject({ label: 'pinned' });

    // Over stdio: the child started for the refused call is ended before the error is thrown.
    const directory = mkdtempSync(join(tmpdir(), 'sia-mcp-'));
    cleanups.push(async () => rmSync(directory, { recursive: true, force: true }));
    const pidFile = join(directory, 'pid');
    const other = newAgent();
    await expect(
      measureMcpTools(other, echoServer('2.0\u001b', { PID_FILE: pidFile })),
    ).rejects.toMatchObject({
      field: 'version',
    });
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(await exitOf(pid)).toBe(true);
    expect(await other.registry.list()).toEqual([]);
  });
});

describe('measureMcpTools: sources that cannot be reached, bad options', () => {
  it('an unreachable URL or command fails naming it (without credentials), registering nothing', async () => {
    const gone = await startTestServer((_request, response) => response.end());
    const port = gone.port;
    await gone.close();
    const agent = newAgent();
    const error = await measureMcpTools(agent, {
      url: `http://127.0.0.1:${port}/mcp?api_key=very-secret`,
      headers: { Authorization: 'Bearer also-secret' },
    }).catch((thrown: unknown) => thrown);
    expect(SiaError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'MCP_CONNECTION_FAILED' });
    const message = (error as Error).message;
    expect(message).toContain(`http://127.0.0.1:${port}/mcp`);
    expect(message).not.toContain('secret');
    expect(await agent.registry.list()).toEqual([]);

    const missing = await measureMcpTools(agent, { command: '/nonexistent/mcp-server-binary' }).catch(
      (thrown: unknown) => thrown,
    );
    expect(missing).toMatchObject({ code: 'MCP_CONNECTION_FAILED' });
    expect((missing as Error).message).toContain('/nonexistent/mcp-server-binary');
    expect(await agent.registry.list()).toEqual([]);
  });

  it('refuses bad sources and options naming the field, before connecting', async () => {
    const agent = newAgent();
    const refusal = async (source: unknown, options?: unknown) => {
      const error = await measureMcpTools(agent, source as never, options as never).catch(
        (thrown: unknown) => thrown,
      );
      expect(InvalidOptionError.isInstance(error)).toBe(true);
      return error as InvalidOptionError;
    };
    expect((await refusal(undefined)).field).toBe('source');
    expect((await refusal({})).field).toBe('source');
    const mixed = await refusal({
      url: 'http://a.test/mcp',
      command: 'node',
      headers: { Authorization: 'secret-1' },
    });
    expect(mixed.field).toBe('source');
    expect(mixed.message).not.toContain('secret-1');
    expect((await refusal({ url: 'ftp://a.test/mcp' })).field).toBe('source.url');
    expect((await refusal({ url: 'not a url' })).field).toBe('source.url');
    const withPassword = await refusal({ url: 'http://user:secret-2@a.test/mcp' });
    expect(withPassword.field).toBe('source.url');
    expect(withPassword.message).not.toContain('secret-2');
    expect((await refusal({ url: 'http://a.test/mcp', header: {} })).field).toBe('source.header');
    expect((await refusal({ url: 'http://a.test/mcp', headers: { A: 1 } })).field).toBe('source.headers.A');
    expect((await refusal({ command: '' })).field).toBe('source.command');
    expect((await refusal({ command: 'node', args: [1] })).field).toBe('source.args');
    expect((await refusal({ command: 'node', env: { A: 2 } })).field).toBe('source.env.A');
    expect((await refusal({ client: {} })).field).toBe('source.client');
    const unconnected = await refusal({ client: new Client({ name: 'x', version: '1' }) });
    expect(unconnected.message).toContain('connect');
    const http = { url: 'http://a.test/mcp' };
    expect(await refusal(http, { version: 5 })).toMatchObject({ field: 'version', value: 5 });
    expect((await refusal(http, { version: ' ' })).field).toBe('version');
    expect((await refusal(http, { names: { a: 1 } })).field).toBe('names.a');
    expect((await refusal(http, { include: 'echo' })).field).toBe('include');
    expect((await refusal(http, { clientInfo: { name: 'x' } })).field).toBe('clientInfo.version');
    expect((await refusal(http, null)).field).toBe('options');
    expect(await agent.registry.list()).toEqual([]);
  });
});

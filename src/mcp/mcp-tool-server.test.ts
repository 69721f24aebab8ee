/**
 * The MCP server with the official SDK client over Streamable HTTP (real sockets on 127.0.0.1):
 * listing with real schemas, structured results, input errors, a promotion seen by a connected
 * client, availability (disabled, secrets), and the HTTP checks (token, Host, sessions, bad
 * requests).
 */

import { request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  parseAmountTool,
  promotingOptions,
  readPrivateTool,
  until,
} from '../../test/support/mcp-fixtures.ts';
import { SelfImprovingAgent } from '../agent/self-improving-agent.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { isLoopbackHost } from './mcp-http.ts';
import { McpToolServer, type McpToolServerOptions } from './mcp-tool-server.ts';

const sandbox = new QuickJsSandbox({ workers: 1 });
afterAll(() => sandbox.close());

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: { secrets?: Record<string, string>; server?: McpToolServerOptions } = {}) {
  const agent = new SelfImprovingAgent({
    sandbox,
    storage: memoryStorage(),
    ...promotingOptions(),
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });
  cleanups.push(() => agent.close());
  await agent.addTool(parseAmountTool);
  await agent.addTool({
    name: 'split_words',
    description: 'Splits words',
    inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
    source:
      'function split_words({ text }) { return { words: text.split(" "), count: text.split(" ").length }; }',
  });
  const server = new McpToolServer(agent, options.server);
  cleanups.push(() => server.close());
  return { agent, server };
}

/**
 * Connects the SDK client and waits until its notification stream (the GET the client opens
 * after initializing) is open: a notification sent before it would not reach the client.
 */
async function connect(url: string, headers: Record<string, string> = {}) {
  const client = new Client({ name: 'test-client', version: '1.0.0' });
  const changes: number[] = [];
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changes.push(changes.length + 1);
  });
  let streamOpen: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    streamOpen = resolve;
  });
  const observed: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (init?.method === 'GET' && response.ok) streamOpen();
    return response;
  };
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, fetch: observed }),
  );
  cleanups.push(() => client.close());
  await opened;
  return { client, changes };
}

/** How a call of a tool the server does not serve ends: the SDK turns the protocol error into an isError result. */
async function unknownTool(client: Client, name: string): Promise<string> {
  const result = await client.callTool({ name, arguments: {} }).catch((error: Error) => error.message);
  if (typeof result === 'string') return result;
  expect(result.isError).toBe(true);
  return (result.content as { text: string }[])[0]?.text ?? '';
}

/** One raw HTTP request (node:http, so the Host header can be set), its status and JSON body. */
function raw(
  port: number,
  options: { method: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: unknown; session: string | undefined }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method,
        path: options.path ?? '/mcp',
        headers: options.headers,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          const json = /json/.test(response.headers['content-type'] ?? '');
          resolve({
            status: response.statusCode ?? 0,
            body: json && text !== '' ? JSON.parse(text) : text,
            session: response.headers['mcp-session-id'] as string | undefined,
          });
        });
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

describe('McpToolServer over Streamable HTTP', () => {
  it('lists each tool with its real schemas and answers with structured content', async () => {
    const { server } = await start();
    const endpoint = await server.listen();
    expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const { client } = await connect(endpoint.url);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(['parse_amount', 'split_words']);
    expect(tools[0]).toMatchObject({
      description: 'Parses an amount',
      inputSchema: { type: 'object', required: ['text'] },
      // A number is not an object: the output schema is the wrapper's.
      outputSchema: { type: 'object', properties: { result: { type: 'number' } }, required: ['result'] },
    });
    expect(tools[1]?.outputSchema).toBeUndefined();

    const number = await client.callTool({ name: 'parse_amount', arguments: { text: '12.5' } });
    expect(number).toMatchObject({
      structuredContent: { result: 12.5 },
      content: [{ type: 'text', text: '12.5' }],
    });
    expect(number.isError).toBeFalsy();
    const object = await client.callTool({ name: 'split_words', arguments: { text: 'a b c' } });
    expect(object.structuredContent).toEqual({ words: ['a', 'b', 'c'], count: 3 });
  });

  it('lists tools with any schema the registry accepts in a form the SDK client accepts, and their results pass its checks', async () => {
    const { agent, server } = await start();
    await agent.addTool({
      name: 'no_type',
      description: 'An input schema without type',
      inputSchema: { properties: { n: { type: 'number' } } },
      source: 'function no_type({ n }) { return { n }; }',
    });
    await agent.addTool({
      name: 'with_defs',
      description: 'An array output schema with $defs',
      inputSchema: { type: 'object', properties: {} },
      outputSchema: { type: 'array', items: { $ref: '#/$defs/item' }, $defs: { item: { type: 'number' } } },
      source: 'function with_defs() { return [1, 2]; }',
    });
    await agent.addTool({
      name: 'newer_keywords',
      description: 'An output schema only draft 2020-12 reads right',
      inputSchema: { type: 'object', properties: {} },
      outputSchema: {
        type: 'object',
        properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'number' } } },
      },
      source: 'function newer_keywords() { return { pair: ["a", 1] }; }',
    });
    const more: [string, object, object | undefined, string, unknown][] = [
      // Boolean subschemas (MCP's tool schema wants objects).
      ['bool_input', { type: 'object', properties: { x: true } }, undefined, '({ x }) => ({ x })', { x: 1 }],
      [
        'bool_output',
        { type: 'object' },
        { type: 'object', properties: { x: true } },
        '() => ({ x: 1 })',
        { x: 1 },
      ],
      // References into the root of a wrapped schema.
      [
        'root_ref',
        { type: 'object' },
        { anyOf: [{ type: 'string' }, { type: 'array', items: { $ref: '#/anyOf/0' } }] },
        '() => ["a"]',
        { result: ['a'] },
      ],
      [
        'recursive',
        { type: 'object' },
        { type: 'array', items: { anyOf: [{ type: 'number' }, { $ref: '#' }] } },
        '() => [1, [2]]',
        { result: [1, [2]] },
      ],
      // A format the tool's check and the client's would judge differently.
      [
        'with_format',
        { type: 'object' },
        { type: 'object', properties: { email: { type: 'string', format: 'email' } } },
        '() => ({ email: "a@b" })',
        { email: 'a@b' },
      ],
    ];
    for (const [name, inputSchema, outputSchema, body] of more) {
      await agent.addTool({
        name,
        description: name,
        inputSchema: inputSchema as never,
        ...(outputSchema === undefined ? {} : { outputSchema: outputSchema as never }),
        source: `function ${name}(input) { return (${body})(input); }`,
      });
    }
    const { client } = await connect((await server.listen()).url);
    const { tools } = await client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    for (const [name, , , , expected] of more) {
      expect(byName.has(name), name).toBe(true);
      const result = await client.callTool({ name, arguments: name === 'bool_input' ? { x: 1 } : {} });
      expect(result.isError, name).toBeFalsy();
      expect(result.structuredContent, name).toEqual(expected);
    }
    expect(byName.get('no_type')?.inputSchema).toMatchObject({
      type: 'object',
      properties: { n: { type: 'number' } },
    });
    // Wrapped: its references now point into /properties/result, where its $defs went.
    expect(byName.get('with_defs')?.outputSchema).toMatchObject({
      type: 'object',
      properties: {
        result: {
          type: 'array',
          items: { $ref: '#/properties/result/$defs/item' },
          $defs: { item: { type: 'number' } },
        },
      },
    });
    // Not advertised: a draft-07 client would refuse the tool's valid results.
    expect(byName.get('newer_keywords')?.outputSchema).toBeUndefined();
    expect((await client.callTool({ name: 'no_type', arguments: { n: 1 } })).structuredContent).toEqual({
      n: 1,
    });
    expect((await client.callTool({ name: 'with_defs', arguments: {} })).structuredContent).toEqual({
      result: [1, 2],
    });
    expect((await client.callTool({ name: 'newer_keywords', arguments: {} })).structuredContent).toEqual({
      pair: ['a', 1],
    });
  });

  it('answers input that violates the schema with isError naming the path, and records nothing', async () => {
    const { agent, server } = await start();
    const { client } = await connect((await server.listen()).url);
    const before = (await agent.memory.summary('parse_amount', { version: 1 })).invocations;
    const wrongType = await client.callTool({ name: 'parse_amount', arguments: { text: 5 } });
    expect(wrongType.isError).toBe(true);
    const text = (wrongType.content as { text: string }[])[0]?.text ?? '';
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'TOOL_INPUT_INVALID' } });
    expect(text).toContain('/text');
    const missing = await client.callTool({ name: 'parse_amount', arguments: {} });
    expect(missing.isError).toBe(true);
    expect((missing.content as { text: string }[])[0]?.text).toContain('text');
    expect((await agent.memory.summary('parse_amount', { version: 1 })).invocations).toBe(before);
    // A failing tool is an isError result too, with its own code; that call is recorded.
    const failed = await client.callTool({ name: 'parse_amount', arguments: { text: '1,0', legacy: true } });
    expect(failed.isError).toBe(true);
    expect(JSON.parse((failed.content as { text: string }[])[0]?.text ?? '')).toMatchObject({
      error: { code: 'TOOL_ERROR', message: expect.stringContaining('cannot parse legacy amount') },
    });
    expect((await agent.memory.summary('parse_amount', { version: 1 })).invocations).toBe(before + 1);
    // An unknown tool is a protocol error, as the specification asks.
    expect(await unknownTool(client, 'no_such_tool')).toMatch(/Unknown tool: no_such_tool/);
  });

  it('promotes a degrading tool while the client stays connected; the client is told and sees the new behaviour', async () => {
    const { agent, server } = await start();
    const { client, changes } = await connect((await server.listen()).url);
    const promoted: unknown[] = [];
    agent.on('tool:promoted', (event) => promoted.push(event));
    for (let call = 0; call < 10 && promoted.length === 0; call += 1) {
      await client.callTool({ name: 'parse_amount', arguments: { text: '1,000', legacy: call % 2 === 0 } });
      await agent.idle();
    }
    expect(promoted).toMatchObject([{ toolName: 'parse_amount', fromVersion: 1, toVersion: 2 }]);
    await until(() => changes.length > 0, 'tools/list_changed');
    const { tools } = await client.listTools();
    expect(tools.find((tool) => tool.name === 'parse_amount')?._meta).toMatchObject({
      'self-improving-agent/version': 2,
    });
    const after = await client.callTool({ name: 'parse_amount', arguments: { text: '1,000', legacy: true } });
    expect(after).toMatchObject({ structuredContent: { result: 1000 } });
    expect(after.isError).toBeFalsy();
  });

  it('serves only tools a call can use: not disabled, not needing secrets the app does not supply', async () => {
    const { agent, server } = await start();
    await agent.addTool(readPrivateTool);
    const { client, changes } = await connect((await server.listen()).url);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([
      'parse_amount',
      'split_words',
    ]);
    // Not listed; a call anyway is refused without running, saying why.
    const unserved = await client.callTool({ name: 'read_private', arguments: {} });
    expect(unserved.isError).toBe(true);
    expect((unserved.content as { text: string }[])[0]?.text).toMatch(/TOOL_UNAVAILABLE.*API_TOKEN/);
    const unavailable = await agent.toolAvailability();
    expect(unavailable.find((entry) => entry.tool.name === 'read_private')?.unavailable).toMatchObject({
      reason: 'secrets-missing',
      missingSecrets: ['API_TOKEN'],
    });

    await agent.disableTool('split_words');
    await until(() => changes.length > 0, 'tools/list_changed after disableTool');
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['parse_amount']);
    const refused = await client.callTool({ name: 'split_words', arguments: { text: 'a' } });
    expect(refused.isError).toBe(true);
    expect((refused.content as { text: string }[])[0]?.text).toContain('TOOL_DISABLED');
  });

  it('serves a tool that needs a secret when the app supplies it', async () => {
    const { agent, server } = await start({ secrets: { API_TOKEN: 'abcdefgh' } });
    await agent.addTool(readPrivateTool);
    const { client } = await connect((await server.listen()).url);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('read_private');
    expect((await client.callTool({ name: 'read_private', arguments: {} })).structuredContent).toEqual({
      length: 8,
    });
  });
});

describe('a change made by another agent on the same storage', () => {
  it('is served at once: tool:refreshed, tools/list_changed, the new behaviour', async () => {
    const { agent: serving, server } = await start();
    // A second agent on the same storage (as another process on PostgreSQL would be).
    const other = new SelfImprovingAgent({
      sandbox,
      storage: serving.storage,
      ...promotingOptions(),
    });
    cleanups.push(() => other.close());
    await other.ready();
    const refreshed: unknown[] = [];
    serving.on('tool:refreshed', (event) => refreshed.push(event));
    const { client, changes } = await connect((await server.listen()).url);

    const promoted: unknown[] = [];
    other.on('tool:promoted', (event) => promoted.push(event));
    for (let call = 0; call < 20 && promoted.length === 0; call += 1) {
      await other.invoke('parse_amount', { text: '1,000', legacy: call % 2 === 0 }).catch(() => undefined);
      await other.idle();
    }
    expect(promoted).toHaveLength(1);
    await until(() => changes.length > 0, 'tools/list_changed after a promotion elsewhere');
    expect(refreshed).toEqual([{ toolName: 'parse_amount', fromVersion: 1, toVersion: 2, disabled: false }]);
    const after = await client.callTool({ name: 'parse_amount', arguments: { text: '1,000', legacy: true } });
    expect(after.structuredContent).toEqual({ result: 1000 });

    // A tool created elsewhere appears in the list.
    await other.addTool({
      name: 'echo_text',
      description: 'Echoes',
      inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
      source: 'function echo_text({ text }) { return { text }; }',
    });
    await until(() => changes.length > 1, 'tools/list_changed after a creation elsewhere');
    expect(refreshed.at(-1)).toEqual({
      toolName: 'echo_text',
      fromVersion: undefined,
      toVersion: 1,
      disabled: false,
    });
    expect((await client.listTools()).tools.map((tool) => tool.name)).toContain('echo_text');
  });
});

describe('a tool disabled by another agent on the same storage', () => {
  it('leaves the list at the server’s next read of the tools’ state, and the client is told', async () => {
    // The server reads the tools' state every stateRefreshMs while a client is connected.
    const { agent: serving, server } = await start({ server: { stateRefreshMs: 50 } });
    const other = new SelfImprovingAgent({ sandbox, storage: serving.storage });
    cleanups.push(() => other.close());
    await other.ready();
    const { client, changes } = await connect((await server.listen()).url);
    const refreshed: unknown[] = [];
    serving.on('tool:refreshed', (event) => refreshed.push(event));
    await other.disableTool('split_words', { reason: 'broken upstream' });
    await until(() => changes.length > 0, 'tools/list_changed after a disable elsewhere');
    expect(refreshed).toEqual([{ toolName: 'split_words', fromVersion: 1, toVersion: 1, disabled: true }]);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['parse_amount']);
    await other.enableTool('split_words');
    await until(() => changes.length > 1, 'tools/list_changed after an enable elsewhere');
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([
      'parse_amount',
      'split_words',
    ]);
  });

  it('serves only what include / exclude name, and says so in tools()', async () => {
    const { agent } = await start();
    const server = new McpToolServer(agent, {
      include: ['parse_amount', 'split_words'],
      exclude: ['split_words'],
    });
    cleanups.push(() => server.close());
    const { client } = await connect((await server.listen()).url);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['parse_amount']);
    expect(await unknownTool(client, 'split_words')).toMatch(/Unknown tool: split_words/);
    expect((await server.tools()).map(({ tool, unavailable }) => [tool.name, unavailable?.reason])).toEqual([
      ['parse_amount', undefined],
      ['split_words', 'excluded'],
    ]);
    expect(() => new McpToolServer(agent, { include: 'parse_amount' as never })).toThrow(/include/);
    expect(() => new McpToolServer(agent, { stateRefreshMs: 0 })).toThrow(/stateRefreshMs/);
  });
});

describe('the HTTP endpoint', () => {
  it('refuses to bind beyond loopback without a token, and a weak token', async () => {
    const { server } = await start();
    await expect(server.listen({ host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      field: 'token',
    });
    await expect(server.listen({ token: 'short' })).rejects.toMatchObject({ field: 'token' });
    await expect(server.listen({ port: 70_000 })).rejects.toMatchObject({ field: 'port' });
    expect(
      ['127.0.0.1', '127.3.2.1', '::1', '[::1]', '::ffff:127.0.0.1'].map((host) => isLoopbackHost(host)),
    ).toEqual([true, true, true, true, true]);
    expect([isLoopbackHost('localhost'), isLoopbackHost('0.0.0.0'), isLoopbackHost('example.com')]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('refuses unauthenticated requests on a non-loopback binding, and serves the right token', async () => {
    const { server } = await start();
    const token = 'test-token-0123456789abcdef';
    // Bound to every interface; the test talks to it over loopback only.
    const endpoint = await server.listen({ host: '0.0.0.0', token });
    const url = `http://127.0.0.1:${endpoint.port}/mcp`;
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    };
    const post = (headers: Record<string, string>) =>
      fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: JSON.stringify(initialize),
      });
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: token },
    ]) {
      const response = await post(headers);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await response.json()).toMatchObject({
        jsonrpc: '2.0',
        error: { message: expect.stringMatching(/Unauthorized/) },
      });
    }
    expect(endpoint.sessions()).toBe(0);
    await expect(connect(url)).rejects.toThrow();
    const { client } = await connect(url, { authorization: `Bearer ${token}` });
    expect((await client.listTools()).tools.length).toBe(2);
    expect(endpoint.sessions()).toBe(1);
  });

  it('closes sessions whose client went away without DELETE', async () => {
    const { server } = await start();
    const endpoint = await server.listen({ sessionIdleMs: 1000 });
    const initialize = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'gone', version: '1' } },
    });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    // A client that stays connected (its notification stream is open)…
    const { client } = await connect(endpoint.url);
    // …and one that initializes and never comes back (no DELETE, no notification stream).
    const gone = await raw(endpoint.port, { method: 'POST', headers, body: initialize });
    expect(gone.status).toBe(200);
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const again = () =>
      raw(endpoint.port, {
        method: 'POST',
        headers: {
          ...headers,
          'mcp-session-id': gone.session as string,
          'mcp-protocol-version': '2025-06-18',
        },
        body: ping,
      });
    // Only the idle one is closed (asking it anything would keep it alive): its id is then unknown.
    await until(() => endpoint.sessions() === 1, 'the idle session to be closed');
    expect((await again()).status).toBe(404);
    expect((await client.listTools()).tools.length).toBe(2);
  });

  it('serves its own URL on any loopback address (Host check included)', async () => {
    const { server } = await start();
    const endpoint = await server.listen({ host: '127.0.0.2' });
    expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/mcp$/);
    const { client } = await connect(endpoint.url);
    expect((await client.listTools()).tools.length).toBe(2);
  });

  it('answers bad requests with JSON-RPC errors and keeps serving', async () => {
    const { server } = await start();
    const endpoint = await server.listen({ maxSessions: 1 });
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const cases: [string, Parameters<typeof raw>[1], number][] = [
      ['malformed JSON', { method: 'POST', headers, body: '{"jsonrpc":' }, 400],
      [
        'not initialize, no session',
        { method: 'POST', headers, body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' },
        400,
      ],
      ['a batch of garbage', { method: 'POST', headers, body: '[1, "x", null]' }, 400],
      [
        'unknown session',
        { method: 'POST', headers: { ...headers, 'mcp-session-id': 'nope' }, body: '{}' },
        404,
      ],
      ['GET without session', { method: 'GET', headers }, 400],
      ['another path', { method: 'POST', headers, body: '{}', path: '/other' }, 404],
      [
        'a foreign Host (DNS rebinding)',
        { method: 'POST', headers: { ...headers, host: 'evil.example' }, body: '{}' },
        403,
      ],
      [
        'a foreign Origin',
        { method: 'POST', headers: { ...headers, origin: 'https://evil.example' }, body: '{}' },
        403,
      ],
      [
        'wrong content type',
        { method: 'POST', headers: { accept: headers.accept, 'content-type': 'text/plain' }, body: 'x' },
        415,
      ],
    ];
    for (const [what, request, status] of cases) {
      const response = await raw(endpoint.port, request);
      expect.soft(response.status, what).toBe(status);
      expect.soft(response.body, what).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });
    }
    expect(endpoint.sessions()).toBe(0);
    const { client } = await connect(endpoint.url);
    expect((await client.listTools()).tools.length).toBe(2);
    // maxSessions: 1 — a second client is refused with 503, the first keeps working.
    await expect(connect(endpoint.url)).rejects.toThrow();
    expect(
      (await client.callTool({ name: 'parse_amount', arguments: { text: '2' } })).structuredContent,
    ).toEqual({
      result: 2,
    });
  });
});

/**
 * `sia mcp` as an MCP client starts it: a real child process (`node src/cli/main.ts … mcp`) and
 * the official SDK client, over stdio and over Streamable HTTP. A tool that degrades is
 * improved and promoted inside the server process while the client stays connected; the client
 * is told (tools/list_changed) and sees the new behaviour; input that violates the schema is an
 * isError result naming the path and is not recorded (read back from the database afterwards);
 * `--config` brings the agent's options; beyond loopback a token is required.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SelfImprovingAgent } from '../src/agent/self-improving-agent.ts';
import { sqlJsStorage } from '../src/storage/sqlite/sql-js-storage.ts';
import { exitOf, parseAmountTool, readPrivateTool, until } from './support/mcp-fixtures.ts';
import { SIA_MAIN, sia } from './support/run-sia.ts';

const src = (path: string) => pathToFileURL(join(import.meta.dirname, '..', 'src', path)).href;

/** A --config module: a scripted rewriter (no model here), decisions on success alone, quick evaluation. */
const configSource = `import { promotingOptions } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'support', 'mcp-fixtures.ts')).href)};
// A config that logs on load (as dotenv does) must not break the protocol on stdout.
console.log('config loaded');
export default async () => ({ ...promotingOptions(), secrets: { API_TOKEN: 'token-from-config' } });
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sia-mcp-cli-'));
  await writeFile(join(dir, 'config.mjs'), configSource);
  await writeFile(join(dir, 'not-options.mjs'), 'export default 42;\n');
  await writeFile(
    join(dir, 'own-storage.mjs'),
    `import { sqlJsStorage } from ${JSON.stringify(src('storage/sqlite/sql-js-storage.ts'))};
export default { storage: sqlJsStorage({ path: ${JSON.stringify(join(dir, 'own.sqlite'))} }) };
`,
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A database with three tools: one that fails on legacy input, one plain, one reading a secret. */
async function seed(name: string): Promise<string> {
  const path = join(dir, `${name}.sqlite`);
  const storage = sqlJsStorage({ path });
  const agent = new SelfImprovingAgent({ storage, closeStorage: true });
  await agent.addTool(parseAmountTool);
  await agent.addTool(readPrivateTool);
  await agent.close();
  return path;
}

/** `sia …args` on stdio as an MCP client starts it, with the SDK client (not yet connected). */
function stdioServer(args: string[]) {
  const transport = new StdioClientTransport({ command: process.execPath, args, cwd: dir, stderr: 'pipe' });
  let output = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  return { transport, client: new Client({ name: 'stdio-test', version: '1.0.0' }), stderr: () => output };
}

function watchChanges(client: Client): number[] {
  const changes: number[] = [];
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    changes.push(changes.length + 1);
  });
  return changes;
}

const text = (result: unknown) => ((result as { content?: { text: string }[] }).content ?? [])[0]?.text ?? '';

/** Drives the tool until the server promotes it: legacy inputs fail under v1. */
async function degradeUntilPromoted(
  client: Client,
  changes: number[],
  stderr: () => string,
): Promise<number> {
  let calls = 0;
  for (; calls < 40 && changes.length === 0; calls += 1) {
    await client.callTool({ name: 'parse_amount', arguments: { text: '1,000', legacy: calls % 2 === 0 } });
  }
  await until(() => changes.length > 0, 'tools/list_changed from the server', stderr);
  const listed = await client.listTools();
  expect(listed.tools.find((tool) => tool.name === 'parse_amount')?._meta).toMatchObject({
    'self-improving-agent/version': 2,
  });
  const after = await client.callTool({ name: 'parse_amount', arguments: { text: '1,000', legacy: true } });
  expect(after.isError).toBeFalsy();
  expect(after.structuredContent).toEqual({ result: 1000 });
  return calls;
}

/** What the database holds once the server is gone. */
async function stored(path: string) {
  const agent = new SelfImprovingAgent({
    storage: sqlJsStorage({ path, readOnly: true }),
    closeStorage: true,
  });
  await agent.ready();
  const tool = await agent.registry.find('parse_amount');
  const calls = async (version: number) =>
    (await agent.memory.summary('parse_amount', { version, window: 1000 })).invocations;
  const counts = { v1: await calls(1), v2: await calls(2) };
  await agent.close();
  return { activeVersion: tool?.activeVersion, calls: counts };
}

describe('sia mcp over stdio', () => {
  it('serves the database, improves a degrading tool while the client is connected, and tells it', {
    timeout: 240_000,
  }, async () => {
    const db = await seed('stdio');
    const { transport, client, stderr } = stdioServer([
      SIA_MAIN,
      '--db',
      db,
      'mcp',
      '--config',
      join(dir, 'config.mjs'),
    ]);
    const changes = watchChanges(client);
    await client.connect(transport);
    expect(client.getServerVersion()).toMatchObject({ name: 'self-improving-agent' });
    // The config supplies API_TOKEN, so the tool that reads it is served.
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([
      'parse_amount',
      'read_private',
    ]);
    expect((await client.callTool({ name: 'read_private', arguments: {} })).structuredContent).toEqual({
      length: 'token-from-config'.length,
    });

    const invalid = await client.callTool({ name: 'parse_amount', arguments: { text: ['x'] } });
    expect(invalid.isError).toBe(true);
    expect(text(invalid)).toMatch(/TOOL_INPUT_INVALID.*\/text/);

    const callsBeforePromotion = await degradeUntilPromoted(client, changes, stderr);
    // Stopped the way a service manager stops it; the shutdown writes every record.
    const pid = transport.pid as number;
    process.kill(pid, 'SIGTERM');
    await exitOf(pid, stderr);
    expect(stderr()).toContain('stopping (SIGTERM)');
    expect(stderr()).toContain('config loaded');
    await client.close();

    const { activeVersion, calls } = await stored(db);
    expect(activeVersion).toBe(2);
    // Every call that ran was recorded; the one with invalid input was not.
    // (a call made while the promotion landed ran on v2 before the client heard of it)
    expect(calls.v1 + calls.v2).toBe(callsBeforePromotion + 1);
    expect(calls.v2).toBeGreaterThanOrEqual(1);
    expect(stderr()).toContain('serving parse_amount v1');
  });

  it('without --config serves what needs no secret, and says why it leaves the rest out', {
    timeout: 120_000,
  }, async () => {
    const db = await seed('plain');
    const { transport, client, stderr } = stdioServer([
      SIA_MAIN,
      '--db',
      db,
      'mcp',
      '--exclude',
      'nope',
      '--include',
      'parse_amount',
      '--include',
      'read_private',
      '--include',
      'typo_tool',
    ]);
    await client.connect(transport);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['parse_amount']);
    expect(stderr()).toMatch(/not serving read_private: it reads secrets the app does not supply: API_TOKEN/);
    expect(stderr()).toContain('warning: --include typo_tool: the database has no such tool');
    // The client goes away (closes stdin): the server stops by itself.
    const pid = transport.pid as number;
    await client.close();
    await exitOf(pid, stderr);
    expect(stderr()).toMatch(/stopping \((stdin closed|stdio closed)\)/);
  });

  it('stops cleanly (records written, lock released) when the stdio stream fails: a line over 10 MB', {
    timeout: 120_000,
  }, async () => {
    const db = await seed('huge-line');
    const child = spawn(process.execPath, [SIA_MAIN, '--db', db, 'mcp'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    child.stdin.on('error', () => undefined);
    await until(
      () => stderr.includes('serving on stdio'),
      'the server to start',
      () => stderr,
    );
    expect(existsSync(`${db}.lock`)).toBe(true);
    child.stdin.write('x'.repeat(11 * 1024 * 1024));
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopping (stdio closed)');
    expect(existsSync(`${db}.lock`)).toBe(false);
  });

  it('ends at once on a signal that comes before it serves (a slow --config)', {
    timeout: 120_000,
  }, async () => {
    const db = await seed('slow-config');
    await writeFile(
      join(dir, 'slow.mjs'),
      "console.error('config loading');\nawait new Promise((resolve) => setTimeout(resolve, 600_000));\nexport default {};\n",
    );
    const child = spawn(process.execPath, [SIA_MAIN, '--db', db, 'mcp', '--config', join(dir, 'slow.mjs')], {
      cwd: dir,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await until(
      () => stderr.includes('config loading'),
      'the config to start loading',
      () => stderr,
    );
    child.kill('SIGINT');
    expect(await exited).toBe(130);
  });

  it('closes a storage the --config module made (its lock is released) when it stops', {
    timeout: 120_000,
  }, async () => {
    const own = join(dir, 'own.sqlite');
    const seeded = await seed('own-seed');
    await writeFile(own, await readFile(seeded));
    const { transport, client, stderr } = stdioServer([
      SIA_MAIN,
      'mcp',
      '--config',
      join(dir, 'own-storage.mjs'),
    ]);
    await client.connect(transport);
    expect(
      (await client.callTool({ name: 'parse_amount', arguments: { text: '7' } })).structuredContent,
    ).toEqual({
      result: 7,
    });
    expect(existsSync(`${own}.lock`)).toBe(true);
    const pid = transport.pid as number;
    process.kill(pid, 'SIGTERM');
    await exitOf(pid, stderr);
    await client.close();
    expect(existsSync(`${own}.lock`)).toBe(false);
    expect((await stored(own)).calls.v1).toBe(1);
  });
});

/** Starts `sia mcp --http …` and resolves with the URL it printed. */
async function startHttp(db: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child: ChildProcess = spawn(process.execPath, [SIA_MAIN, '--db', db, 'mcp', '--http', ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await until(
    () => gone || /listening on (\S+)/.test(stderr),
    'the server to listen',
    () => stderr,
  );
  const url = /listening on (\S+)/.exec(stderr)?.[1];
  return { child, url, exited, stderr: () => stderr, stdout: () => stdout };
}

describe('sia mcp --http', () => {
  it('serves on loopback, improves while connected, and stops cleanly on SIGTERM', {
    timeout: 240_000,
  }, async () => {
    const db = await seed('http');
    const server = await startHttp(db, ['--port', '0', '--config', join(dir, 'config.mjs')]);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const client = new Client({ name: 'http-test', version: '1.0.0' });
    const changes = watchChanges(client);
    await client.connect(new StreamableHTTPClientTransport(new URL(server.url as string)));
    await degradeUntilPromoted(client, changes, server.stderr);
    await client.close();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    // sia itself writes nothing to stdout; only the config module logged there.
    expect(server.stdout()).toBe('config loaded\n');
    expect((await stored(db)).activeVersion).toBe(2);
  });

  it('beyond loopback: refuses to start without SIA_MCP_TOKEN; with it, refuses requests without the token', {
    timeout: 120_000,
  }, async () => {
    const db = await seed('remote');
    const refused = await startHttp(db, ['--host', '0.0.0.0', '--port', '0']);
    expect(await refused.exited).toBe(1);
    expect(refused.stderr()).toMatch(/token.*not loopback/);

    const token = 'cli-token-0123456789abcdef';
    const server = await startHttp(db, ['--host', '0.0.0.0', '--port', '0'], { SIA_MCP_TOKEN: token });
    expect(server.stderr()).toContain('bearer token required');
    const port = new URL(server.url as string).port;
    const url = new URL(`http://127.0.0.1:${port}/mcp`);
    const anonymous = new Client({ name: 'anonymous', version: '1.0.0' });
    await expect(anonymous.connect(new StreamableHTTPClientTransport(url))).rejects.toThrow();
    const client = new Client({ name: 'authorized', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(url, {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['parse_amount']);
    await client.close();
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });
});

describe('sia mcp command line', () => {
  it('refuses wrong flags and configs with one line', async () => {
    const db = await seed('flags');
    const run = (args: string[]) => sia(['--db', db, 'mcp', ...args], { cwd: dir });
    const port = await run(['--http', '--port', 'abc']);
    expect([port.code, port.stderr]).toEqual([2, expect.stringContaining('--port must be a number')]);
    const host = await run(['--host', '0.0.0.0']);
    expect([host.code, host.stderr]).toEqual([2, expect.stringContaining('--host applies to --http only')]);
    const missing = await run(['--config', 'nope.mjs']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('cannot load --config')]);
    const wrong = await run(['--config', 'not-options.mjs']);
    expect([wrong.code, wrong.stderr]).toEqual([1, expect.stringContaining('must export default')]);
    const help = await sia(['mcp', '--help'], { cwd: dir });
    expect(help.stdout).toContain('SIA_MCP_TOKEN');
  });
});

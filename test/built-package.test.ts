/**
 * The built package (dist/), as users import it. The sandbox's guest code is shipped as the
 * source text of a bundled function, so a bundler transform that broke it would only show here.
 * Runs after `npm run build` (CI builds first); without dist/ it is skipped and says why.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToEnd } from './support/child-process.ts';
import { startTestServer, type TestServer } from './support/http-server.ts';

const root = join(import.meta.dirname, '..');
const built =
  existsSync(join(root, 'dist', 'index.js')) && existsSync(join(root, 'dist', 'sandbox-worker.js'));
if (!built)
  process.stdout.write('built-package tests skipped: dist/ is missing; run `npm run build` first\n');

describe.skipIf(!built)('the built package', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'x-echo': request.url ?? '' });
      response.end(JSON.stringify({ path: request.url, method: request.method }));
    });
  });
  afterAll(() => server.close());

  it('runs a tool that uses every guest global through the bundled sandbox worker', async () => {
    const entry = join(root, 'dist', 'index.js');
    const { QuickJsSandbox, SandboxError } = (await import(entry)) as typeof import('../src/index.ts');
    const sandbox = new QuickJsSandbox({ workers: 1, network: { allow: [server.hostPort] } });
    try {
      const source = `
        async function everything({ origin }) {
          const url = new URL('/rates?from=USD', origin);
          url.searchParams.append('to', 'EUR');
          const encoded = new TextEncoder().encode('héllo');
          const copy = structuredClone({ nested: [1, { two: 2 }] });
          await new Promise((resolve) => setTimeout(resolve, 5));
          const controller = new AbortController();
          const response = await fetch(url.href, { signal: controller.signal });
          const body = await response.json();
          console.log('fetched', response.status);
          return {
            href: url.href,
            bytes: encoded.length,
            text: new TextDecoder().decode(encoded),
            copy,
            status: response.status,
            echo: response.headers.get('x-echo'),
            body,
            base64: btoa('sia'),
          };
        }`;
      const result = await sandbox.runDetailed({ source, entry: 'everything' }, { origin: server.origin });
      expect(result.value).toEqual({
        href: `${server.origin}/rates?from=USD&to=EUR`,
        bytes: 6,
        text: 'héllo',
        copy: { nested: [1, { two: 2 }] },
        status: 200,
        echo: '/rates?from=USD&to=EUR',
        body: { path: '/rates?from=USD&to=EUR', method: 'GET' },
        base64: 'c2lh',
      });
      expect(result.logs.map((entry) => entry.message)).toEqual(['fetched 200']);
      const denied = await sandbox
        .run({ source: 'async function f() { return fetch("http://169.254.169.254/") }', entry: 'f' }, {})
        .catch((error: unknown) => error);
      expect(SandboxError.isInstance(denied) && denied.code).toBe('CAPABILITY_DENIED');
    } finally {
      await sandbox.close();
    }
  });

  it('serves the plumbing from self-improving-agent/kit, not from the root', async () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    expect(manifest.exports['./kit']).toEqual({ types: './dist/kit.d.ts', default: './dist/kit.js' });
    const kit = (await import(join(root, 'dist', 'kit.js'))) as typeof import('../src/kit.ts');
    const index = (await import(join(root, 'dist', 'index.js'))) as Record<string, unknown>;
    expect(kit.hashValue({ b: 1, a: 2 })).toBe(kit.hashValue({ a: 2, b: 1 }));
    expect(kit.checkToolName('add_numbers', 'name')).toBe('add_numbers');
    for (const name of [
      'hashValue',
      'aggregateInvocations',
      'SchemaCache',
      'TypedEmitter',
      'isSandboxError',
    ]) {
      expect(index[name], `${name} is not exported from the root`).toBeUndefined();
    }
  });

  it('serves MCP from self-improving-agent/mcp and from the built `sia mcp` (stdio, the SDK client)', async () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    expect(manifest.exports['./mcp']).toEqual({ types: './dist/mcp.d.ts', default: './dist/mcp.js' });
    const mcp = (await import(join(root, 'dist', 'mcp.js'))) as typeof import('../src/mcp/index.ts');
    expect(typeof mcp.McpToolServer).toBe('function');
    expect(typeof mcp.measureMcpTools).toBe('function');
    const { SelfImprovingAgent, sqlJsStorage } = (await import(
      join(root, 'dist', 'index.js')
    )) as typeof import('../src/index.ts');
    const dir = mkdtempSync(join(tmpdir(), 'sia-built-mcp-'));
    try {
      const db = join(dir, 'agent.sqlite');
      const agent = new SelfImprovingAgent({ storage: sqlJsStorage({ path: db }), closeStorage: true });
      await agent.addTool({
        name: 'add_numbers',
        description: 'Adds two numbers',
        inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
        source: 'function add_numbers({ a, b }) { return a + b; }',
      });
      await agent.close();
      const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
      const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
      const client = new Client({ name: 'built-test', version: '1.0.0' });
      await client.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: [join(root, 'dist', 'cli.js'), '--db', db, 'mcp'],
          stderr: 'ignore',
        }),
      );
      expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['add_numbers']);
      expect(
        (await client.callTool({ name: 'add_numbers', arguments: { a: 2, b: 3 } })).structuredContent,
      ).toEqual({
        result: 5,
      });
      await client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the demo (`npm run demo`) offline to a clean exit, with a promotion, the table and the report', async () => {
    const data = mkdtempSync(join(tmpdir(), 'sia-demo-'));
    try {
      const run = await runToEnd(
        process.execPath,
        [join(root, 'examples', 'exchange-rate', 'index.ts'), '--data', data],
        { cwd: root, env: { ...process.env, OPENAI_API_KEY: '' } },
      );
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      const out = run.stdout;
      expect(out).toMatch(
        /model\s+scripted \(offline, no API key\) — set OPENAI_API_KEY to use a real model/,
      );
      expect(out).toContain(`sql.js file ${join(data, 'agent.sqlite')}`);
      expect(out).toContain('5000 USD is 18500 ILS');
      expect(out).toContain('2000 EUR is 1717.39 GBP');
      expect(out).toContain('10000 JPY is 66.67 USD');
      expect(out).toMatch(/gate\s+attempt \d: PROMOTE/);
      expect(out).toMatch(/PROMOTED\s+fetch_exchange_rate v1 → v2 \(by hardening\); loop: \d+ calls/);
      expect(out).toMatch(/watch\s+fetch_exchange_rate v2 at the end of its watch: score/);
      expect(out).toMatch(
        /kept\s+fetch_exchange_rate v2 after its watch: \d+ of the promoted version's \d+ calls failed, .*(not worse|not shown worse), kept/,
      );
      expect(out).not.toMatch(/ROLLBACK/);

      // The before/after table: v1 failed during the degraded phase, v2 (active) did not.
      expect(out).toMatch(/^tool\s+version\s+author\s+active\s+calls\s+success\s+p50\s+p95$/m);
      const row = (tool: string, version: string) => {
        const match = new RegExp(
          `^${tool}\\s+${version}\\s+(\\S+)\\s+(yes)?\\s+(\\d+)\\s+([\\d.]+)%`,
          'm',
        ).exec(out);
        expect(match, `${tool} ${version} row`).not.toBeNull();
        const [, author, active, calls, success] = match as RegExpExecArray;
        return { author, active: active === 'yes', calls: Number(calls), success: Number(success) };
      };
      const v1 = row('fetch_exchange_rate', 'v1');
      const v2 = row('fetch_exchange_rate', 'v2');
      expect(v1).toMatchObject({ author: 'generator', active: false });
      expect(v1.success).toBeLessThan(95);
      expect(v2).toMatchObject({ author: 'hardening', active: true });
      expect(v2.success).toBeGreaterThanOrEqual(95);
      expect(v2.calls).toBeGreaterThanOrEqual(20);
      expect(row('convert_currency', 'v1')).toMatchObject({
        author: 'generator',
        active: true,
        success: 100,
      });

      const reported = /HTML report written to (\S+)/.exec(out)?.[1];
      expect(reported).toBe(join(data, 'report.html'));
      const html = readFileSync(reported as string, 'utf8');
      expect(html.slice(0, 15).toLowerCase()).toBe('<!doctype html>');
      expect(html).toContain('fetch_exchange_rate');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  }, 300_000);
});

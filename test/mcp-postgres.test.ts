/**
 * `sia mcp` on PostgreSQL beside an agent process: the agent (this test's process) promotes a
 * rewrite of a degrading tool; the MCP server (a `sia --postgres … mcp` child) hears it through
 * LISTEN/NOTIFY, serves v2 without a restart, and tells its connected client
 * (tools/list_changed). Skipped (and says so) without DATABASE_URL.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SelfImprovingAgent } from '../src/agent/self-improving-agent.ts';
import { postgresStorage } from '../src/storage/postgres/postgres-storage.ts';
import { exitOf, parseAmountTool, promotingOptions, until } from './support/mcp-fixtures.ts';
import {
  adminPool,
  databaseUrl,
  dropSchemas,
  freshSchema,
  noteSkipped,
} from './support/postgres-database.ts';
import { SIA_MAIN } from './support/run-sia.ts';

noteSkipped('MCP server on PostgreSQL test');

describe.skipIf(databaseUrl === undefined)('sia mcp and an agent process on one PostgreSQL database', () => {
  const schema = freshSchema('sia_mcp');
  let admin: pg.Pool;
  beforeAll(() => {
    admin = adminPool();
  });
  afterAll(async () => {
    await dropSchemas(admin, [schema]);
    await admin.end();
  });

  it('a promotion made by the agent is served by the MCP server without a restart', {
    timeout: 240_000,
  }, async () => {
    const agent = new SelfImprovingAgent({
      storage: postgresStorage(
        { connectionString: databaseUrl as string },
        { schema, onError: () => undefined },
      ),
      closeStorage: true,
      ...promotingOptions(),
    });
    await agent.addTool(parseAmountTool);

    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [SIA_MAIN, '--postgres', databaseUrl as string, '--schema', schema, 'mcp'],
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const client = new Client({ name: 'pg-test', version: '1.0.0' });
    let changes = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      changes += 1;
    });
    try {
      await client.connect(transport);
      const before = await client.callTool({
        name: 'parse_amount',
        arguments: { text: '1,000', legacy: true },
      });
      expect(before.isError).toBe(true);

      // The agent process (this one) sees the tool degrade, rewrites, gates and promotes it.
      const promoted: unknown[] = [];
      agent.on('tool:promoted', (event) => promoted.push(event));
      for (let call = 0; call < 20 && promoted.length === 0; call += 1) {
        await agent.invoke('parse_amount', { text: '1,000', legacy: call % 2 === 0 }).catch(() => undefined);
        await agent.idle();
      }
      expect(promoted).toMatchObject([{ toolName: 'parse_amount', toVersion: 2 }]);

      await until(
        () => changes > 0,
        'tools/list_changed',
        () => `server stderr: ${stderr}`,
      );
      const { tools } = await client.listTools();
      expect(tools[0]?._meta).toMatchObject({ 'self-improving-agent/version': 2 });
      const after = await client.callTool({
        name: 'parse_amount',
        arguments: { text: '1,000', legacy: true },
      });
      expect(after.isError).toBeFalsy();
      expect(after.structuredContent).toEqual({ result: 1000 });
      // The server recorded that call under v2, in the shared database (written by its shutdown).
      const pid = transport.pid as number;
      process.kill(pid, 'SIGTERM');
      await exitOf(pid, () => `server stderr: ${stderr}`);
      const served = await agent.memory.summary('parse_amount', { version: 2, window: 100 });
      expect(served.invocations).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
      await agent.close();
    }
  });
});

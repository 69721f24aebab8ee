/**
 * A session the server ends at the moment its connection is handed out. pg-pool removes its own
 * 'error' listener as it hands a client out; when the server's FATAL message arrives in the same
 * socket chunk as the new connection's ReadyForQuery (seen under load with pg_terminate_backend),
 * a listener attached after `await pool.connect()` comes too late and the client's 'error' event
 * crashes the process. Here a loopback proxy in front of the real server makes that moment
 * certain: for the next N connections it passes the login through, then writes the server's
 * ReadyForQuery and a FATAL 57P01 (what pg_terminate_backend sends) in one chunk and closes.
 * Both paths that check clients out are covered: transactions and the LISTEN connection.
 */
import { createServer, type Server, Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  databaseUrl,
  firstVersion,
  noteSkipped,
  suiteDatabase,
} from '../../../test/support/postgres-database.ts';
import type { ActiveVersionChange } from '../coordination.ts';
import { postgresStorage } from './postgres-storage.ts';

noteSkipped('PostgreSQL session-ended tests');

/** An ErrorResponse as the server sends it when pg_terminate_backend ends a session. */
function fatalTerminated(): Buffer {
  const fields = Buffer.concat([
    ...[
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', '57P01'],
      ['M', 'terminating connection due to administrator command'],
    ].map(([code, value]) => Buffer.from(`${code}${value}\0`, 'utf8')),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(5);
  header.write('E', 0, 'latin1');
  header.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([header, fields]);
}

interface Proxy {
  readonly url: string;
  /** Sessions still to end right after login; the proxy counts down. */
  endNext: number;
  /** Sessions ended so far. */
  ended: number;
  close(): Promise<void>;
}

async function startProxy(target: URL): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const proxy: Proxy = { url: '', endNext: 0, ended: 0, close: async () => undefined };
  const server: Server = createServer((client) => {
    const backend = new Socket();
    sockets.add(client);
    sockets.add(backend);
    const endThis = proxy.endNext > 0;
    if (endThis) proxy.endNext -= 1;
    let pending = Buffer.alloc(0);
    let done = false;
    backend.connect(Number(target.port), target.hostname);
    client.on('data', (chunk) => backend.write(chunk));
    backend.on('data', (chunk: Buffer) => {
      if (!endThis) {
        client.write(chunk);
        return;
      }
      if (done) return;
      pending = Buffer.concat([pending, chunk]);
      // Server messages: a type byte and a length that counts itself. Forward whole messages
      // until the first ReadyForQuery ('Z'); send it and the FATAL in one write, then close.
      let offset = 0;
      while (pending.length - offset >= 5) {
        const length = pending.readInt32BE(offset + 1);
        if (pending.length - offset < 1 + length) break;
        const type = String.fromCharCode(pending[offset] as number);
        offset += 1 + length;
        if (type === 'Z') {
          done = true;
          proxy.ended += 1;
          client.end(Buffer.concat([pending.subarray(0, offset), fatalTerminated()]));
          backend.destroy();
          return;
        }
      }
    });
    const closeBoth = () => {
      client.destroy();
      backend.destroy();
    };
    client.on('error', closeBoth);
    backend.on('error', closeBoth);
    client.on('close', () => backend.destroy());
    backend.on('close', () => {
      if (!done) client.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  const url = new URL(target.href);
  url.hostname = '127.0.0.1';
  url.port = String(address.port);
  return Object.assign(proxy, {
    url: url.href,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}

describe.skipIf(databaseUrl === undefined)(
  'postgresStorage() when a session ends as it is handed out',
  () => {
    const database = suiteDatabase();
    let proxy: Proxy;
    const pools: pg.Pool[] = [];
    beforeAll(async () => {
      proxy = await startProxy(new URL(databaseUrl as string));
    });
    afterAll(async () => {
      for (const pool of pools) await pool.end();
      await proxy.close();
    });
    /** A pool through the proxy that closes idle connections at once: every checkout is a new session. */
    const freshSessions = () => {
      const pool = new pg.Pool({ connectionString: proxy.url, idleTimeoutMillis: 1 });
      pool.on('error', () => undefined); // the adapter adds its own; this one outlives the adapter
      pools.push(pool);
      return pool;
    };
    const idle = (pool: pg.Pool) => expect.poll(() => pool.idleCount, { timeout: 60_000 }).toBe(0);

    it('a transaction on such a connection is retried on a new one; the process does not crash', async () => {
      const reports: string[] = [];
      const pool = freshSessions();
      const storage = postgresStorage(
        { pool },
        { schema: database.schema(), onError: (_error, context) => reports.push(context) },
      );
      try {
        await storage.ready?.();
        await idle(pool);
        const before = proxy.ended;
        proxy.endNext = 2;
        await storage.createTool({ name: 'add', description: 'Adds', firstVersion });
        expect(proxy.ended - before).toBe(2);
        expect((await storage.getTool('add'))?.activeVersion).toBe(1);
      } finally {
        await storage.close();
      }
    });

    it('a LISTEN connection ended as it is handed out is reported and replaced; changes still arrive', async () => {
      const reports: string[] = [];
      const schema = database.schema();
      const pool = freshSessions();
      const storage = postgresStorage(
        { pool },
        {
          schema,
          onError: (_error, context) => reports.push(context),
          watch: { pollIntervalMs: 50, reconnectInitialDelayMs: 20, reconnectMaxDelayMs: 20 },
        },
      );
      try {
        await storage.ready?.();
        await storage.createTool({ name: 'add', description: 'Adds', firstVersion });
        await storage.addVersion('add', { ...firstVersion, parentVersion: 1 });
        const heard: ActiveVersionChange[] = [];
        await idle(pool);
        const before = proxy.ended;
        proxy.endNext = 1; // the LISTEN connection is the next one checked out with a new session
        const unsubscribe = storage.watchActive?.((change) => heard.push(change));
        try {
          await expect.poll(() => proxy.ended - before, { timeout: 60_000 }).toBe(1);
          await expect.poll(() => heard.length, { timeout: 60_000 }).toBeGreaterThan(0);
          expect(await storage.compareAndSetActive('add', 1, 2)).toEqual({ swapped: true });
          await expect
            .poll(() => heard.some((change) => change.activeVersion === 2), { timeout: 60_000 })
            .toBe(true);
          expect(reports).toContain(
            'the LISTEN connection for active versions was lost; polling until it is back',
          );
        } finally {
          unsubscribe?.();
        }
      } finally {
        await storage.close();
      }
    });
  },
);

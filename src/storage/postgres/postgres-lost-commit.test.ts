/**
 * A connection lost while COMMIT was in flight leaves the outcome unknown. A change written with
 * its audit entry knows that entry's id before COMMIT, so the adapter looks it up and answers
 * as the database does: committed → the result (a retry would wrongly see a conflict or
 * TOOL_EXISTS), not committed → the transaction is rerun. Real server; the pool is wrapped so
 * that the COMMIT reaches the server and its reply is then "lost".
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  databaseUrl,
  firstVersion,
  noteSkipped,
  suiteDatabase,
} from '../../../test/support/postgres-database.ts';
import type { StorageAdapter } from '../storage-adapter.ts';
import type { PostgresPool, PostgresPoolClient } from './postgres-pool.ts';
import { postgresStorage } from './postgres-storage.ts';

noteSkipped('PostgreSQL lost-COMMIT tests');

describe.skipIf(databaseUrl === undefined)('postgresStorage() when the COMMIT reply is lost', () => {
  const database = suiteDatabase();
  const pools: pg.Pool[] = [];
  afterAll(async () => {
    for (const pool of pools) await pool.end();
  });

  /** A storage whose next `lose` COMMITs are committed by the server, then fail as a dropped connection. */
  const open = () => {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 3 });
    pools.push(pool);
    const faults = { lose: 0, lost: 0 };
    const wrapped: PostgresPool = {
      query: (text, values) => pool.query(text, values),
      on: (event, listener) => pool.on(event, listener),
      removeListener: (event, listener) => pool.removeListener(event, listener),
      end: () => pool.end(),
      // The callback form, as pg.Pool has it (the adapter uses it: connectGuarded).
      connect(
        callback?: (error: Error | undefined, client: PostgresPoolClient | undefined, done: unknown) => void,
      ) {
        const checkedOut = pool.connect().then((client) => wrap(client));
        if (callback === undefined) return checkedOut;
        checkedOut.then(
          (client) => callback(undefined, client, undefined),
          (error: Error) => callback(error, undefined, undefined),
        );
        return undefined;
      },
    } as PostgresPool;
    const wrap = (client: pg.PoolClient): PostgresPoolClient => {
      const proxy: PostgresPoolClient = {
        async query(text: string, values?: unknown[]) {
          const result = await client.query(text, values);
          if (text === 'COMMIT' && faults.lose > 0) {
            faults.lose -= 1;
            faults.lost += 1;
            throw Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
          }
          return result;
        },
        release: (error?: Error | boolean) => client.release(error),
        on: (event: 'error', listener: (error: Error) => void) => client.on(event, listener),
        removeListener: (event: 'error', listener: (error: Error) => void) =>
          client.removeListener(event, listener),
      } as unknown as PostgresPoolClient;
      return proxy;
    };
    const storage: StorageAdapter = postgresStorage({ pool: wrapped }, { schema: database.schema() });
    return { storage, faults };
  };

  it('answers a committed creation, swap and pin as done, each with its entry once', async () => {
    const { storage, faults } = open();
    try {
      await storage.ready?.();
      faults.lose = 1;
      const created = await storage.createTool({
        name: 'add',
        description: 'Adds',
        firstVersion,
        testCases: [
          { input: { a: 1, b: 2 }, expect: { equals: 3 }, description: 'small', origin: 'example' },
        ],
        audit: { type: 'tool:created', actor: 'test', reason: 'created', toVersion: 1 },
      });
      expect(created.audit?.type).toBe('tool:created');
      await storage.addVersion('add', { ...firstVersion, parentVersion: 1 });

      faults.lose = 1;
      const swapped = await storage.compareAndSetActive('add', 1, 2, {
        type: 'tool:promoted',
        actor: 'test',
        reason: 'gate passed',
        fromVersion: 1,
        toVersion: 2,
      });
      expect(swapped).toMatchObject({ swapped: true, audit: { type: 'tool:promoted', toVersion: 2 } });

      faults.lose = 1;
      const pinned = await storage.setPinned('add', true, {
        type: 'tool:pinned',
        actor: 'test',
        reason: 'frozen',
      });
      expect(pinned?.type).toBe('tool:pinned');

      expect(faults.lost).toBe(3);
      expect(await storage.getTool('add')).toMatchObject({ activeVersion: 2, pinned: true });
      expect(await storage.listTestCases('add')).toHaveLength(1);
      expect((await storage.listAudit({ toolName: 'add' })).map((entry) => entry.type)).toEqual([
        'tool:created',
        'tool:promoted',
        'tool:pinned',
      ]);
    } finally {
      await storage.close();
    }
  });
});

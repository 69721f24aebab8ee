/**
 * PostgreSQL under failure, with real processes: a child streams invocation records through
 * PerformanceMemory while (1) the test terminates its connections with pg_terminate_backend
 * again and again, (2) the test stops and restarts the server. The child must not crash, every
 * record whose flush() was acknowledged must be stored (exactly once), writing must go on
 * afterwards, and another process watching active versions must notice a promotion made after
 * the restart (how soon is printed, not asserted). The restart runs on a cluster of its own (so other test files keep
 * their server); it needs start-postgres.sh's cluster (SIA_PG_DIR), and is skipped otherwise.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresStorage } from '../src/storage/postgres/postgres-storage.ts';
import { type Child, startChild } from './support/child-process.ts';
import {
  adminPool,
  clusterDirectory,
  databaseUrl,
  noteSkipped,
  pgCtl,
  startCluster,
  stopCluster,
  suiteDatabase,
  terminateBackends,
} from './support/postgres-database.ts';

const script = join(import.meta.dirname, 'support', 'postgres-child.ts');
noteSkipped('PostgreSQL resilience tests');
if (databaseUrl !== undefined && clusterDirectory === undefined)
  noteSkipped(
    'PostgreSQL server-restart test',
    'SIA_PG_DIR is not set (the server was not started by test/support/start-postgres.sh)',
  );

interface Stored {
  rows: number;
  distinct: number;
  /** Distinct sequence numbers ≤ the last acknowledged one. */
  acknowledgedPresent: number;
}

async function storedSequences(pool: pg.Pool, schema: string, acknowledged: number): Promise<Stored> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS rows, count(DISTINCT started_at)::int AS distinct,
       count(DISTINCT started_at) FILTER (WHERE started_at <= $1)::int AS acknowledged
     FROM "${schema}".invocations WHERE tool_name = 'stream'`,
    [acknowledged],
  );
  const row = rows[0] as { rows: number; distinct: number; acknowledged: number };
  return { rows: row.rows, distinct: row.distinct, acknowledgedPresent: row.acknowledged };
}

const lastAck = (child: Child) =>
  Number(
    child.lines
      .filter((line) => line.startsWith('ack '))
      .at(-1)
      ?.slice(4) ?? 0,
  );

async function waitForAckAbove(child: Child, value: number, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (lastAck(child) <= value) {
    if (Date.now() > deadline)
      throw new Error(`no ack above ${value} within ${timeoutMs} ms; stderr: ${child.stderr()}`);
    await delay(20);
  }
  return lastAck(child);
}

async function stopWriter(child: Child): Promise<number> {
  child.send('stop');
  const closed = await child.waitForLine('closed ', { timeoutMs: 120_000 });
  const exit = await child.exited;
  expect(exit, child.stderr()).toEqual({ code: 0, signal: null });
  expect(child.stderr()).toBe('');
  return Number(closed.split(' ')[1]);
}

describe.skipIf(databaseUrl === undefined)('PostgreSQL storage under failure', () => {
  const database = suiteDatabase();
  const children: Child[] = [];
  afterAll(() => {
    for (const child of children) child.process.kill('SIGKILL');
  });

  it('keeps every acknowledged record, exactly once, while its connections are terminated again and again', async () => {
    const schema = database.schema();
    const applicationName = `sia-writer-${schema}`;
    const writer = startChild(script, ['writer', schema, applicationName]);
    children.push(writer);
    await writer.waitForLine('ready');
    await waitForAckAbove(writer, 500);
    let terminated = 0;
    let acksBeforeLastKill = 0;
    for (let round = 0; round < 12; round += 1) {
      await delay(80 + Math.floor(Math.random() * 200));
      terminated += await terminateBackends(database.admin, applicationName);
      acksBeforeLastKill = lastAck(writer);
    }
    // Writing goes on after the last termination.
    const after = await waitForAckAbove(writer, acksBeforeLastKill + 1_000);
    const recorded = await stopWriter(writer);
    const acknowledged = lastAck(writer);
    expect(acknowledged).toBeGreaterThanOrEqual(after);
    const stored = await storedSequences(database.admin, schema, acknowledged);
    expect(stored).toEqual({ rows: recorded, distinct: recorded, acknowledgedPresent: acknowledged });
    expect(terminated).toBeGreaterThan(0);
    console.log(
      `[postgres-terminate] 12 rounds of pg_terminate_backend ended ${terminated} connections; ` +
        `${acknowledged} records acknowledged, ${recorded} recorded, all stored exactly once`,
    );
  }, 300_000);

  it.skipIf(clusterDirectory === undefined)(
    'recovers when the server is stopped and restarted mid-run: no acknowledged record lost, watchers catch up',
    async () => {
      const directory = mkdtempSync(join(tmpdir(), 'sia-pg-restart-'));
      try {
        const url = startCluster(directory);
        const env = { DATABASE_URL: url };
        const schema = 'sia';
        const storage = postgresStorage({ connectionString: url }, { schema, onError: () => undefined });
        try {
          await storage.createTool({
            name: 'restart',
            description: 'Restarts',
            firstVersion: {
              source: 'function restart() { return 1; }',
              inputSchema: { type: 'object' },
              capabilities: { network: [] },
              parentVersion: null,
              reason: 'first',
              author: 'human',
            },
          });
          for (let index = 0; index < 2; index += 1)
            await storage.addVersion('restart', {
              source: 'function restart() { return 2; }',
              inputSchema: { type: 'object' },
              capabilities: { network: [] },
              parentVersion: 1,
              reason: 'second',
              author: 'human',
            });
          const writer = startChild(script, ['writer', schema, 'sia-restart-writer'], env);
          const watcher = startChild(script, ['watch', schema], env);
          children.push(writer, watcher);
          await writer.waitForLine('ready');
          await watcher.waitForLine('change restart 1 ');
          await waitForAckAbove(writer, 1_000);

          pgCtl(directory, ['-D', join(directory, 'data'), '-m', 'fast', '-w', 'stop']);
          const ackWhileDown = lastAck(writer);
          await delay(1_500);
          pgCtl(directory, [
            '-D',
            join(directory, 'data'),
            '-l',
            join(directory, 'server.log'),
            '-w',
            'start',
          ]);

          // A promotion right after the restart reaches the other process.
          const mark = watcher.lines.length;
          expect(await storage.compareAndSetActive('restart', 1, 3)).toEqual({ swapped: true });
          const promotedAt = Date.now();
          const notice = await watcher.waitForLine('change restart 3 ', { from: mark });
          // The notice arrived (waitForLine fails otherwise); how fast is printed, not asserted.
          const noticeMs = Number(notice.split(' ')[3]) - promotedAt;
          expect(Number.isFinite(noticeMs)).toBe(true);

          const resumed = await waitForAckAbove(writer, ackWhileDown + 1_000);
          const recorded = await stopWriter(writer);
          const acknowledged = lastAck(writer);
          const check = adminPool(url);
          try {
            const stored = await storedSequences(check, schema, acknowledged);
            expect(stored.acknowledgedPresent).toBe(acknowledged);
            expect(stored.distinct).toBe(recorded);
            // A COMMIT cut by the shutdown whose outcome could not be checked while the server
            // was down may be written twice; report it (it has not happened in our runs).
            console.log(
              `[postgres-restart] server down ≈ 1.5 s: ${acknowledged} records acknowledged (resumed past ${resumed}), ` +
                `${recorded} recorded, all stored; ${stored.rows - stored.distinct} duplicates; ` +
                `watcher noticed a promotion ${noticeMs} ms after it`,
            );
          } finally {
            await check.end();
          }
          watcher.send('exit');
          expect((await watcher.exited).code).toBe(0);
        } finally {
          await storage.close();
        }
      } finally {
        stopCluster(directory);
      }
    },
    300_000,
  );
});

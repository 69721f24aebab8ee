/**
 * Crash safety of pruning into rollups, for real: a child process appends and prunes a
 * nodeSqliteStorage file continuously (each prune folds the rows it deletes into rollups, then
 * gives the freed pages back) and is killed with SIGKILL at random moments. After every kill the
 * file must pass `PRAGMA integrity_check`, and every call ever appended must be counted exactly
 * once: as a stored row or in a rollup, never both, never neither.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNodeSqlite } from '../src/storage/sqlite/node-sqlite-driver.ts';
import { nodeSqliteStorage } from '../src/storage/sqlite/node-sqlite-storage.ts';
import { startChild } from './support/child-process.ts';
import { crashRounds } from './support/crash-rounds.ts';

/** Kill rounds: 8 in `npm test`; `SIA_CRASH_ROUNDS=100 npx vitest run test/prune-crash.test.ts` soaks longer. */
const rounds = crashRounds(8);
const directory = mkdtempSync(join(tmpdir(), 'sia-prune-crash-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
const script = join(import.meta.dirname, 'support', 'prune-child.ts');

interface FileState {
  integrity: unknown;
  /** The newest sequence appended (the newest rows are never pruned). */
  newest: number;
  /** Calls counted: stored rows plus the calls in rollups. */
  counted: number;
  rolledUp: number;
}

async function inspect(path: string): Promise<FileState> {
  const { DatabaseSync } = await loadNodeSqlite();
  const database = new DatabaseSync(path);
  try {
    const one = (sql: string) => Object.values(database.prepare(sql).get() ?? {})[0];
    const rows = Number(one('SELECT count(*) FROM sia_invocations'));
    const rolledUp = Number(one('SELECT coalesce(sum(calls), 0) FROM sia_invocation_rollups'));
    const failures = Number(one('SELECT coalesce(sum(failures), 0) FROM sia_invocation_rollup_errors'));
    const failedRows = Number(one('SELECT count(*) FROM sia_invocations WHERE success = 0'));
    const newest = Number(one('SELECT coalesce(max(started_at), 0) FROM sia_invocations'));
    // Failures too: every seventh call failed, counted once, in a row or in the error rollups.
    expect(failures + failedRows).toBe(Math.floor(newest / 7));
    return { integrity: one('PRAGMA integrity_check'), newest, counted: rows + rolledUp, rolledUp };
  } finally {
    database.close();
  }
}

describe('pruning into rollups under SIGKILL', () => {
  it(`counts every call exactly once through ${rounds} kills mid-prune`, async () => {
    const path = join(directory, 'prune.db');
    let killedAfterPrune = 0;
    let newest = 0;
    for (let round = 0; round < rounds; round += 1) {
      const child = startChild(script, [path, '300', '400']);
      await child.waitForLine('ready', { timeoutMs: 120_000 });
      // Wait for a prune to finish (an event, not a duration), then kill at a random moment of
      // the next append or prune.
      if (round % 2 === 0) {
        await child.waitForLine('pruned', { timeoutMs: 120_000 });
        killedAfterPrune += 1;
      }
      await delay(Math.floor(Math.random() * 60));
      child.process.kill('SIGKILL');
      const exit = await child.exited;
      expect(exit.signal, child.stderr()).toBe('SIGKILL');
      const state = await inspect(path);
      expect({ round, integrity: state.integrity, counted: state.counted }).toEqual({
        round,
        integrity: 'ok',
        counted: state.newest,
      });
      expect(state.newest).toBeGreaterThanOrEqual(newest);
      newest = state.newest;
    }
    // The adapter sees the same: the history of both tools holds every call.
    const storage = nodeSqliteStorage({ path });
    let calls = 0;
    for (const toolName of ['crash_a', 'crash_b'])
      for (const bucket of (await storage.invocationHistory?.({ toolName, bucketMs: 86_400_000 })) ?? [])
        calls += bucket.calls;
    await storage.close();
    expect(calls).toBe(newest);
    expect(killedAfterPrune).toBe(Math.ceil(rounds / 2));
    expect((await inspect(path)).rolledUp).toBeGreaterThan(0);
  }, 600_000);
});

/**
 * Crash safety of sqlJsStorage, for real: a child process appends and flushes continuously and
 * is killed with SIGKILL at random moments. After every kill the file must open, pass
 * `PRAGMA integrity_check`, and hold every record whose flush() had resolved (the child prints
 * `ack <n>` only then). The killed child's lock is stale; the next child must take it over.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSqlJs } from '../src/storage/sqlite/load-sql-js.ts';
import { sqlJsStorage } from '../src/storage/sqlite/sql-js-storage.ts';
import { crashRounds } from './support/crash-rounds.ts';
import { startStorageChild } from './support/storage-child-process.ts';

/**
 * Kill rounds: 15 in `npm test` (2 during start-up, 6 right after an acknowledgement, 7 at a
 * random moment); `SIA_CRASH_ROUNDS=200 npx vitest run test/storage-crash.test.ts` soaks longer.
 */
const rounds = crashRounds(15);
const directory = mkdtempSync(join(tmpdir(), 'sia-crash-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

interface FileState {
  integrity: unknown;
  /** Rows with a sequence ≤ the acknowledged one, and how many distinct sequences they hold. */
  acknowledgedRows: number;
  acknowledgedDistinct: number;
  /** Highest sequence in the file. */
  highest: number;
}

async function inspect(path: string, acknowledged: number): Promise<FileState> {
  const SQL = await loadSqlJs();
  const database = new SQL.Database(readFileSync(path));
  try {
    const integrity = database.exec('PRAGMA integrity_check')[0]?.values[0]?.[0];
    const statement = database.prepare(
      "SELECT count(*), count(DISTINCT started_at), (SELECT coalesce(max(started_at), 0) FROM sia_invocations WHERE tool_name = 'crash') FROM sia_invocations WHERE tool_name = 'crash' AND started_at <= ?",
    );
    statement.bind([acknowledged]);
    statement.step();
    const [rows, distinct, highest] = statement.get() as number[];
    statement.free();
    return {
      integrity,
      acknowledgedRows: rows as number,
      acknowledgedDistinct: distinct as number,
      highest: highest as number,
    };
  } finally {
    database.close();
  }
}

describe('sqlJsStorage under SIGKILL', () => {
  it(`keeps every acknowledged record through ${rounds} kills at random moments`, async () => {
    const path = join(directory, 'crash.sqlite');
    let acknowledged = 0;
    let killedWithAcks = 0;
    let afterAnAck = 0;
    let killedMidWrite = 0;
    let persistedBeyondAck = 0;
    const seenTemporaries = new Set<string>();
    for (let round = 0; round < rounds; round += 1) {
      const child = startStorageChild(['writer', path, '25']);
      // Every fifth round dies while starting (loading, taking over the stale lock, cleaning up);
      // of the others, every second one waits for the child's first acknowledgement (an event,
      // not a duration, so a busy machine changes nothing), then a random moment.
      const duringStartup = round > 0 && round % 5 === 0;
      if (duringStartup) await delay(Math.floor(Math.random() * 200));
      else {
        await child.waitForLine('ready', 120_000);
        if (round % 2 === 1) {
          await child.waitForLine('ack ', 120_000);
          afterAnAck += 1;
        }
        await delay(Math.floor(Math.random() * 150));
      }
      child.process.kill('SIGKILL');
      const exit = await child.exited;
      expect(exit.signal, child.stderr()).toBe('SIGKILL');

      const acks = child.lines.filter((line) => line.startsWith('ack ')).map((line) => Number(line.slice(4)));
      if (acks.length > 0) {
        const last = acks[acks.length - 1] as number;
        expect(last).toBeGreaterThan(acknowledged);
        acknowledged = last;
        killedWithAcks += 1;
      }
      // The dead child's lock stays behind, stale; the next opener must take it over.
      if (child.lines.some((line) => line.startsWith('ready')))
        expect(readFileSync(`${path}.lock`, 'utf8').split('\n')[0]).toBe(String(child.pid));
      const temporaries = readdirSync(directory).filter((name) => name.includes('.sia-tmp-'));
      if (temporaries.some((name) => !seenTemporaries.has(name))) killedMidWrite += 1;
      for (const name of temporaries) seenTemporaries.add(name);

      const state = await inspect(path, acknowledged);
      expect({ round, ...state }).toEqual({
        round,
        integrity: 'ok',
        acknowledgedRows: acknowledged,
        acknowledgedDistinct: acknowledged,
        highest: state.highest,
      });
      expect(state.highest).toBeGreaterThanOrEqual(acknowledged);
      if (state.highest > acknowledged) persistedBeyondAck += 1;
    }

    // This process takes the last stale lock over and sees the same data through the adapter.
    const storage = sqlJsStorage({ path });
    const [newest] = await storage.recentInvocations({ toolName: 'crash', limit: 1 });
    expect(newest?.startedAt).toBeGreaterThanOrEqual(acknowledged);
    expect((await storage.aggregateWindow({ toolName: 'crash', limit: acknowledged })).invocations).toBe(
      acknowledged,
    );
    await storage.close();

    // Counted, not timed: every round that waited for an acknowledgement was killed after one.
    const planned = Array.from({ length: rounds }, (_, round) => round).filter(
      (round) => !(round > 0 && round % 5 === 0) && round % 2 === 1,
    ).length;
    expect(afterAnAck).toBe(planned);
    expect(killedWithAcks).toBeGreaterThanOrEqual(afterAnAck);
    console.log(
      `[storage-crash] ${rounds} SIGKILLs: ${acknowledged} records acknowledged, all present, integrity ok every time; ` +
        `${killedWithAcks} kills after ≥ 1 ack, ${Math.floor((rounds - 1) / 5)} during start-up, ` +
        `${killedMidWrite} left a half-written temp file, ` +
        `${persistedBeyondAck} had written records whose ack was never printed`,
    );
  }, 600_000);
});

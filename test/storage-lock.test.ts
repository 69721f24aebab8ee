/**
 * Two processes on one sql.js file: the second gets StorageLockedError naming the first's pid;
 * once the first is gone (closed, or killed with SIGKILL) the second takes over.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqlJsStorage } from '../src/storage/sqlite/sql-js-storage.ts';
import { StorageLockedError } from '../src/storage/storage-errors.ts';
import { startStorageChild } from './support/storage-child-process.ts';

const directory = mkdtempSync(join(tmpdir(), 'sia-lock-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function lockedError(path: string): Promise<StorageLockedError> {
  const storage = sqlJsStorage({ path });
  const error = await storage.ready?.().catch((caught: unknown) => caught);
  await storage.close();
  expect(StorageLockedError.isInstance(error)).toBe(true);
  return error as StorageLockedError;
}

describe('two processes on one sql.js file', () => {
  it('refuses the second while the first runs, and lets it in after the first closed', async () => {
    const path = join(directory, 'closed.sqlite');
    const first = startStorageChild(['holder', path]);
    await first.waitForLine('ready');

    const error = await lockedError(path);
    expect(error.pid).toBe(first.pid);
    expect(error.lockPath).toBe(`${path}.lock`);
    expect(error.message).toContain(`process ${first.pid}`);
    expect(error.message).toContain(`${path}.lock`);

    // A third process is refused too, with the same owner.
    const third = startStorageChild(['holder', path]);
    expect(await third.waitForLine('locked')).toBe(`locked ${first.pid}`);
    expect((await third.exited).code).toBe(3);

    first.process.stdin?.write('close\n');
    await first.waitForLine('closed');
    expect((await first.exited).code).toBe(0);
    expect(existsSync(`${path}.lock`)).toBe(false);

    const second = sqlJsStorage({ path });
    await second.ready?.();
    expect(readFileSync(`${path}.lock`, 'utf8').split('\n')[0]).toBe(String(process.pid));
    await second.close();
  });

  it('lets the second take over after the first was killed with SIGKILL', async () => {
    const path = join(directory, 'killed.sqlite');
    const first = startStorageChild(['holder', path]);
    await first.waitForLine('ready');
    expect((await lockedError(path)).pid).toBe(first.pid);

    first.process.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(readFileSync(`${path}.lock`, 'utf8').split('\n')[0]).toBe(String(first.pid));

    const second = sqlJsStorage({ path });
    await second.ready?.();
    expect(readFileSync(`${path}.lock`, 'utf8').split('\n')[0]).toBe(String(process.pid));
    await second.appendInvocations([
      { toolName: 't', version: 1, startedAt: 1, latencyMs: 1, success: true, inputHash: 'h' },
    ]);
    await second.close();

    // And a new process can take it from us the same way.
    const next = startStorageChild(['holder', path]);
    await next.waitForLine('ready');
    next.process.stdin?.write('close\n');
    expect((await next.exited).code).toBe(0);
  });

  it('lets exactly one of several processes take over the same stale lock', async () => {
    for (let round = 0; round < 2; round += 1) {
      const path = join(directory, `race-${round}.sqlite`);
      const dead = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' }).pid as number;
      writeFileSync(`${path}.lock`, `${dead}\nabcdef\n`);
      const racers = Array.from({ length: 4 }, () => startStorageChild(['holder', path]));
      const outcomes = await Promise.all(
        racers.map((racer) => Promise.race([racer.waitForLine('ready'), racer.waitForLine('locked')])),
      );
      const winners = racers.filter((_, index) => outcomes[index]?.startsWith('ready'));
      expect(winners).toHaveLength(1);
      const winner = winners[0] as (typeof racers)[number];
      for (const [index, outcome] of outcomes.entries())
        if (racers[index] !== winner) expect(outcome).toBe(`locked ${winner.pid}`);
      expect(readFileSync(`${path}.lock`, 'utf8').split('\n')[0]).toBe(String(winner.pid));
      winner.process.stdin?.write('close\n');
      await Promise.all(racers.map((racer) => racer.exited));
      expect(existsSync(`${path}.lock`)).toBe(false);
    }
  });
});

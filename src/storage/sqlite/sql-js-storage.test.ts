import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { InvalidOptionError } from '../../core/invalid-option-error.ts';
import { runStorageContract } from '../../testing/index.ts';
import type { InvocationRecord, NewToolVersion } from '../records.ts';
import { StorageClosedError, StorageCorruptError, StorageLockedError } from '../storage-errors.ts';
import { loadSqlJs } from './load-sql-js.ts';
import { sqlJsStorage } from './sql-js-storage.ts';

const directory = mkdtempSync(join(tmpdir(), 'sia-sqljs-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
const freshPath = (extension = 'sqlite') => {
  files += 1;
  return join(directory, `db-${files}.${extension}`);
};

runStorageContract('sqlJsStorage() in memory', () => sqlJsStorage());
runStorageContract('sqlJsStorage({ path })', () => sqlJsStorage({ path: freshPath(), flushIntervalMs: 0 }));

const firstVersion: NewToolVersion = {
  source: 'function run(input) { return input; }',
  inputSchema: { type: 'object' },
  capabilities: { network: ['api.example.com'] },
  parentVersion: null,
  reason: 'first',
  author: 'human',
};

function record(startedAt: number, overrides: Partial<InvocationRecord> = {}): InvocationRecord {
  return {
    toolName: 'add',
    version: 1,
    startedAt,
    latencyMs: 1,
    success: true,
    inputHash: `h${startedAt}`,
    ...overrides,
  };
}

/** Reads the file as it is on disk, independently of the adapter (no lock taken). */
async function onDisk(path: string): Promise<{ integrity: unknown; invocations: number }> {
  const SQL = await loadSqlJs();
  const database = new SQL.Database(readFileSync(path));
  try {
    const integrity = database.exec('PRAGMA integrity_check')[0]?.values[0]?.[0];
    const invocations = database.exec('SELECT count(*) FROM sia_invocations')[0]?.values[0]?.[0] as number;
    return { integrity, invocations };
  } finally {
    database.close();
  }
}

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' });
  expect(child.status).toBe(0);
  return child.pid as number;
}

describe('sqlJsStorage({ path })', () => {
  it('keeps everything across close and reopen, including counters', async () => {
    const path = freshPath();
    const first = sqlJsStorage({ path });
    await first.createTool({ name: 'add', description: 'Adds', firstVersion });
    await first.addVersion('add', { ...firstVersion, parentVersion: 1, reason: 'faster' });
    await first.compareAndSetActive('add', 1, 2);
    await first.setPinned('add', true);
    await first.recordRewrite('add', 1234);
    await first.appendInvocations([
      record(1),
      record(2, { success: false, errorMessage: 'boom', input: { a: [1] } }),
    ]);
    const testCase = await first.addTestCase('add', {
      input: { a: 1 },
      expect: 2,
      description: 'one',
      origin: 'manual',
    });
    const entry = await first.appendAudit({
      type: 'tool:promoted',
      toolName: 'add',
      actor: 'agent',
      reason: 'better',
    });
    await first.close();
    expect(existsSync(`${path}.lock`)).toBe(false);

    const second = sqlJsStorage({ path });
    try {
      expect(await second.getTool('add')).toMatchObject({
        activeVersion: 2,
        pinned: true,
        counters: { rewrites: 1, lastRewriteAt: 1234 },
      });
      expect((await second.listVersions('add')).map((version) => version.reason)).toEqual([
        'first',
        'faster',
      ]);
      const recent = await second.recentInvocations({ toolName: 'add', limit: 10 });
      expect(recent.map((invocation) => invocation.startedAt)).toEqual([2, 1]);
      expect(recent[0]).toMatchObject({ errorMessage: 'boom', input: { a: [1] } });
      expect(await second.listTestCases('add')).toEqual([testCase]);
      expect(await second.listAudit()).toEqual([entry]);
    } finally {
      await second.close();
    }
  });

  it('writes nothing to disk before flush() when the interval is off, and everything after', async () => {
    const path = freshPath();
    const storage = sqlJsStorage({ path, flushIntervalMs: 0 });
    await storage.ready?.();
    // The file exists from the start, with its schema.
    expect(await onDisk(path)).toEqual({ integrity: 'ok', invocations: 0 });
    await storage.appendInvocations([record(1), record(2), record(3)]);
    expect((await onDisk(path)).invocations).toBe(0);
    await storage.flush?.();
    expect(await onDisk(path)).toEqual({ integrity: 'ok', invocations: 3 });
    await storage.appendInvocations([record(4)]);
    await storage.close();
    expect(await onDisk(path)).toEqual({ integrity: 'ok', invocations: 4 });
    expect(readdirSync(directory).filter((name) => name.includes('.sia-tmp-'))).toEqual([]);
  });

  it('creates missing folders of its path', async () => {
    const path = join(freshPath('dir'), 'nested', 'agent.sqlite');
    const storage = sqlJsStorage({ path });
    await storage.ready?.();
    await storage.close();
    expect(await onDisk(path)).toEqual({ integrity: 'ok', invocations: 0 });
  });

  it('writes unsaved changes on the interval', async () => {
    const path = freshPath();
    const storage = sqlJsStorage({ path, flushIntervalMs: 10 });
    try {
      await storage.appendInvocations([record(1), record(2)]);
      await vi.waitFor(async () => expect((await onDisk(path)).invocations).toBe(2), { timeout: 5000 });
    } finally {
      await storage.close();
    }
  });

  it('keeps changes unsaved when a background write fails, reports it, and retries on the next tick', async () => {
    const folder = freshPath('dir');
    mkdirSync(folder);
    const path = join(folder, 'agent.sqlite');
    const errors: unknown[] = [];
    const storage = sqlJsStorage({ path, flushIntervalMs: 10, onError: (error) => errors.push(error) });
    await storage.ready?.();
    rmSync(folder, { recursive: true });
    await storage.appendInvocations([record(1)]);
    await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    expect((errors[0] as NodeJS.ErrnoException).code).toBe('ENOENT');
    await expect(storage.flush?.()).rejects.toMatchObject({ code: 'ENOENT' });

    mkdirSync(folder);
    await vi.waitFor(async () => expect((await onDisk(path)).invocations).toBe(1), { timeout: 5000 });
    await storage.close();
  });

  it('rejects close() when its final write fails, keeping the data so a second close() can save it', async () => {
    const folder = freshPath('dir');
    mkdirSync(folder);
    const path = join(folder, 'agent.sqlite');
    const storage = sqlJsStorage({ path, flushIntervalMs: 0 });
    await storage.appendInvocations([record(1), record(2)]);
    rmSync(folder, { recursive: true });
    await expect(storage.close()).rejects.toMatchObject({ code: 'ENOENT' });
    const closed = await storage.listTools().catch((error: unknown) => error);
    expect(StorageClosedError.isInstance(closed)).toBe(true);
    mkdirSync(folder);
    await storage.close();
    expect((await onDisk(path)).invocations).toBe(2);
  });

  it('refuses a second adapter on the same file with StorageLockedError naming the pid, until the first closes', async () => {
    const path = freshPath();
    const first = sqlJsStorage({ path });
    await first.ready?.();
    expect(readFileSync(`${path}.lock`, 'utf8').split('\n')[0]).toBe(String(process.pid));

    const second = sqlJsStorage({ path });
    const error = await second.ready?.().catch((caught: unknown) => caught);
    expect(StorageLockedError.isInstance(error)).toBe(true);
    const locked = error as StorageLockedError;
    expect(locked.pid).toBe(process.pid);
    expect(locked.lockPath).toBe(`${path}.lock`);
    expect(locked.message).toContain(`this process (pid ${process.pid})`);
    expect(locked.message).toContain(`${path}.lock`);
    // Every call reports it, the lock is not taken from its owner.
    await expect(second.listTools()).rejects.toMatchObject({ code: 'STORAGE_LOCKED' });

    await first.appendInvocations([record(1)]);
    await first.close();
    await second.ready?.();
    expect((await second.recentInvocations({ toolName: 'add', limit: 5 })).length).toBe(1);
    await second.close();
  });

  it('takes over a stale lock whose pid is dead, and an empty lock left by a crash during creation', async () => {
    for (const content of [`${deadPid()}\nabcdef\n`, '']) {
      const path = freshPath();
      writeFileSync(`${path}.lock`, content);
      const storage = sqlJsStorage({ path });
      await storage.ready?.();
      expect(readFileSync(`${path}.lock`, 'utf8').split('\n')[0]).toBe(String(process.pid));
      await storage.close();
      expect(existsSync(`${path}.lock`)).toBe(false);
    }
  });

  it('stops writing the file once another process has taken its lock over', async () => {
    const path = freshPath();
    const storage = sqlJsStorage({ path, flushIntervalMs: 0 });
    await storage.appendInvocations([record(1)]);
    await storage.flush?.();
    const ours = readFileSync(`${path}.lock`, 'utf8');
    writeFileSync(`${path}.lock`, `${process.ppid}\nfeedfacefeedface\n`);
    await storage.appendInvocations([record(2)]);
    const error = await storage.flush?.().catch((caught: unknown) => caught);
    expect(StorageLockedError.isInstance(error)).toBe(true);
    expect((error as StorageLockedError).pid).toBe(process.ppid);
    expect((await onDisk(path)).invocations).toBe(1); // the other owner's file is left alone
    writeFileSync(`${path}.lock`, ours);
    await storage.close();
    expect((await onDisk(path)).invocations).toBe(2);
  });

  it('removes temporary files that a crashed writer left behind', async () => {
    const path = freshPath();
    const leftover = `${path}.sia-tmp-99999-deadbeef`;
    writeFileSync(leftover, 'half a database');
    writeFileSync(join(directory, 'unrelated.sia-tmp-1-2'), 'not ours');
    const storage = sqlJsStorage({ path });
    await storage.ready?.();
    expect(existsSync(leftover)).toBe(false);
    expect(existsSync(join(directory, 'unrelated.sia-tmp-1-2'))).toBe(true);
    await storage.close();
  });

  it('rejects a file that is not a SQLite database, and releases the lock', async () => {
    const path = freshPath();
    writeFileSync(path, 'this is not a database, just some text that is long enough to have a header');
    const storage = sqlJsStorage({ path });
    const error = await storage.ready?.().catch((caught: unknown) => caught);
    expect(StorageCorruptError.isInstance(error)).toBe(true);
    expect((error as StorageCorruptError).message).toContain('is not a SQLite database');
    expect(existsSync(`${path}.lock`)).toBe(false);
    expect(readFileSync(path, 'utf8')).toContain('this is not a database');
    await storage.close();
  });

  it('rejects a file written by a newer schema instead of touching it', async () => {
    const path = freshPath();
    const SQL = await loadSqlJs();
    const newer = new SQL.Database();
    newer.exec(
      "CREATE TABLE sia_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO sia_meta VALUES ('schema_version', '99')",
    );
    const bytes = newer.export();
    newer.close();
    writeFileSync(path, bytes);
    const storage = sqlJsStorage({ path });
    const error = await storage.ready?.().catch((caught: unknown) => caught);
    expect(StorageCorruptError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('schema version 99');
    expect(readFileSync(path)).toEqual(Buffer.from(bytes));
    await storage.close();
  });

  it('validates its options at construction', () => {
    for (const options of [
      { path: '' },
      { flushIntervalMs: -1 },
      { flushIntervalMs: 1.5 },
      { onError: 'x' },
    ]) {
      const error = (() => {
        try {
          sqlJsStorage(options as never);
        } catch (caught) {
          return caught;
        }
      })();
      expect(InvalidOptionError.isInstance(error)).toBe(true);
      expect((error as InvalidOptionError).option).toBe(Object.keys(options)[0]);
    }
  });
});

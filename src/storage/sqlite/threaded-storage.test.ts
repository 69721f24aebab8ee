import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { runToEnd } from '../../../test/support/child-process.ts';
import { SiaError } from '../../core/sia-error.ts';
import { runStorageContract } from '../../testing/index.ts';
import type { InvocationRecord, JsonValue, NewToolVersion } from '../records.ts';
import {
  StorageCorruptError,
  StorageInputError,
  StorageLockedError,
  ToolExistsError,
  VersionNotFoundError,
} from '../storage-errors.ts';
import { nodeSqliteStorage } from './node-sqlite-storage.ts';
import { sqlJsStorage } from './sql-js-storage.ts';
import { StorageThreadError } from './storage-thread-error.ts';
import { StorageThreadHost } from './storage-thread-host.ts';

const directory = mkdtempSync(join(tmpdir(), 'sia-thread-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;
const freshPath = (extension = 'sqlite') => {
  files += 1;
  return join(directory, `db-${files}.${extension}`);
};

// The same contract on the calling thread, which `thread: false` keeps.
runStorageContract('sqlJsStorage({ thread: false })', () => sqlJsStorage({ thread: false }));
runStorageContract('nodeSqliteStorage({ thread: false })', () =>
  nodeSqliteStorage({ path: freshPath('db'), thread: false }),
);

const firstVersion: NewToolVersion = {
  source: 'function run(input) { return input; }',
  inputSchema: { type: 'object' },
  capabilities: { network: [] },
  parentVersion: null,
  reason: 'first',
  author: 'human',
};

function records(count: number, from = 0): InvocationRecord[] {
  return Array.from({ length: count }, (_, index) => ({
    toolName: `tool_${index % 50}`,
    version: 1 + (index % 4),
    startedAt: 1_700_000_000_000 + from + index,
    latencyMs: index % 300,
    success: index % 9 !== 0,
    inputHash: `input-${from + index}`,
  }));
}

describe.each([
  ['sql.js', () => sqlJsStorage()],
  ['node:sqlite', () => nodeSqliteStorage({ path: freshPath('db') })],
])('%s in the storage thread', (_engine, create) => {
  it('throws errors of their own class, with their code and fields, across the thread', async () => {
    const storage = create();
    try {
      await storage.createTool({ name: 'add', description: 'Adds', firstVersion });
      const exists = await storage
        .createTool({ name: 'add', description: 'Adds', firstVersion })
        .catch((error: unknown) => error);
      expect(exists).toBeInstanceOf(ToolExistsError);
      expect(ToolExistsError.isInstance(exists)).toBe(true);
      expect(SiaError.isInstance(exists)).toBe(true);
      expect(exists).toMatchObject({ code: 'TOOL_EXISTS', toolName: 'add', name: 'ToolExistsError' });

      const missing = await storage
        .compareAndSetActive('add', 1, 7, undefined)
        .catch((error: unknown) => error);
      expect(VersionNotFoundError.isInstance(missing)).toBe(true);
      expect(missing).toMatchObject({ code: 'VERSION_NOT_FOUND', version: 7 });

      const invalid = await storage
        .appendInvocations([{ ...(records(1)[0] as InvocationRecord), latencyMs: Number.NaN }])
        .catch((error: unknown) => error);
      expect(StorageInputError.isInstance(invalid)).toBe(true);
      expect(invalid).toMatchObject({ code: 'STORAGE_INPUT', field: 'records[0].latencyMs' });
      expect(String((invalid as Error).message)).toContain('latencyMs');
    } finally {
      await storage.close();
    }
  });

  it('calls an audit factory on the app thread, inside the transaction: a throw writes nothing', async () => {
    const storage = create();
    try {
      await storage.createTool({ name: 'add', description: 'Adds', firstVersion });
      const seen: Array<{ version: number; onMainThread: boolean }> = [];
      const added = await storage.addVersion(
        'add',
        { ...firstVersion, parentVersion: 1, reason: 'faster' },
        (stored) => {
          seen.push({ version: stored.version, onMainThread: isMainThread });
          return {
            type: 'version-added',
            actor: 'test',
            reason: `v${stored.version}`,
            toVersion: stored.version,
          };
        },
      );
      expect(added.version).toBe(2);
      expect(seen).toEqual([{ version: 2, onMainThread: isMainThread }]);
      expect((await storage.listAudit({ toolName: 'add' })).map((entry) => entry.reason)).toEqual(['v2']);

      class AuditRefused extends Error {}
      const refused = await storage
        .addVersion('add', { ...firstVersion, parentVersion: 2, reason: 'refused' }, () => {
          throw new AuditRefused('no audit for you');
        })
        .catch((error: unknown) => error);
      expect((refused as Error).message).toBe('no audit for you');
      const uncloneable = await storage
        .addVersion('add', { ...firstVersion, parentVersion: 2, reason: 'odd' }, (stored) => ({
          type: 'version-added',
          actor: 'test',
          reason: 'with a function',
          toVersion: stored.version,
          // What a careless factory could return; the type forbids it, the thread must survive it.
          evidence: { callback: () => 1 } as unknown as JsonValue,
        }))
        .catch((error: unknown) => error);
      expect(uncloneable).toBeInstanceOf(Error);
      // Neither attempt left a version or an audit entry behind; the next number is still 3.
      expect((await storage.listVersions('add')).map((version) => version.version)).toEqual([1, 2]);
      expect(await storage.listAudit({ toolName: 'add' })).toHaveLength(1);
      const next = await storage.addVersion('add', { ...firstVersion, parentVersion: 2, reason: 'third' });
      expect(next.version).toBe(3);
    } finally {
      await storage.close();
    }
  });
});

describe('sqlJsStorage({ path }) in the storage thread', () => {
  it('rebuilds open errors with their class: a file that is not SQLite, a locked file', async () => {
    const garbage = freshPath();
    writeFileSync(garbage, 'not a database at all, just text that is long enough to look like a file');
    const corrupt = await sqlJsStorage({ path: garbage })
      .ready?.()
      .catch((error: unknown) => error);
    expect(StorageCorruptError.isInstance(corrupt)).toBe(true);
    expect(corrupt).toMatchObject({ code: 'STORAGE_CORRUPT', path: garbage });

    const path = freshPath();
    const first = sqlJsStorage({ path });
    await first.ready?.();
    try {
      const locked = await sqlJsStorage({ path })
        .ready?.()
        .catch((error: unknown) => error);
      expect(locked).toBeInstanceOf(StorageLockedError);
      expect(locked).toMatchObject({ code: 'STORAGE_LOCKED', pid: process.pid });
    } finally {
      await first.close();
    }
  });

  it('keeps the event loop turning while a large database is exported', async () => {
    // Count this thread's event-loop turns between flush() and the moment the file write
    // starts (its temporary file appears), that is, while the 100,000-row export runs in the
    // storage thread. On the calling thread (`thread: false`) the export is one synchronous
    // call, so only the turns of opening the temporary file pass (typically 1–3).
    const path = freshPath();
    const folder = join(path, '..');
    const prefix = `${path.slice(folder.length + 1)}.sia-tmp-`;
    const storage = sqlJsStorage({ path, flushIntervalMs: 0 });
    try {
      for (let batch = 0; batch < 20; batch += 1)
        await storage.appendInvocations(records(5000, batch * 5000));
      let turnsBeforeWrite = 0;
      let writing = false;
      let flushed = false;
      const turn = () => {
        writing ||= readdirSync(folder).some((name) => name.startsWith(prefix));
        if (!writing) turnsBeforeWrite += 1;
        if (!flushed) setImmediate(turn);
      };
      setImmediate(turn);
      await storage.flush?.();
      flushed = true;
      expect(turnsBeforeWrite).toBeGreaterThanOrEqual(100);
    } finally {
      await storage.close();
    }
  });
});

describe('a storage thread that dies', () => {
  it('fails the call in flight and every later one with StorageThreadError, and reports it', async () => {
    const host = new StorageThreadHost(
      new URL('../../../test/support/dying-storage-thread.ts', import.meta.url),
    );
    const reported: unknown[] = [];
    const handle = await host.open(
      { kind: 'sql.js', options: { path: undefined, readOnly: false, flushIntervalMs: 0 } },
      (error) => reported.push(error),
    );
    const inFlight = await host.call(handle, 'listTools', []).catch((error: unknown) => error);
    expect(StorageThreadError.isInstance(inFlight)).toBe(true);
    expect(inFlight).toMatchObject({ code: 'STORAGE_THREAD_FAILED' });
    expect((inFlight as Error).message).toContain('exited with code 3');
    const later = await host.call(handle, 'listTools', []).catch((error: unknown) => error);
    expect(later).toBe(inFlight);
    expect(reported).toEqual([inFlight]);
    expect(host.usable).toBe(false);
    await expect(host.close(handle)).resolves.toBeUndefined();
  });
});

describe('the process with a storage thread', () => {
  const script = (body: string) => {
    const file = freshPath('ts');
    const storageModule = new URL('./sql-js-storage.ts', import.meta.url).pathname;
    writeFileSync(file, `import { sqlJsStorage } from ${JSON.stringify(storageModule)};\n${body}\n`);
    return file;
  };

  it('stays alive while a call is in flight and exits when idle, even without close()', async () => {
    const path = freshPath();
    const file = script(`
const storage = sqlJsStorage({ path: ${JSON.stringify(path)} });
await storage.appendInvocations([{ toolName: 'a', version: 1, startedAt: 1, latencyMs: 2, success: true, inputHash: 'h' }]);
const window = await storage.aggregateWindow({ toolName: 'a', version: 1, limit: 20 });
await storage.flush();
process.stdout.write(JSON.stringify({ invocations: window.invocations }));
// no close(): the idle thread must not keep the process alive
`);
    const run = await runToEnd(process.execPath, ['--no-warnings', file], { cwd: directory });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ invocations: 1 });
  });
});

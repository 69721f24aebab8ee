/**
 * Failure injection: every registry change (create, promote, rollback, pin, unpin) is one
 * transaction with its audit entry (and, for create, its example cases). A write that fails
 * INSIDE that transaction (a trigger that raises on the audit or test-case insert, in real
 * sql.js, node:sqlite and PostgreSQL databases; a poisoned entry in the memory store) must
 * leave nothing behind, surface the error, and let the same call succeed once the fault is gone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { createTool } from '../../test/support/create-tool.ts';
import { databaseUrl, noteSkipped, suiteDatabase } from '../../test/support/postgres-database.ts';
import { REGISTRY_AUDIT_TYPES } from '../storage/audit-evidence.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { postgresStorage } from '../storage/postgres/postgres-storage.ts';
import type { JsonValue, ToolAuditEntry } from '../storage/records.ts';
import { loadSqlJs } from '../storage/sqlite/load-sql-js.ts';
import { migrate } from '../storage/sqlite/migrations.ts';
import { nodeSqliteStorage } from '../storage/sqlite/node-sqlite-storage.ts';
import { sqlJsDriver } from '../storage/sqlite/sql-js-driver.ts';
import { sqliteAdapter } from '../storage/sqlite/sqlite-adapter.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { PromotionConflictError, ToolPinnedError } from './registry-errors.ts';
import { ToolRegistry } from './tool-registry.ts';

/** Which insert fails while armed. */
type Target = 'audit' | 'test-cases';

interface Faulty {
  readonly storage: StorageAdapter;
  /** From now on, every insert into `target` fails inside its transaction. */
  arm(target: Target): Promise<void>;
  /** Removes the fault. */
  disarm(): Promise<void>;
}

const directory = mkdtempSync(join(tmpdir(), 'sia-transactions-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const definition = {
  name: 'add_numbers',
  description: 'Adds a and b',
  inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
  source: 'function add_numbers({ a, b }) { return a + b; }',
  examples: [
    { input: { a: 1, b: 2 }, output: 3 },
    { input: { a: 2, b: 2 }, output: 4 },
  ],
  sideEffects: true,
};

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail while the fault was armed');
}

function runTransactionFailures(name: string, setup: () => Promise<Faulty>): void {
  describe(`ToolRegistry on ${name}: a write failing inside the transaction`, () => {
    it('leaves no half-created tool, and the creation can be retried (no TOOL_EXISTS)', async () => {
      const { storage, arm, disarm } = await setup();
      try {
        const registry = new ToolRegistry({ storage, actor: 'test' });
        for (const target of ['audit', 'test-cases'] as const) {
          if (name === 'memory' && target === 'test-cases') continue;
          await arm(target);
          const error = await failure(createTool(registry, definition));
          expect(error.message).toMatch(/injected|JSON|BigInt/i);
          expect(await storage.getTool('add_numbers')).toBeUndefined();
          expect(await storage.listVersions('add_numbers')).toEqual([]);
          expect(await storage.listTestCases('add_numbers')).toEqual([]);
          expect(await storage.listAudit()).toEqual([]);
          await disarm();
        }
        const created = await createTool(registry, definition);
        expect(created.testCases).toHaveLength(2);
        expect(await storage.listTestCases('add_numbers')).toEqual(created.testCases);
        // sideEffects lives in the creation's entry: it is there, so it survives a restart.
        expect(await new ToolRegistry({ storage }).hasSideEffects('add_numbers')).toBe(true);
        expect((await registry.history('add_numbers')).map((entry) => entry.type)).toEqual([
          REGISTRY_AUDIT_TYPES.created,
        ]);
      } finally {
        await storage.close();
      }
    });

    it('leaves promotion, rollback, pin and unpin undone, and each works when retried', async () => {
      const { storage, arm, disarm } = await setup();
      try {
        const registry = new ToolRegistry({ storage, actor: 'test' });
        await createTool(registry, definition);
        await registry.addCandidate('add_numbers', {
          source: 'function add_numbers({ a, b }) { return Number(a) + Number(b); }',
          parentVersion: 1,
          reason: 'coerce',
          author: 'human',
        });
        const entries = async () => (await storage.listAudit({ toolName: 'add_numbers' })).length;
        const state = async () => {
          const tool = await registry.tool('add_numbers');
          return { active: tool.activeVersion, pinned: tool.pinned, entries: await entries() };
        };
        const steps: Array<{ label: string; run: () => Promise<unknown>; after: object }> = [
          {
            label: 'promote',
            run: () => registry.promote('add_numbers', 2, { expectedActive: 1, reason: 'gate passed' }),
            after: { active: 2, pinned: false },
          },
          {
            label: 'rollback',
            run: () => registry.rollback('add_numbers', { reason: 'did worse', expectedActive: 2 }),
            after: { active: 1, pinned: false },
          },
          { label: 'pin', run: () => registry.pin('add_numbers'), after: { active: 1, pinned: true } },
          { label: 'unpin', run: () => registry.unpin('add_numbers'), after: { active: 1, pinned: false } },
        ];
        for (const step of steps) {
          const before = await state();
          await arm('audit');
          const error = await failure(step.run());
          expect(PromotionConflictError.isInstance(error), step.label).toBe(false);
          expect(await state(), step.label).toEqual(before);
          await disarm();
          await step.run();
          expect(await state(), step.label).toEqual({ ...step.after, entries: before.entries + 1 });
        }
        expect((await registry.history('add_numbers')).map((entry) => entry.type)).toEqual([
          REGISTRY_AUDIT_TYPES.created,
          REGISTRY_AUDIT_TYPES.candidateAdded,
          REGISTRY_AUDIT_TYPES.promoted,
          REGISTRY_AUDIT_TYPES.rolledBack,
          REGISTRY_AUDIT_TYPES.pinned,
          REGISTRY_AUDIT_TYPES.unpinned,
        ]);
      } finally {
        await storage.close();
      }
    });

    it('leaves no candidate version without its audit entry, and adding it can be retried', async () => {
      const { storage, arm, disarm } = await setup();
      try {
        const registry = new ToolRegistry({ storage, actor: 'test' });
        await createTool(registry, definition);
        const candidate = {
          source: 'function add_numbers({ a, b }) { return Number(a) + Number(b); }',
          parentVersion: 1,
          reason: 'coerce',
          author: 'human',
        } as const;
        await arm('audit');
        const error = await failure(registry.addCandidate('add_numbers', candidate));
        expect(error.message).toMatch(/injected|JSON|BigInt/i);
        expect((await storage.listVersions('add_numbers')).map((version) => version.version)).toEqual([1]);
        expect(await storage.listAudit({ toolName: 'add_numbers' })).toHaveLength(1);
        await disarm();
        const added = await registry.addCandidate('add_numbers', candidate);
        expect(added.version).toBe(2);
        const [entry] = await registry.history('add_numbers', { type: REGISTRY_AUDIT_TYPES.candidateAdded });
        expect(entry).toMatchObject({ fromVersion: 1, toVersion: 2, actor: 'test' });
        expect((entry?.evidence as { diff?: string } | undefined)?.diff).toContain('+++ add_numbers@v2');
      } finally {
        await storage.close();
      }
    });

    it('refuses an automatic promotion or rollback when a pin lands just before the swap', async () => {
      const { storage } = await setup();
      try {
        // Another process pins the tool after this registry checked the pin, before its swap.
        const person = new ToolRegistry({ storage, actor: 'human:alice' });
        let pinBeforeSwap = false;
        const racing: StorageAdapter = {
          ...storage,
          compareAndSetActive: async (...args) => {
            if (pinBeforeSwap) {
              pinBeforeSwap = false;
              await person.pin('add_numbers');
            }
            return storage.compareAndSetActive(...args);
          },
        };
        const registry = new ToolRegistry({ storage: racing, actor: 'agent' });
        await createTool(registry, definition);
        await registry.addCandidate('add_numbers', {
          source: 'function add_numbers({ a, b }) { return Number(a) + Number(b); }',
          parentVersion: 1,
          reason: 'coerce',
          author: 'llm-rewriter',
        });
        const types = async () => (await registry.history('add_numbers')).map((entry) => entry.type);

        pinBeforeSwap = true;
        const promotion = await failure(
          registry.promote('add_numbers', 2, { expectedActive: 1, reason: 'gate passed' }),
        );
        expect(ToolPinnedError.isInstance(promotion)).toBe(true);
        expect((promotion as ToolPinnedError).operation).toBe('promote');
        expect(await registry.tool('add_numbers')).toMatchObject({ activeVersion: 1, pinned: true });
        expect(await types()).toEqual([
          REGISTRY_AUDIT_TYPES.created,
          REGISTRY_AUDIT_TYPES.candidateAdded,
          REGISTRY_AUDIT_TYPES.pinned,
        ]);

        // A change made by a person still goes through on a pinned tool.
        await registry.promote('add_numbers', 2, { expectedActive: 1, reason: 'by hand', automatic: false });
        await person.unpin('add_numbers');
        pinBeforeSwap = true;
        const rollback = await failure(
          registry.rollback('add_numbers', { reason: 'did worse', expectedActive: 2 }),
        );
        expect(ToolPinnedError.isInstance(rollback)).toBe(true);
        expect((rollback as ToolPinnedError).operation).toBe('rollback');
        expect(await registry.tool('add_numbers')).toMatchObject({ activeVersion: 2, pinned: true });
        expect((await types()).slice(3)).toEqual([
          REGISTRY_AUDIT_TYPES.promoted,
          REGISTRY_AUDIT_TYPES.unpinned,
          REGISTRY_AUDIT_TYPES.pinned,
        ]);
      } finally {
        await storage.close();
      }
    });
  });
}

/** The memory store can only fail while preparing what it writes: poison the entry it is given. */
runTransactionFailures('memory', async () => {
  const inner = memoryStorage();
  let armed = false;
  const poison = (entry: ToolAuditEntry | undefined): ToolAuditEntry | undefined =>
    armed && entry ? { ...entry, evidence: { injected: 1n } as unknown as JsonValue } : entry;
  const storage: StorageAdapter = {
    ...inner,
    createTool: (tool) => inner.createTool({ ...tool, audit: poison(tool.audit) }),
    addVersion: (toolName, version, audit) =>
      inner.addVersion(toolName, version, audit && ((stored) => poison(audit(stored)) as ToolAuditEntry)),
    compareAndSetActive: (toolName, expected, next, audit, options) =>
      inner.compareAndSetActive(toolName, expected, next, poison(audit), options),
    setPinned: (toolName, pinned, audit) => inner.setPinned(toolName, pinned, poison(audit)),
  };
  return {
    storage,
    arm: async () => {
      armed = true;
    },
    disarm: async () => {
      armed = false;
    },
  };
});

const sqliteTables: Record<Target, string> = { audit: 'sia_audit', 'test-cases': 'sia_test_cases' };
const sqliteTrigger = (target: Target) =>
  `CREATE TRIGGER sia_injected_failure BEFORE INSERT ON ${sqliteTables[target]} BEGIN SELECT RAISE(ABORT, 'injected failure'); END`;

/** The SQL of sqlJsStorage (sqliteAdapter) on a real sql.js database the test can add a trigger to. */
runTransactionFailures('sql.js', async () => {
  const SQL = await loadSqlJs();
  const driver = sqlJsDriver(new SQL.Database());
  migrate(driver, ':memory:');
  const storage = sqliteAdapter({
    name: 'sql.js',
    driver: async () => driver,
    ready: async () => undefined,
    close: async () => undefined,
  });
  return {
    storage,
    arm: async (target) => driver.exec(sqliteTrigger(target)),
    disarm: async () => driver.exec('DROP TRIGGER sia_injected_failure'),
  };
});

/** nodeSqliteStorage on a file; a second connection to the file adds and drops the trigger. */
runTransactionFailures('node:sqlite', async () => {
  const path = join(directory, `${Math.random().toString(36).slice(2)}.db`);
  const storage = nodeSqliteStorage({ path });
  await storage.ready?.();
  const admin = new DatabaseSync(path);
  const close = storage.close;
  return {
    storage: {
      ...storage,
      close: async () => {
        admin.close();
        await close();
      },
    },
    arm: async (target) => admin.exec(sqliteTrigger(target)),
    disarm: async () => admin.exec('DROP TRIGGER sia_injected_failure'),
  };
});

noteSkipped('PostgreSQL transaction failure tests');
describe.skipIf(databaseUrl === undefined)('on PostgreSQL', () => {
  const database = suiteDatabase();
  const tables: Record<Target, string> = { audit: 'audit', 'test-cases': 'test_cases' };
  runTransactionFailures('PostgreSQL', async () => {
    const schema = database.schema();
    const storage = postgresStorage({ connectionString: databaseUrl as string }, { schema });
    await storage.ready?.();
    await database.admin.query(
      `CREATE FUNCTION "${schema}".injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
    );
    let table: string | undefined;
    return {
      storage,
      arm: async (target) => {
        table = tables[target];
        await database.admin.query(
          `CREATE TRIGGER injected_failure BEFORE INSERT ON "${schema}".${table} FOR EACH ROW EXECUTE FUNCTION "${schema}".injected_failure()`,
        );
      },
      disarm: async () => {
        await database.admin.query(`DROP TRIGGER injected_failure ON "${schema}".${table}`);
      },
    };
  });
});

describe('ToolRegistry on an adapter written for the older contract', () => {
  it('still records every change (written separately) when the adapter ignores cases and entries', async () => {
    const inner = memoryStorage();
    const storage: StorageAdapter = {
      ...inner,
      createTool: async ({ name, description, firstVersion }) => {
        const { tool, version } = await inner.createTool({ name, description, firstVersion });
        return { tool, version } as Awaited<ReturnType<StorageAdapter['createTool']>>;
      },
      addVersion: (toolName, version) => inner.addVersion(toolName, version),
      compareAndSetActive: async (toolName, expected, next) => {
        const result = await inner.compareAndSetActive(toolName, expected, next);
        return result.swapped ? { swapped: true } : result;
      },
      setPinned: async (toolName, pinned) => {
        await inner.setPinned(toolName, pinned);
        return undefined;
      },
    };
    const registry = new ToolRegistry({ storage, actor: 'test' });
    const created = await createTool(registry, definition);
    expect(created.testCases).toHaveLength(2);
    await registry.addCandidate('add_numbers', {
      source: 'function add_numbers() { return 0; }',
      parentVersion: 1,
      reason: 'r',
      author: 'human',
    });
    const promoted = await registry.promote('add_numbers', 2, { expectedActive: 1, reason: 'gate passed' });
    expect(promoted.audit).toMatchObject({
      type: REGISTRY_AUDIT_TYPES.promoted,
      toolName: 'add_numbers',
      toVersion: 2,
    });
    expect((await registry.pin('add_numbers')).type).toBe(REGISTRY_AUDIT_TYPES.pinned);
    expect(await registry.hasSideEffects('add_numbers')).toBe(true);
    expect((await registry.history('add_numbers')).map((entry) => entry.type)).toEqual([
      REGISTRY_AUDIT_TYPES.created,
      REGISTRY_AUDIT_TYPES.candidateAdded,
      REGISTRY_AUDIT_TYPES.promoted,
      REGISTRY_AUDIT_TYPES.pinned,
    ]);
  });
});

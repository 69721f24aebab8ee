import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStorage } from './memory-storage.ts';
import type { HistoryQuery, InvocationRecord, NewToolVersion } from './records.ts';
import { nodeSqliteStorage } from './sqlite/node-sqlite-storage.ts';
import { sqlJsStorage } from './sqlite/sql-js-storage.ts';
import type { StorageAdapter } from './storage-adapter.ts';
import { StorageInputError } from './storage-errors.ts';

const directory = mkdtempSync(join(tmpdir(), 'sia-input-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const adapters: Array<[string, () => StorageAdapter]> = [
  ['memory', () => memoryStorage()],
  ['sql.js', () => sqlJsStorage()],
  ['node:sqlite', () => nodeSqliteStorage({ path: join(directory, `${Math.random()}.db`) })],
];

const good: InvocationRecord = {
  toolName: 't',
  version: 1,
  startedAt: 1,
  latencyMs: 1,
  success: true,
  inputHash: 'h',
};
const firstVersion: NewToolVersion = {
  source: 's',
  inputSchema: {},
  capabilities: { network: [] },
  parentVersion: null,
  reason: 'r',
  author: 'human',
};
/** The built-in adapters all have `invocationHistory`. */
const history = (storage: StorageAdapter, query: HistoryQuery) =>
  (storage.invocationHistory as NonNullable<StorageAdapter['invocationHistory']>)(query);
const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;

const badCalls: Array<[string, (storage: StorageAdapter) => Promise<unknown>]> = [
  ['records[1].latencyMs', (s) => s.appendInvocations([good, { ...good, latencyMs: Number.NaN }])],
  ['records[0].version', (s) => s.appendInvocations([{ ...good, version: 0 }])],
  ['records[0].success', (s) => s.appendInvocations([{ ...good, success: 'yes' as never }])],
  ['records[0].toolName', (s) => s.appendInvocations([{ ...good, toolName: '' }])],
  ['records[1].input', (s) => s.appendInvocations([good, { ...good, input: cyclic as never }])],
  ['records[0].output', (s) => s.appendInvocations([{ ...good, output: 10n as never }])],
  ['query.limit', (s) => s.recentInvocations({ toolName: 't', limit: -1 })],
  ['query.limit', (s) => s.aggregateWindow({ toolName: 't', limit: 1.5 })],
  ['policy.maxRecordsPerVersion', (s) => s.pruneInvocations({ maxRecordsPerVersion: -1 })],
  ['policy.maxRecords', (s) => s.pruneInvocations({ maxRecords: 2.5 })],
  ['policy.now', (s) => s.pruneInvocations({ maxRecords: 1, now: Number.NaN })],
  ['query.toolName', (s) => history(s, { toolName: '' })],
  ['query.version', (s) => history(s, { toolName: 't', version: 0 })],
  ['query.since', (s) => history(s, { toolName: 't', since: Number.POSITIVE_INFINITY })],
  ['query.until', (s) => history(s, { toolName: 't', until: '1' as never })],
  // Whole minutes only: the rollups' finest grid.
  ...[0, 30_000, 90_000, 60_000.5].map(
    (bucketMs): [string, (storage: StorageAdapter) => Promise<unknown>] => [
      'query.bucketMs',
      (s) => history(s, { toolName: 't', bucketMs }),
    ],
  ),
  [
    'tool.firstVersion.parentVersion',
    (s) => s.createTool({ name: 'x', description: 'd', firstVersion: { ...firstVersion, parentVersion: 1 } }),
  ],
  // An output schema is a plain JSON object of bounded size (whether it is a valid schema is the registry's check).
  ...['{"type":"number"}', [], null].map(
    (outputSchema): [string, (storage: StorageAdapter) => Promise<unknown>] => [
      'tool.firstVersion.outputSchema',
      (s) =>
        s.createTool({
          name: 'x',
          description: 'd',
          firstVersion: { ...firstVersion, outputSchema: outputSchema as never },
        }),
    ],
  ),
  [
    'tool.firstVersion.outputSchema.self',
    (s) =>
      s.createTool({
        name: 'x',
        description: 'd',
        firstVersion: { ...firstVersion, outputSchema: cyclic as never },
      }),
  ],
  [
    'tool.firstVersion.outputSchema',
    (s) =>
      s.createTool({
        name: 'x',
        description: 'd',
        firstVersion: { ...firstVersion, outputSchema: { description: 'x'.repeat(70_000) } },
      }),
  ],
  // Authors are open strings, but not empty, over-long or of another type.
  ...['', 'a'.repeat(65), 42].map((author): [string, (storage: StorageAdapter) => Promise<unknown>] => [
    'tool.firstVersion.author',
    (s) =>
      s.createTool({
        name: 'x',
        description: 'd',
        firstVersion: { ...firstVersion, author: author as never },
      }),
  ]),
  [
    'version.author',
    (s) => s.addVersion('x', { ...firstVersion, parentVersion: 1, author: undefined as never }),
  ],
  [
    'version.capabilities.network',
    (s) => s.addVersion('x', { ...firstVersion, capabilities: { network: [1] as never } }),
  ],
  [
    'testCase.origin',
    (s) => s.addTestCase('x', { input: 1, expect: 1, description: 'd', origin: 'guess' as never }),
  ],
  ['entry.evidence', (s) => s.appendAudit({ type: 't', actor: 'a', reason: 'r', evidence: cyclic as never })],
  ['query.afterId', (s) => s.listAudit({ afterId: -2 })],
];

describe('every built-in adapter rejects unstorable input the same way', () => {
  for (const [name, create] of adapters) {
    it(`${name}: StorageInputError naming the field, and nothing written`, async () => {
      const storage = create();
      try {
        for (const [field, call] of badCalls) {
          const error = await call(storage).then(
            () => undefined,
            (caught: unknown) => caught,
          );
          expect(StorageInputError.isInstance(error), field).toBe(true);
          expect((error as StorageInputError).field).toBe(field);
          expect((error as Error).message).toContain('nothing was written');
        }
        expect(await storage.recentInvocations({ toolName: 't', limit: 10 })).toEqual([]);
        expect(await storage.listTools()).toEqual([]);
        expect(await storage.listAudit()).toEqual([]);
      } finally {
        await storage.close();
      }
    });
  }
});

describe('every built-in adapter accepts any author name up to 64 characters', () => {
  for (const [name, create] of adapters) {
    it(`${name}: a third-party author and one of exactly 64 characters round-trip`, async () => {
      const storage = create();
      try {
        const longest = 'r'.repeat(64);
        await storage.createTool({
          name: 'x',
          description: 'd',
          firstVersion: { ...firstVersion, author: 'my-rewriter' },
        });
        await storage.addVersion('x', { ...firstVersion, parentVersion: 1, author: longest });
        expect((await storage.listVersions('x')).map((version) => version.author)).toEqual([
          'my-rewriter',
          longest,
        ]);
      } finally {
        await storage.close();
      }
    });
  }
});

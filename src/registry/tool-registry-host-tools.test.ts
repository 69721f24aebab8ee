import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { REGISTRY_AUDIT_TYPES } from '../storage/audit-evidence.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { nodeSqliteStorage } from '../storage/sqlite/node-sqlite-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { ToolExistsError, ToolNotFoundError } from '../storage/storage-errors.ts';
import { StorageCapabilityMissingError, ToolKindMismatchError } from './registry-errors.ts';
import { ToolRegistry } from './tool-registry.ts';

const directory = mkdtempSync(join(tmpdir(), 'sia-host-tools-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
let files = 0;

const weather = (label: string) => ({
  name: 'get_weather',
  description: 'Current weather for a city (the app’s own function)',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  label,
});

/**
 * An adapter as written for the older contract: no setDisabled, and an addVersion that ignores
 * the audit factory and `activate`.
 */
function olderAdapter(storage: StorageAdapter): StorageAdapter {
  const { setDisabled: _dropped, ...rest } = storage;
  return {
    ...rest,
    addVersion: (toolName, version) => storage.addVersion(toolName, version),
  } as StorageAdapter;
}

describe.each([
  ['memoryStorage', (): StorageAdapter => memoryStorage()],
  [
    'nodeSqliteStorage',
    (): StorageAdapter => {
      files += 1;
      return nodeSqliteStorage({ path: join(directory, `host-${files}.sqlite`) });
    },
  ],
])('ToolRegistry host tools on %s', (_name, open) => {
  it('creates a host tool at its label, then only reads while the label stays the same', async () => {
    const storage = open();
    const registry = new ToolRegistry({ storage, actor: 'app' });
    const first = await registry.registerHostTool(weather('2026.1.0'));
    expect(first).toMatchObject({ created: true, deployed: false });
    expect(first.version).toMatchObject({
      version: 1,
      label: '2026.1.0',
      source: '',
      author: 'host',
      parentVersion: null,
      capabilities: { network: [] },
      inputSchema: weather('x').inputSchema,
    });
    expect(await registry.find('get_weather')).toMatchObject({
      kind: 'host',
      disabled: false,
      activeVersion: 1,
    });
    const [created] = await registry.history('get_weather');
    expect(created).toMatchObject({ type: 'tool:created', actor: 'app', toVersion: 1 });
    expect(created?.reason).toContain('2026.1.0');
    expect(await registry.hasSideEffects('get_weather')).toBe(true);

    const audit = await storage.listAudit();
    const again = await registry.registerHostTool(weather('2026.1.0'));
    expect(again).toEqual({ version: first.version, created: false, deployed: false });
    expect(await storage.listAudit()).toEqual(audit);
    expect(await storage.listVersions('get_weather')).toHaveLength(1);
    await storage.close();
  });

  it('deploys a new label as a new active version, and an earlier label by making it active again', async () => {
    const storage = open();
    const registry = new ToolRegistry({ storage });
    await registry.registerHostTool(weather('2026.1.0'));
    const changedSchema = {
      type: 'object',
      properties: { city: { type: 'string' }, units: { type: 'string' } },
    };
    const second = await registry.registerHostTool({ ...weather('a3f9c2e'), inputSchema: changedSchema });
    expect(second).toMatchObject({ created: false, deployed: true });
    expect(second.version).toMatchObject({
      version: 2,
      label: 'a3f9c2e',
      parentVersion: 1,
      inputSchema: changedSchema,
    });
    expect((await registry.active('get_weather')).version).toBe(2);
    const deployed = await registry.history('get_weather', { type: REGISTRY_AUDIT_TYPES.deployed });
    expect(deployed).toEqual([
      expect.objectContaining({
        fromVersion: 1,
        toVersion: 2,
        evidence: { label: 'a3f9c2e', previousLabel: '2026.1.0' },
      }),
    ]);

    // The app rolled back its release: version 1 is active again, no new version.
    const back = await registry.registerHostTool(weather('2026.1.0'));
    expect(back).toMatchObject({
      created: false,
      deployed: true,
      version: { version: 1, label: '2026.1.0' },
    });
    expect((await registry.tool('get_weather')).activeVersion).toBe(1);
    expect(await storage.listVersions('get_weather')).toHaveLength(2);
    expect(
      (await registry.history('get_weather', { type: REGISTRY_AUDIT_TYPES.deployed })).map((entry) => [
        entry.fromVersion,
        entry.toVersion,
      ]),
    ).toEqual([
      [1, 2],
      [2, 1],
    ]);
    // Host versions have no source to rewrite.
    const candidate = await registry
      .addCandidate('get_weather', {
        source: 'function get_weather() {}',
        parentVersion: 1,
        reason: 'r',
        author: 'human',
      })
      .catch((error: unknown) => error);
    expect(ToolKindMismatchError.isInstance(candidate)).toBe(true);
    expect(await storage.listVersions('get_weather')).toHaveLength(2);
    await storage.close();
  });

  it('refuses a name taken by a sandboxed tool, and a bad label naming `version`', async () => {
    const storage = open();
    const registry = new ToolRegistry({ storage });
    await registry.create({
      name: 'get_weather',
      description: 'Sandboxed',
      inputSchema: { type: 'object' },
      source: 'function get_weather() { return 1; }',
    });
    const taken = await registry.registerHostTool(weather('1')).catch((error: unknown) => error);
    expect(ToolKindMismatchError.isInstance(taken)).toBe(true);
    expect((taken as ToolKindMismatchError).code).toBe('TOOL_KIND_MISMATCH');
    expect((taken as Error).message).toContain('taken by a sandboxed tool');
    expect((taken as Error).message).toContain('Pick another name');
    expect(await storage.listVersions('get_weather')).toHaveLength(1);

    for (const label of ['', 'x'.repeat(129), 'a\nb', 7]) {
      const bad = await registry
        .registerHostTool({ ...weather('x'), name: 'other_tool', label: label as string })
        .catch((error: unknown) => error);
      expect(InvalidOptionError.isInstance(bad)).toBe(true);
      expect((bad as InvalidOptionError).field).toBe('version');
      expect((bad as InvalidOptionError).value).toBe(label);
    }
    expect(await registry.find('other_tool')).toBeUndefined();
    await storage.close();
  });

  it('lets two processes register the same new host tool at once: one creates it, the other reads it', async () => {
    const storage = open();
    const [a, b] = [new ToolRegistry({ storage }), new ToolRegistry({ storage })];
    const results = await Promise.all([
      a.registerHostTool(weather('1.0.0')),
      b.registerHostTool(weather('1.0.0')),
    ]);
    expect(results.map((result) => result.created).sort()).toEqual([false, true]);
    expect(results.map((result) => result.version.version)).toEqual([1, 1]);
    expect(await storage.listVersions('get_weather')).toHaveLength(1);
    await storage.close();
  });

  it('disables and enables a tool with one audit entry per change, none when nothing changes', async () => {
    const storage = open();
    const registry = new ToolRegistry({ storage, actor: 'ops' });
    await registry.registerHostTool(weather('1'));
    expect(await registry.setDisabled('get_weather', true, { reason: 'upstream API down' })).toBe(true);
    expect(await registry.setDisabled('get_weather', true)).toBe(false);
    expect((await registry.tool('get_weather')).disabled).toBe(true);
    expect((await registry.list())[0]?.disabled).toBe(true);
    expect(await registry.setDisabled('get_weather', false, { actor: 'human:alice' })).toBe(true);
    expect(await registry.setDisabled('get_weather', false)).toBe(false);
    const entries = (await registry.history('get_weather')).filter((entry) => entry.type !== 'tool:created');
    expect(entries.map((entry) => [entry.type, entry.actor, entry.reason, entry.toVersion])).toEqual([
      ['tool:disabled', 'ops', 'upstream API down', 1],
      ['tool:enabled', 'human:alice', 'enabled', 1],
    ]);
    const missing = await registry.setDisabled('missing_tool', true).catch((error: unknown) => error);
    expect(ToolNotFoundError.isInstance(missing)).toBe(true);
    await storage.close();
  });
});

describe('ToolRegistry host tools on an adapter written for the older contract', () => {
  it('activates a new host version with a second write, appends its entry, and refuses setDisabled clearly', async () => {
    const inner = memoryStorage();
    const storage = olderAdapter(inner);
    const registry = new ToolRegistry({ storage });
    await registry.registerHostTool(weather('1'));
    const deployed = await registry.registerHostTool(weather('2'));
    expect(deployed).toMatchObject({ deployed: true, version: { version: 2, label: '2' } });
    expect((await registry.tool('get_weather')).activeVersion).toBe(2);
    expect(await registry.history('get_weather', { type: REGISTRY_AUDIT_TYPES.deployed })).toHaveLength(1);

    const missing = await registry.setDisabled('get_weather', true).catch((error: unknown) => error);
    expect(StorageCapabilityMissingError.isInstance(missing)).toBe(true);
    expect((missing as StorageCapabilityMissingError).code).toBe('STORAGE_CAPABILITY_MISSING');
    expect((missing as Error).message).toContain('setDisabled');
    expect((await registry.tool('get_weather')).disabled).toBe(false);
    await inner.close();
  });

  it('retries the lookup once when the create loses a race (ToolExistsError)', async () => {
    const inner = memoryStorage();
    let creates = 0;
    const racing: StorageAdapter = {
      ...inner,
      async createTool(tool) {
        creates += 1;
        // Another process got there just before this one.
        await inner.createTool(tool);
        throw new ToolExistsError(tool.name);
      },
    };
    const result = await new ToolRegistry({ storage: racing }).registerHostTool(weather('1'));
    expect(result).toMatchObject({ created: false, deployed: false, version: { version: 1, label: '1' } });
    expect(creates).toBe(1);
    await inner.close();
  });
});

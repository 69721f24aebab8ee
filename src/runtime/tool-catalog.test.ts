import { afterEach, describe, expect, it, vi } from 'vitest';
import { SchemaCache } from '../core/json-schema.ts';
import { CodeValidator } from '../generation/code-validator.ts';
import type { ToolRecord } from '../storage/records.ts';
import { type CatalogRegistry, ToolCatalog } from './tool-catalog.ts';

function record(name: string, disabled: boolean): ToolRecord {
  return {
    name,
    description: name,
    createdAt: 0,
    activeVersion: 1,
    pinned: false,
    counters: { rewrites: 0, lastRewriteAt: null },
    kind: 'sandboxed',
    disabled,
  };
}

/** A registry whose `list()` answers only when the test says so. */
function slowRegistry() {
  const pending: ((records: ToolRecord[]) => void)[] = [];
  const registry = {
    list: () => new Promise<ToolRecord[]>((resolve) => pending.push(resolve)),
    active: async () => {
      throw new Error('not used');
    },
    find: async () => undefined,
  } as unknown as CatalogRegistry;
  return { registry, answer: (records: ToolRecord[]) => pending.shift()?.(records) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('ToolCatalog disabled state', () => {
  it('reads every tool’s state again from a call once the last read is stateRefreshMs old', async () => {
    const { registry, answer } = slowRegistry();
    const catalog = new ToolCatalog(registry, new CodeValidator(), new SchemaCache(), {
      stateRefreshMs: 1000,
    });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(10_000);
    expect(catalog.isDisabled('t')).toBe(false); // starts the first read
    answer([record('t', true)]);
    await vi.waitFor(() => expect(catalog.isDisabled('t')).toBe(true));
    vi.setSystemTime(10_500);
    catalog.isDisabled('t'); // too soon: no read
    vi.setSystemTime(11_100);
    catalog.isDisabled('t'); // a read
    answer([record('t', false)]);
    await vi.waitFor(() => expect(catalog.isDisabled('t')).toBe(false));
  });

  it('drops a read that started before this process changed a state (it would undo the change)', async () => {
    const { registry, answer } = slowRegistry();
    const catalog = new ToolCatalog(registry, new CodeValidator(), new SchemaCache(), {
      stateRefreshMs: 1000,
    });
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(10_000);
    catalog.isDisabled('t'); // a read starts, reading the old state
    catalog.setDisabled('t', true); // this process disables the tool meanwhile
    answer([record('t', false)]); // the stale read lands
    await new Promise((resolve) => setImmediate(resolve));
    expect(catalog.isDisabled('t')).toBe(true);
  });

  it('reports a failed read and keeps the last known state', async () => {
    const errors: unknown[] = [];
    const registry = {
      list: async () => {
        throw new Error('storage down');
      },
      active: async () => {
        throw new Error('not used');
      },
      find: async () => undefined,
    } as unknown as CatalogRegistry;
    const catalog = new ToolCatalog(registry, new CodeValidator(), new SchemaCache(), {
      stateRefreshMs: 0,
      onRefreshError: (error) => errors.push(error),
    });
    catalog.setDisabled('t', true);
    expect(catalog.isDisabled('t')).toBe(true);
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(catalog.isDisabled('t')).toBe(true);
  });
});

describe('ToolCatalog changes taken in from storage (onChange)', () => {
  const version = (n: number) => ({
    toolName: 't',
    version: n,
    source: 'function t() { return 1; }',
    inputSchema: { type: 'object' },
    capabilities: { network: [] },
    parentVersion: n === 1 ? null : n - 1,
    reason: 'test',
    author: 'human' as const,
    createdAt: 0,
  });
  /** A registry holding one tool `t`, whose reads of it can be held back. */
  function storedTool() {
    const state = { active: 1, disabled: false };
    let hold: Promise<void> | undefined;
    const registry = {
      list: async () => [{ ...record('t', state.disabled), activeVersion: state.active }],
      find: async () => {
        const read = { ...record('t', state.disabled), activeVersion: state.active };
        await hold;
        return read;
      },
      active: async () => version(state.active),
    } as unknown as CatalogRegistry;
    return {
      registry,
      state,
      holdReads: () => {
        let release: () => void = () => undefined;
        hold = new Promise((resolve) => {
          release = resolve;
        });
        return () => {
          hold = undefined;
          release();
        };
      },
    };
  }

  it('reports a version or state another process changed once, by whichever refresh or read saw it first', async () => {
    const { registry, state } = storedTool();
    const changes: unknown[] = [];
    const catalog = new ToolCatalog(registry, new CodeValidator(), new SchemaCache(), {
      onChange: (toolName, change) => changes.push({ toolName, ...change }),
    });
    await catalog.load();
    expect(changes).toEqual([]);
    state.active = 2;
    await catalog.refresh('t'); // e.g. the improvement loop after a conflict, before any notice
    await catalog.refresh('t'); // the notice, arriving later: already applied
    state.disabled = true;
    await catalog.readStates();
    await catalog.readStates();
    expect(changes).toEqual([
      { toolName: 't', fromVersion: 1, toVersion: 2, disabled: false },
      { toolName: 't', fromVersion: 2, toVersion: 2, disabled: true },
    ]);
    // A change this process applies itself is not reported.
    catalog.setDisabled('t', false);
    catalog.set('t', { ...version(3), toolName: 't' });
    expect(changes).toHaveLength(2);
  });

  it('does not apply a disabled state a refresh read before this process changed it', async () => {
    const { registry, state, holdReads } = storedTool();
    const catalog = new ToolCatalog(registry, new CodeValidator(), new SchemaCache());
    await catalog.load();
    state.active = 2;
    const release = holdReads();
    const refreshing = catalog.refresh('t'); // reads "enabled"…
    catalog.setDisabled('t', true); // …then this process disables it
    release();
    await refreshing;
    expect(catalog.servedVersion('t')).toBe(2);
    expect(catalog.isDisabled('t')).toBe(true);
  });
});

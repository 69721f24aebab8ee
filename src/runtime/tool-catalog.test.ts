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

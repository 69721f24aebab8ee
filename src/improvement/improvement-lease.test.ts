import { describe, expect, it } from 'vitest';
import { ImprovementLease } from './improvement-lease.ts';

describe('ImprovementLease', () => {
  it('takes, renews and releases the tool lease under one key, and refuses while another holds it', async () => {
    const held = new Map<string, string>();
    const calls: string[] = [];
    const store = {
      acquireLease: async (key: string, holder: string, ttlMs: number) => {
        calls.push(`acquire ${key} ${holder} ${ttlMs}`);
        const current = held.get(key);
        if (current !== undefined && current !== holder) return false;
        held.set(key, holder);
        return true;
      },
      releaseLease: async (key: string, holder: string) => {
        calls.push(`release ${key} ${holder}`);
        if (held.get(key) === holder) held.delete(key);
      },
    };
    const mine = new ImprovementLease({ store, holder: 'a', ttlMs: 5000 });
    const theirs = new ImprovementLease({ store, holder: 'b', ttlMs: 5000 });
    expect(mine.shared).toBe(true);
    expect(await mine.acquire('add')).toBe(true);
    expect(await theirs.acquire('add')).toBe(false);
    expect(await mine.renew('add')).toBe(true);
    await theirs.release('add'); // not the holder: nothing happens
    expect(await theirs.acquire('add')).toBe(false);
    await mine.release('add');
    expect(await theirs.acquire('add')).toBe(true);
    expect(calls[0]).toBe('acquire improve:add a 5000');
  });

  it('always succeeds on a store without leases (one process)', async () => {
    const lease = new ImprovementLease({ store: {}, holder: 'a', ttlMs: 1000 });
    expect(lease.shared).toBe(false);
    expect(await lease.acquire('add')).toBe(true);
    expect(await lease.renew('add')).toBe(true);
    await expect(lease.release('add')).resolves.toBeUndefined();
  });
});

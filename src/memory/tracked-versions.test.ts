import { describe, expect, it } from 'vitest';
import { TrackedVersions } from './tracked-versions.ts';

describe('TrackedVersions', () => {
  it('keeps one statistics object per (tool, version)', () => {
    const tracked = new TrackedVersions(10, 5);
    const first = tracked.use('a', 1);
    expect(tracked.use('a', 1)).toBe(first);
    expect(tracked.use('a', 2)).not.toBe(first);
    expect(tracked.use('b', 1)).not.toBe(first);
    expect(tracked.peek('a', 1)).toBe(first);
    expect(tracked.peek('c', 1)).toBeUndefined();
    // Names that would collide if joined carelessly stay apart.
    expect(tracked.use('1', 11)).not.toBe(tracked.use('11', 1));
    expect(tracked.size).toBe(5);
  });

  it('forgets the least recently used version past maxVersions', () => {
    const tracked = new TrackedVersions(3, 5);
    const a = tracked.use('a', 1);
    tracked.use('b', 1);
    tracked.use('c', 1);
    tracked.use('a', 1); // a is now the most recent; b the least
    tracked.use('d', 1);
    expect(tracked.size).toBe(3);
    expect(tracked.peek('b', 1)).toBeUndefined();
    expect(tracked.peek('a', 1)).toBe(a);
    // peek does not count as a use: c stays the least recently used.
    tracked.peek('c', 1);
    tracked.use('e', 1);
    expect(tracked.peek('c', 1)).toBeUndefined();
    expect([...tracked.values()].map((statistics) => statistics.toolName)).toEqual(['a', 'd', 'e']);
    // A forgotten version starts over.
    const again = tracked.use('b', 1);
    expect(again.snapshot().calls).toBe(0);
  });

  it('stays bounded while tools keep being created', () => {
    const tracked = new TrackedVersions(50, 5);
    for (let index = 0; index < 10_000; index += 1) tracked.use(`tool_${index}`, 1 + (index % 3));
    expect(tracked.size).toBe(50);
  });
});

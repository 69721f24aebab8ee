import { describe, expect, it } from 'vitest';
import type { ToolRecord } from '../storage/records.ts';
import { checkLocalGuards, checkStoredGuards, needsImprovementCount } from './improvement-policy.ts';

const options = { pinned: [] as string[], maxRewritesPerTool: 3, cooldownMs: 60_000, maxTokensPerDay: 1000 };
const idle = { improving: false, watchingVersion: null, servedVersion: 2, noCandidateAt: null };

function record(patch: Partial<ToolRecord> = {}, counters: Partial<ToolRecord['counters']> = {}): ToolRecord {
  return {
    name: 'add',
    description: 'Adds',
    activeVersion: 2,
    pinned: false,
    createdAt: 0,
    updatedAt: 0,
    ...patch,
    counters: { rewrites: 0, lastRewriteAt: null, ...counters },
  } as ToolRecord;
}

describe('improvement policy: local guards (no storage)', () => {
  it('allows an idle tool whose served version is the one evaluated', () => {
    expect(checkLocalGuards(2, idle)).toBeNull();
  });

  it.each([
    ['busy', { improving: true }, /already running/],
    ['watching', { watchingVersion: 3 }, /version 3 is still being watched/],
    ['not-active', { servedVersion: 3 }, /version 2 is no longer the active version/],
    ['not-active', { servedVersion: undefined }, /no longer the active version/],
  ] as const)('says %s for %o', (reason, patch, detail) => {
    const skip = checkLocalGuards(2, { ...idle, ...patch });
    expect(skip?.reason).toBe(reason);
    expect(skip?.detail).toMatch(detail);
  });
});

describe('improvement policy: stored guards', () => {
  const now = 1_000_000;

  it('allows a tool that exists, is active at the version, unpinned, under the cap, cool and in budget', () => {
    expect(
      checkStoredGuards('add', 2, { record: record(), tokensSpentToday: 10 }, idle, options, now),
    ).toBeNull();
  });

  it.each([
    ['a missing tool', { record: undefined }, idle, 'not-active', /no longer exists/],
    [
      'another active version',
      { record: record({ activeVersion: 3 }) },
      idle,
      'not-active',
      /version 3 is active now/,
    ],
    ['a stored pin', { record: record({ pinned: true }) }, idle, 'pinned', /"add" is pinned/],
    [
      'the cap',
      { record: record({}, { rewrites: 3 }), improvementsUsed: 3 },
      idle,
      'cap',
      /maxRewritesPerTool 3.*sia improvements reset add/,
    ],
    [
      'a recent improvement',
      { record: record({}, { lastRewriteAt: now - 10 }) },
      idle,
      'cooldown',
      /10 ms ago/,
    ],
    [
      'a recent empty improvement',
      { record: record() },
      { ...idle, noCandidateAt: now - 5 },
      'cooldown',
      /found nothing to propose/,
    ],
    ['the budget', { record: record(), tokensSpentToday: 1000 }, idle, 'budget', /1000 tokens spent today/],
  ] as const)('skips for %s', (_label, facts, state, reason, detail) => {
    const skip = checkStoredGuards('add', 2, facts, state, options, now);
    expect(skip?.reason).toBe(reason);
    expect(skip?.detail).toMatch(detail);
  });

  it('honours improvement.pinned and lets a reset count under the cap pass', () => {
    expect(
      checkStoredGuards('add', 2, { record: record() }, idle, { ...options, pinned: ['add'] }, now)?.reason,
    ).toBe('pinned');
    const reset = { record: record({}, { rewrites: 5 }), improvementsUsed: 0 };
    expect(checkStoredGuards('add', 2, reset, idle, options, now)).toBeNull();
  });

  it('asks for the improvement count only once the stored counter reaches the cap', () => {
    expect(needsImprovementCount(record({}, { rewrites: 2 }), options)).toBe(false);
    expect(needsImprovementCount(record({}, { rewrites: 3 }), options)).toBe(true);
    expect(needsImprovementCount(undefined, options)).toBe(false);
  });
});

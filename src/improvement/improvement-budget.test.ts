import { describe, expect, it } from 'vitest';
import { IMPROVEMENT_AUDIT_TYPE } from '../storage/audit-evidence.ts';
import type { AuditEntry } from '../storage/records.ts';
import { ImprovementBudget } from './improvement-budget.ts';

const day = Date.UTC(2026, 11, 2);

function entry(tokens: unknown, type = IMPROVEMENT_AUDIT_TYPE): AuditEntry {
  return {
    id: 1,
    type,
    toolName: 'add',
    actor: 'a',
    reason: 'failed',
    at: day + 1,
    evidence: { tokens },
  } as AuditEntry;
}

describe('ImprovementBudget', () => {
  it('reads what was spent since UTC midnight once, then counts in memory', async () => {
    const reads: number[] = [];
    const ledger = {
      improvementsSince: async (since: number) => {
        reads.push(since);
        return [entry(100), entry(20), entry('garbage'), entry(5, 'tool:promoted')];
      },
    };
    let now = day + 3_600_000;
    const budget = new ImprovementBudget({ ledger, maxTokensPerDay: 500, now: () => now });
    expect(budget.limit).toBe(500);
    expect(await budget.spentToday()).toBe(120);
    await budget.spend(30);
    expect(await budget.spentToday()).toBe(150);
    expect(reads).toEqual([day]);
    now += 24 * 3_600_000; // the next UTC day reads again
    expect(await budget.spentToday()).toBe(120);
    expect(reads).toEqual([day, day + 24 * 3_600_000]);
  });

  it('counts a spend made before the first read once (the entry is written after spend)', async () => {
    const written: AuditEntry[] = [];
    const budget = new ImprovementBudget({
      ledger: { improvementsSince: async () => written },
      maxTokensPerDay: undefined,
      now: () => day,
    });
    await budget.spend(40);
    written.push(entry(40));
    expect(await budget.spentToday()).toBe(40);
  });
});

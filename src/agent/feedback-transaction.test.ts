/**
 * `agent.feedback({ …, expected })` writes the regression case and its `tool:feedback` audit
 * entry in one transaction: when the entry cannot be written, neither is, nothing is counted or
 * emitted, and a retry stores both once. Real stores (memory, a SQLite file); the fault is a
 * storage wrapper whose audit write inside `addTestCase` fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { JsonValue } from '../storage/records.ts';
import { nodeSqliteStorage } from '../storage/sqlite/node-sqlite-storage.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { StorageInputError } from '../storage/storage-errors.ts';
import type { ToolFeedbackEvent } from './agent-feedback.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
const directory = mkdtempSync(join(tmpdir(), 'sia-feedback-tx-'));
let files = 0;
afterAll(async () => {
  await sandbox.close();
  rmSync(directory, { recursive: true, force: true });
});

// Wrong for negative numbers: only feedback can tell.
const absSource = 'function absolute({ n }) {\n  return n < 0 ? n + 0 : n;\n}';
const inputSchema = { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] };

type Fault = 'unstorable' | 'thrown' | 'none';

/**
 * `inner` with its next `tool:feedback` audit write failing while `fault.next` is not `none`: the
 * entry made by the factory cannot be stored (`unstorable`: BigInt evidence, which the store
 * refuses with StorageInputError), or making it fails (`thrown`, as a lost disk would).
 * `legacy: true` ignores the factory, as an adapter written before it existed does.
 */
function faultyStorage(inner: StorageAdapter, fault: { next: Fault; legacy?: boolean }): StorageAdapter {
  return {
    ...inner,
    async addTestCase(toolName, testCase, audit) {
      if (fault.legacy === true) return inner.addTestCase(toolName, testCase);
      if (audit === undefined || fault.next === 'none') return inner.addTestCase(toolName, testCase, audit);
      const kind = fault.next;
      fault.next = 'none';
      return inner.addTestCase(toolName, testCase, (stored) => {
        const entry = audit(stored);
        if (kind === 'thrown') throw new Error('disk full while writing the audit entry');
        return { ...entry, evidence: { unstorable: 1n } as unknown as JsonValue };
      });
    },
    // The entry written on its own (no case added; or by code that writes the case first) fails
    // the same way.
    async appendAudit(entry) {
      if (fault.next === 'none' || entry.type !== 'tool:feedback') return inner.appendAudit(entry);
      const kind = fault.next;
      fault.next = 'none';
      if (kind === 'thrown') throw new Error('disk full while writing the audit entry');
      return inner.appendAudit({ ...entry, evidence: { unstorable: 1n } as unknown as JsonValue });
    },
  };
}

const stores: [string, () => StorageAdapter][] = [
  ['memoryStorage()', () => memoryStorage()],
  [
    'nodeSqliteStorage({ path })',
    () => {
      files += 1;
      return nodeSqliteStorage({ path: join(directory, `feedback-${files}.db`) });
    },
  ],
];

async function start(storage: StorageAdapter) {
  const agent = new SelfImprovingAgent({
    storage,
    sandbox,
    capture: { inputs: true, outputs: true },
    improvement: { evaluateEvery: 1000, mode: 'inline' },
  });
  await agent.addTool({ name: 'absolute', description: 'Absolute value', inputSchema, source: absSource });
  const events: ToolFeedbackEvent[] = [];
  agent.on('tool:feedback', (event) => events.push(event));
  return { agent, events };
}

describe.each(stores)('agent.feedback with expected on %s', (_name, open) => {
  it.each(['unstorable', 'thrown'] as const)(
    'leaves neither the case nor the entry when the entry fails (%s), and a retry stores both once',
    async (kind) => {
      const inner = open();
      const fault = { next: kind as Fault };
      const { agent, events } = await start(faultyStorage(inner, fault));
      try {
        const call = await agent.invoke('absolute', { n: -3 }, { details: true });
        const failed = await agent
          .feedback({ callId: call.callId, correct: false, expected: 3, note: 'should be 3' })
          .then(
            () => undefined,
            (error: unknown) => error,
          );
        expect(failed).toBeInstanceOf(Error);
        if (kind === 'unstorable') expect(StorageInputError.isInstance(failed)).toBe(true);
        else expect((failed as Error).message).toContain('disk full');
        // Nothing of the verdict: no case, no entry, not counted, not emitted.
        expect(await inner.listTestCases('absolute')).toEqual([]);
        expect(await inner.listAudit({ toolName: 'absolute', type: 'tool:feedback' })).toEqual([]);
        expect(agent.memory.statistics('absolute', 1)?.feedback).toEqual({ correct: 0, wrong: 0 });
        expect(events).toEqual([]);

        const retried = await agent.feedback({
          callId: call.callId,
          correct: false,
          expected: 3,
          note: 'should be 3',
        });
        expect(retried.regressionCase).toEqual({
          status: 'added',
          caseId: expect.any(Number),
          heldOut: false,
        });
        const caseId = retried.regressionCase.status === 'added' ? retried.regressionCase.caseId : -1;
        const cases = await inner.listTestCases('absolute');
        expect(
          cases.map((testCase) => [testCase.id, testCase.origin, testCase.input, testCase.expect]),
        ).toEqual([[caseId, 'feedback', { n: -3 }, { equals: 3 }]]);
        const entries = await inner.listAudit({ toolName: 'absolute', type: 'tool:feedback' });
        expect(entries).toHaveLength(1);
        expect(entries[0]).toMatchObject({
          id: retried.auditId,
          toVersion: 1,
          evidence: { callId: call.callId, correct: false, expected: 3, note: 'should be 3', caseId },
        });
        expect(agent.memory.statistics('absolute', 1)?.feedback).toEqual({ correct: 0, wrong: 1 });
        expect(events).toEqual([
          { toolName: 'absolute', version: 1, correct: false, callId: call.callId, matched: true, caseId },
        ]);
      } finally {
        await agent.close();
      }
    },
  );

  it('writes the entry alone when no case is added, and appends it after the case for an adapter that ignores the factory', async () => {
    const inner = open();
    const fault = { next: 'none' as Fault, legacy: true };
    const { agent } = await start(faultyStorage(inner, fault));
    try {
      const call = await agent.invoke('absolute', { n: -5 }, { details: true });
      const verdict = await agent.feedback({ callId: call.callId, correct: false });
      expect(verdict.regressionCase).toMatchObject({ status: 'skipped', reason: 'no-expected' });
      // An adapter written for the older contract: two writes, as before, with the same content.
      const added = await agent.feedback({ callId: call.callId, correct: false, expected: 5 });
      const caseId = added.regressionCase.status === 'added' ? added.regressionCase.caseId : -1;
      expect(caseId).toBeGreaterThan(0);
      const entries = await inner.listAudit({ toolName: 'absolute', type: 'tool:feedback' });
      expect(entries.map((entry) => entry.id)).toEqual([verdict.auditId, added.auditId]);
      expect(entries[0]?.evidence).not.toHaveProperty('caseId');
      expect(entries[1]?.evidence).toMatchObject({ caseId, expected: 5 });
      expect((await inner.listTestCases('absolute')).map((testCase) => testCase.id)).toEqual([caseId]);
    } finally {
      await agent.close();
    }
  });
});

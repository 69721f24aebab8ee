import { afterAll, describe, expect, it } from 'vitest';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { AgentClosedError } from './agent-errors.ts';
import type { ToolFeedbackEvent } from './agent-feedback.ts';
import type { SelfImprovingAgentOptions } from './agent-options.ts';
import { InvalidFeedbackError, UnknownCallError } from './feedback-errors.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
afterAll(async () => {
  await sandbox.close();
});

// Wrong for negative numbers: it never throws, so only feedback can tell.
const absSource = 'function absolute({ n }) {\n  return n < 0 ? n + 0 : n;\n}';
const fixedSource = 'function absolute({ n }) {\n  return n < 0 ? -n : n;\n}';
const inputSchema = { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] };

async function agentWithAbs(options: Omit<SelfImprovingAgentOptions, 'sandbox'> = {}) {
  const storage = memoryStorage();
  const agent = new SelfImprovingAgent({
    storage,
    sandbox,
    improvement: { evaluateEvery: 1000, mode: 'inline' },
    ...options,
  });
  await agent.addTool({ name: 'absolute', description: 'Absolute value', inputSchema, source: absSource });
  const events: ToolFeedbackEvent[] = [];
  agent.on('tool:feedback', (event) => events.push(event));
  return { agent, storage, events };
}

describe('agent.feedback', () => {
  it('by call id: marks the call in the window, counts it, audits it and emits tool:feedback', async () => {
    const { agent, storage, events } = await agentWithAbs();
    try {
      const right = await agent.invoke('absolute', { n: 4 }, { details: true });
      const wrong = await agent.invoke('absolute', { n: -3 }, { details: true });
      expect(wrong.value).toBe(-3);
      const result = await agent.feedback({ callId: wrong.callId, correct: false, note: 'should be 3' });
      expect(result).toEqual({
        toolName: 'absolute',
        version: 1,
        correct: false,
        callId: wrong.callId,
        matched: true,
        inputHash: expect.any(String),
        regressionCase: expect.objectContaining({ status: 'skipped', reason: 'no-expected' }),
        auditId: expect.any(Number),
      });
      let statistics = agent.memory.statistics('absolute', 1);
      expect(statistics?.recent.map((call) => [call.callId, call.feedback])).toEqual([
        [wrong.callId, 'wrong'],
        [right.callId, undefined],
      ]);
      expect(statistics?.feedback).toEqual({ correct: 0, wrong: 1 });
      expect(Object.isFrozen(statistics?.recent[0])).toBe(true);

      // Judged again: the call counts once, with its latest verdict.
      await agent.feedback({ callId: wrong.callId, correct: true });
      await agent.feedback({ callId: right.callId, correct: true });
      statistics = agent.memory.statistics('absolute', 1);
      expect(statistics?.feedback).toEqual({ correct: 2, wrong: 0 });
      expect(statistics?.recent.map((call) => call.feedback)).toEqual(['correct', 'correct']);

      const audit = await storage.listAudit({ toolName: 'absolute', type: 'tool:feedback' });
      expect(audit).toHaveLength(3);
      expect(audit[0]).toMatchObject({
        id: result.auditId,
        toVersion: 1,
        reason: 'the app reported a wrong answer of v1',
        evidence: {
          callId: wrong.callId,
          correct: false,
          inputHash: result.inputHash,
          matched: true,
          note: 'should be 3',
        },
      });
      expect(events).toEqual([
        { toolName: 'absolute', version: 1, correct: false, callId: wrong.callId, matched: true },
        { toolName: 'absolute', version: 1, correct: true, callId: wrong.callId, matched: true },
        { toolName: 'absolute', version: 1, correct: true, callId: right.callId, matched: true },
      ]);
    } finally {
      await agent.close();
    }
  });

  it('by tool and input: marks the newest call with that input of the active (or given) version', async () => {
    const { agent } = await agentWithAbs();
    try {
      const older = await agent.invoke('absolute', { n: -2 }, { details: true });
      await agent.invoke('absolute', { n: 5 });
      const newer = await agent.invoke('absolute', { n: -2 }, { details: true });
      const result = await agent.feedback({ toolName: 'absolute', input: { n: -2 }, correct: false });
      expect(result).toMatchObject({ version: 1, matched: true });
      const recent = agent.memory.statistics('absolute', 1)?.recent ?? [];
      expect(recent.find((call) => call.callId === newer.callId)?.feedback).toBe('wrong');
      expect(recent.find((call) => call.callId === older.callId)?.feedback).toBeUndefined();

      // No call with that input: still counted, nothing marked.
      const unmatched = await agent.feedback({
        toolName: 'absolute',
        version: 1,
        input: { n: 99 },
        correct: false,
      });
      expect(unmatched).toMatchObject({ matched: false, callId: null });
      expect(agent.memory.statistics('absolute', 1)?.feedback).toEqual({ correct: 0, wrong: 2 });
      expect(recent.filter((call) => call.feedback !== undefined)).toHaveLength(1);
    } finally {
      await agent.close();
    }
  });

  it('refuses unknown call ids and bad fields with a typed error naming the field; nothing is recorded', async () => {
    const { agent, storage, events } = await agentWithAbs();
    try {
      const uuid = '1b4e28ba-2fa1-41d2-883f-0016d3cca427';
      for (const callId of [`absolute@7:${uuid}`, `missing_tool@1:${uuid}`]) {
        const error = await agent.feedback({ callId, correct: false }).catch((caught: unknown) => caught);
        expect(UnknownCallError.isInstance(error)).toBe(true);
        expect(error).toMatchObject({ code: 'UNKNOWN_CALL', callId });
        expect((error as Error).message).toMatch(/toolName, version, input/);
      }
      const cases: [unknown, string][] = [
        [null, 'feedback'],
        [{ callId: 'not-an-id', correct: false }, 'callId'],
        [{ callId: `absolute@1:${uuid}` }, 'correct'],
        [{ callId: `absolute@1:${uuid}`, correct: 'no' }, 'correct'],
        [{ callId: `absolute@1:${uuid}`, toolName: 'absolute', correct: false }, 'toolName'],
        [{ callId: `absolute@1:${uuid}`, correct: false, note: 42 }, 'note'],
        [{ callId: `absolute@1:${uuid}`, correct: false, note: 'x'.repeat(2001) }, 'note'],
        [{ callId: `absolute@1:${uuid}`, correct: false, expected: { at: new Date() } }, 'expected.at'],
        [{ callId: `absolute@1:${uuid}`, correct: false, expected: 10n }, 'expected'],
        [{ toolName: 'absolute', correct: false }, 'input'],
        [{ toolName: 'absolute', input: [1], correct: false }, 'input'],
        [{ toolName: 'Absolute!', input: { n: 1 }, correct: false }, 'toolName'],
        [{ toolName: 'absolute', version: 0, input: { n: 1 }, correct: false }, 'version'],
        [{ correct: false }, 'callId'],
      ];
      for (const [feedback, field] of cases) {
        const error = await agent.feedback(feedback as never).catch((caught: unknown) => caught);
        expect(InvalidFeedbackError.isInstance(error), `${field}: ${String(error)}`).toBe(true);
        expect(error).toMatchObject({ code: 'INVALID_FEEDBACK', field });
      }
      await expect(
        agent.feedback({ toolName: 'absolute', version: 9, input: { n: 1 }, correct: false }),
      ).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
      expect(await storage.listAudit({ type: 'tool:feedback' })).toEqual([]);
      expect(events).toEqual([]);
      expect(agent.memory.statistics('absolute', 1)?.feedback ?? { correct: 0, wrong: 0 }).toEqual({
        correct: 0,
        wrong: 0,
      });
    } finally {
      await agent.close();
    }
  });

  it('turns expected into one regression case per input, held out by the runner rule, that the gate requires', async () => {
    const { agent } = await agentWithAbs({
      capture: { inputs: true, outputs: true },
      regression: { heldOutFraction: 0.5 },
    });
    try {
      const first = await agent.invoke('absolute', { n: -3 }, { details: true });
      const added = await agent.feedback({ callId: first.callId, correct: false, expected: 3 });
      expect(added.regressionCase).toEqual({ status: 'added', caseId: expect.any(Number), heldOut: false });
      // The same input again (by call id, or by input): no second case.
      const again = await agent.invoke('absolute', { n: -3 }, { details: true });
      const duplicate = await agent.feedback({ callId: again.callId, correct: false, expected: 3 });
      const byInput = await agent.feedback({
        toolName: 'absolute',
        input: { n: -3 },
        correct: false,
        expected: 3,
      });
      const caseId = added.regressionCase.status === 'added' ? added.regressionCase.caseId : -1;
      expect(duplicate.regressionCase).toEqual({ status: 'duplicate', caseId });
      expect(byInput.regressionCase).toEqual({ status: 'duplicate', caseId });
      // Another input: the second counted case is held out (every 2nd with a fraction of 0.5).
      const other = await agent.feedback({
        toolName: 'absolute',
        input: { n: -8 },
        correct: false,
        expected: 8,
      });
      expect(other.regressionCase).toMatchObject({ status: 'added', heldOut: true });

      const cases = await agent.regression.cases('absolute');
      expect(
        cases.map((testCase) => [testCase.origin, testCase.input, testCase.expect, testCase.heldOut]),
      ).toEqual([
        ['feedback', { n: -3 }, { equals: 3 }, false],
        ['feedback', { n: -8 }, { equals: 8 }, true],
      ]);
      // The gate now requires the right answer.
      expect((await agent.regression.run('absolute', absSource)).verdict).toBe('reject');
      expect((await agent.regression.run('absolute', fixedSource)).verdict).toBe('promote');
    } finally {
      await agent.close();
    }
  });

  it('without a captured input asks for it, and checks a given one against the call', async () => {
    const { agent } = await agentWithAbs();
    try {
      const call = await agent.invoke('absolute', { n: -1 }, { details: true });
      const result = await agent.feedback({ callId: call.callId, correct: false, expected: 1 });
      expect(result.regressionCase).toMatchObject({ status: 'skipped', reason: 'no-input' });
      await expect(
        agent.feedback({ callId: call.callId, correct: false, expected: 1, input: { n: -2 } }),
      ).rejects.toMatchObject({ code: 'INVALID_FEEDBACK', field: 'input' });
      const given = await agent.feedback({
        callId: call.callId,
        correct: false,
        expected: 1,
        input: { n: -1 },
      });
      expect(given.regressionCase).toMatchObject({ status: 'added' });
      // A case the tool's schema refuses is not stored; the verdict still is.
      const refused = await agent.feedback({
        toolName: 'absolute',
        input: { m: 1 },
        correct: false,
        expected: 1,
      });
      expect(refused.regressionCase).toMatchObject({ status: 'skipped', reason: 'rejected' });
      expect(await agent.regression.cases('absolute')).toHaveLength(1);
    } finally {
      await agent.close();
    }
  });

  it('a wrong answer makes the improvement loop evaluate the version at once', async () => {
    const { agent } = await agentWithAbs();
    const evaluated: number[] = [];
    agent.on('tool:evaluated', ({ version }) => evaluated.push(version));
    try {
      const call = await agent.invoke('absolute', { n: -4 }, { details: true });
      await agent.feedback({ callId: call.callId, correct: true });
      expect(evaluated).toEqual([]);
      await agent.feedback({ callId: call.callId, correct: false });
      expect(evaluated).toEqual([1]);
    } finally {
      await agent.close();
    }
  });

  it('after close() refuses with AgentClosedError', async () => {
    const { agent } = await agentWithAbs();
    const call = await agent.invoke('absolute', { n: 1 }, { details: true });
    await agent.close();
    const error = await agent
      .feedback({ callId: call.callId, correct: true })
      .catch((caught: unknown) => caught);
    expect(AgentClosedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/Cannot feedback: the agent is closed/);
  });
});

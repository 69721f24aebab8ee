/**
 * The whole loop when the gate cannot decide: a degrading tool is rewritten by the hardening
 * rewriter, the candidate passes every case, but its latency ties with v1's (exactly half the
 * paired runs beyond the margin) up to maxRepeats. The agent keeps v1, and the event and the
 * audit entry say INCONCLUSIVE. The tool runs in the real sandbox; only the execution times the
 * gate reads are scripted (a stand-in around the sandbox), so nothing depends on the machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RateServer, rateToolSource, startRateServer } from '../../test/support/rate-server.ts';
import { HardeningRewriter } from '../rewriting/hardening-rewriter.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import type { SandboxCall } from '../sandbox/sandbox-call.ts';
import { IMPROVEMENT_AUDIT_TYPE, readImprovementOutcome } from '../storage/audit-evidence.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { scriptedModel } from '../testing/scripted-model.ts';
import type { AgentEvents } from './agent-events.ts';
import { SelfImprovingAgent } from './self-improving-agent.ts';

const sandbox = new QuickJsSandbox({ workers: 1, timeoutMs: 10_000 });
let server: RateServer;
beforeAll(async () => {
  server = await startRateServer();
});
afterAll(async () => {
  await server.close();
  await sandbox.close();
});

const fetchSource = rateToolSource;

/**
 * The real sandbox, except that once `gating` is on, the execution time of each run is scripted:
 * v1 (`baselineSource`) 10 ms, the candidate 10 and 400 ms by turns (allowed: 10·1.5 + 100 = 115).
 */
function tiedSandbox(baselineSource: string): Sandbox & { gating: boolean } {
  let candidateRuns = 0;
  const stand: Sandbox & { gating: boolean } = {
    gating: false,
    capacity: sandbox.capacity,
    run: (call: SandboxCall, input: object) => sandbox.run(call, input),
    runDetailed: async (call: SandboxCall, input: object) => {
      const result = await sandbox.runDetailed(call, input);
      if (!stand.gating) return result;
      if (call.source === baselineSource) return { ...result, executionMs: 10 };
      candidateRuns += 1;
      return { ...result, executionMs: candidateRuns % 2 === 0 ? 400 : 10 };
    },
  };
  return stand;
}

describe('SelfImprovingAgent: an inconclusive gate keeps the current version', () => {
  it('rewrites, gates up to maxRepeats, says INCONCLUSIVE, and keeps v1', async () => {
    server.failRate = 0;
    const storage = memoryStorage();
    const source = fetchSource(server.hostPort);
    const stand = tiedSandbox(source);
    const agent = new SelfImprovingAgent({
      model: scriptedModel(() => ({ text: 'unused' })),
      storage,
      sandbox: stand,
      rewriter: new HardeningRewriter({ baseDelayMs: 2, maxDelayMs: 20 }),
      improvement: { evaluateEvery: 5, cooldownMs: 0, attemptsPerRewrite: 1 },
    });
    await agent.addTool({
      name: 'fetch_exchange_rate',
      description: 'Current exchange rate between two currencies',
      inputSchema: {
        type: 'object',
        properties: { from: { type: 'string' }, to: { type: 'string' } },
        required: ['from', 'to'],
      },
      source,
      capabilities: { network: [server.hostPort] },
      examples: [{ input: { from: 'USD', to: 'ILS' }, output: 3.7 }],
    });
    const failed: Parameters<AgentEvents['improvement:failed']>[0][] = [];
    const reports: Parameters<AgentEvents['regression:completed']>[0][] = [];
    agent.on('improvement:failed', (event) => failed.push(event));
    agent.on('regression:completed', (event) => reports.push(event));
    // The service degrades until the rewrite starts, then answers every gate run.
    agent.on('improvement:started', () => {
      server.failRate = 0;
      stand.gating = true;
    });
    server.failRate = 0.6;
    for (let call = 0; call < 40 && failed.length === 0; call += 1) {
      await agent.invoke('fetch_exchange_rate', { from: 'USD', to: 'ILS' }).catch(() => null);
      if (call % 5 === 4) await agent.idle();
    }
    await agent.idle();

    expect(reports).toHaveLength(1);
    const report = reports[0]?.report;
    expect(report).toMatchObject({ verdict: 'inconclusive', repeats: 12 });
    expect(report?.cases.every((result) => result.passed)).toBe(true);
    expect(report?.evidence[0]).toMatchObject({
      rule: 'latency',
      decision: 'undecided',
      pairs: 12,
      exceeding: 6,
    });
    expect(failed).toMatchObject([
      { toolName: 'fetch_exchange_rate', outcome: 'inconclusive', codes: ['INCONCLUSIVE'] },
    ]);
    expect(failed[0]?.reasons[0]).toMatch(
      /^attempt 1 \(gate\): INCONCLUSIVE: after 12 repeats .* 6 of 12 paired runs/,
    );
    expect((await agent.registry.active('fetch_exchange_rate')).version).toBe(1);
    const [finished] = await agent.registry.history('fetch_exchange_rate', { type: IMPROVEMENT_AUDIT_TYPE });
    expect(finished?.reason).toMatch(/^inconclusive: .* v1 is kept$/);
    expect(finished && readImprovementOutcome(finished)?.outcome).toBe('inconclusive');
    await agent.close();
    await storage.close();
  });
});

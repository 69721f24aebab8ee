/**
 * A tool's improvement story written straight into a storage adapter, for the report, HTML and
 * CLI tests: v1 degrades, v2 is promoted with gate evidence, then rolled back to v1, with
 * recorded calls before and after each change. Times are fixed (the caller moves `Date`).
 * {@link writeLongScenario} continues it: a 13-minute idle gap, a forward `sia rollback` to v2,
 * a long rewrite v3 promoted, and a pin.
 */

import { ToolRegistry } from '../../src/registry/tool-registry.ts';
import { IMPROVEMENT_AUDIT_TYPE } from '../../src/storage/audit-evidence.ts';
import type { InvocationRecord } from '../../src/storage/records.ts';
import type { StorageAdapter } from '../../src/storage/storage-adapter.ts';
import { createTool } from './create-tool.ts';

/** When the story starts (epoch ms); every event is a fixed offset from it. */
export const SCENARIO_START = Date.UTC(2025, 0, 1, 12, 0, 0);

/** The scenario's tool. */
export const SCENARIO_TOOL = 'fetch_rate';

export const SCENARIO_V1 = `function fetch_rate({ from, to }) {
  if (from === to) return 1;
  return from.length + to.length;
}`;

export const SCENARIO_V2 = `function fetch_rate({ from, to }) {
  if (from === to) return 1;
  // retried with back-off by the hardening rewriter
  return from.length + to.length;
}`;

/** Offsets (ms from SCENARIO_START) of the two version changes. */
export const PROMOTED_AT = SCENARIO_START + 40_000;
export const ROLLED_BACK_AT = SCENARIO_START + 61_000;

/**
 * Writes the story. `setTime` must make `Date.now()` return its argument (e.g. `vi.setSystemTime`),
 * because the registry and the store stamp their writes with it.
 *
 * Calls, in order (70): 20 healthy v1 calls (latency 100–140 ms), 20 degraded v1 calls (8
 * failures, 2000–2400 ms), promotion to v2, 20 v2 calls (200 ms), rollback to v1, 10 v1 calls
 * (150 ms). A second tool `add_numbers` has one version and 3 calls.
 */
export async function writeScenario(
  storage: StorageAdapter,
  setTime: (epochMs: number) => void,
): Promise<void> {
  const registry = new ToolRegistry({ storage, actor: 'agent-1' });
  setTime(SCENARIO_START - 1000);
  await createTool(
    registry,
    {
      name: SCENARIO_TOOL,
      description: 'Exchange rate between two currencies',
      inputSchema: {
        type: 'object',
        properties: { from: { type: 'string' }, to: { type: 'string' } },
        required: ['from', 'to'],
      },
      source: SCENARIO_V1,
      author: 'generator',
      examples: [{ input: { from: 'USD', to: 'USD' }, output: 1 }],
    },
    { reason: 'requested by the model: convert currencies' },
  );
  await createTool(registry, {
    name: 'add_numbers',
    description: 'Adds a and b',
    inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
    source: 'function add_numbers({ a, b }) { return a + b; }',
  });
  await storage.appendInvocations(
    [0, 1, 2].map((index) => call('add_numbers', 1, SCENARIO_START + index * 500, 5, true)),
  );

  const v1Calls: InvocationRecord[] = [];
  for (let index = 0; index < 20; index += 1) {
    v1Calls.push(call(SCENARIO_TOOL, 1, SCENARIO_START + index * 1000, 100 + (index % 5) * 10, true));
  }
  for (let index = 20; index < 40; index += 1) {
    const failed = index % 5 < 2;
    v1Calls.push(call(SCENARIO_TOOL, 1, SCENARIO_START + index * 1000, 2000 + (index % 5) * 100, !failed));
  }
  await storage.appendInvocations(v1Calls);

  setTime(PROMOTED_AT - 500);
  const v2 = await registry.addCandidate(SCENARIO_TOOL, {
    source: SCENARIO_V2,
    parentVersion: 1,
    reason: 'retry 429 responses with back-off',
    author: 'hardening',
  });
  setTime(PROMOTED_AT);
  await registry.promote(SCENARIO_TOOL, v2.version, {
    expectedActive: 1,
    reason: 'LOW_SUCCESS: gate passed (3 cases)',
    evidence: {
      evaluation: {
        score: 0.41,
        reasons: [
          { code: 'LOW_SUCCESS', message: 'success rate 0.60 (12 of 20 calls) is below the minimum 0.80' },
        ],
      },
      regression: {
        verdict: 'promote',
        passed: true,
        reasons: [],
        cases: [{ passed: true }, { passed: true }, { passed: true }],
        candidate: { medianLatencyMs: 3, errorRate: 0 },
        baseline: { medianLatencyMs: 4, errorRate: 0.25 },
      },
      shadow: null,
      loop: { calls: 20, ms: 20_000, attempts: 1, tokens: 0 },
    },
  });
  await storage.appendAudit({
    type: IMPROVEMENT_AUDIT_TYPE,
    toolName: SCENARIO_TOOL,
    actor: 'agent-1',
    reason: 'promoted',
    fromVersion: 1,
    toVersion: 2,
    evidence: { outcome: 'promoted', toVersion: 2, attempts: 1, tokens: 0, calls: 20, ms: 20_000 },
  });
  await storage.appendInvocations(
    Array.from({ length: 20 }, (_, index) =>
      call(SCENARIO_TOOL, 2, SCENARIO_START + 41_000 + index * 1000, 200, true),
    ),
  );

  setTime(ROLLED_BACK_AT);
  await registry.rollback(SCENARIO_TOOL, {
    reason: 'v2 answered slower than v1 in production',
    actor: 'cli',
    automatic: false,
  });
  await storage.appendInvocations(
    Array.from({ length: 10 }, (_, index) =>
      call(SCENARIO_TOOL, 1, SCENARIO_START + 62_000 + index * 1000, 150, true),
    ),
  );
  setTime(SCENARIO_START + 75_000);
  await storage.appendAudit({
    type: IMPROVEMENT_AUDIT_TYPE,
    toolName: SCENARIO_TOOL,
    actor: 'agent-1',
    reason: 'failed',
    fromVersion: 1,
    evidence: {
      outcome: 'failed',
      attempts: 2,
      tokens: 120,
      reasons: ['attempt 1 (gate): CASE_FAILED: case 1'],
    },
  });
}

function call(
  toolName: string,
  version: number,
  startedAt: number,
  latencyMs: number,
  success: boolean,
): InvocationRecord {
  return {
    toolName,
    version,
    startedAt,
    latencyMs,
    success,
    inputHash: `h${startedAt}`,
    ...(success ? {} : { errorCode: 'TOOL_ERROR', errorMessage: 'HTTP 429' }),
  };
}

/** The long scenario: when the person's `sia rollback --to 2` (forward, v1→v2) happened. */
export const FORWARD_AT = SCENARIO_START + 14 * 60_000;
/** The long scenario: when v3 (a long rewrite) was promoted. */
export const V3_PROMOTED_AT = FORWARD_AT + 40_000;
/** The long scenario: when alice pinned the tool. */
export const PINNED_AT = V3_PROMOTED_AT + 50_000;

/** v3: a long rewrite (its diff from v2 is well over a hundred lines). */
export const SCENARIO_V3 = [
  'function fetch_rate({ from, to }) {',
  '  if (from === to) return 1;',
  '  const table = {',
  ...Array.from(
    { length: 150 },
    (_, index) => `    C${String(index).padStart(3, '0')}: ${(1 + index / 100).toFixed(2)},`,
  ),
  '  };',
  '  return (table[from] ?? from.length) / (table[to] ?? to.length);',
  '}',
].join('\n');

/**
 * {@link writeScenario}, then (140 calls in all, the chart's buckets all full with the default
 * 20): 13 minutes without a call; a person's `sia rollback --to 2` (actor `cli`, recorded as a
 * rollback but forward, v1→v2); 30 v2 calls (200 ms); a long rewrite v3 (author
 * `llm-rewriter`) promoted v2→v3 by the agent with gate evidence; 40 v3 calls (80 ms, 2 failed);
 * `human:alice` pins the tool.
 */
export async function writeLongScenario(
  storage: StorageAdapter,
  setTime: (epochMs: number) => void,
): Promise<void> {
  await writeScenario(storage, setTime);
  const registry = new ToolRegistry({ storage, actor: 'agent-1' });
  setTime(FORWARD_AT);
  await registry.rollback(SCENARIO_TOOL, {
    to: 2,
    reason: 'rolled back with sia rollback',
    actor: 'cli',
    automatic: false,
  });
  await storage.appendInvocations(
    Array.from({ length: 30 }, (_, index) =>
      call(SCENARIO_TOOL, 2, FORWARD_AT + 1000 + index * 1000, 200, true),
    ),
  );
  setTime(V3_PROMOTED_AT - 2000);
  const v3 = await registry.addCandidate(SCENARIO_TOOL, {
    source: SCENARIO_V3,
    parentVersion: 2,
    reason: 'LATENCY: answer from a local table instead of the remote service',
    author: 'llm-rewriter',
  });
  setTime(V3_PROMOTED_AT);
  await registry.promote(SCENARIO_TOOL, v3.version, {
    expectedActive: 2,
    reason: 'LATENCY: gate passed (3 cases), median 3 ms vs 200 ms',
    evidence: {
      evaluation: {
        score: 0.78,
        reasons: [{ code: 'LATENCY', message: 'average latency 200 ms is above the target 100 ms' }],
      },
      regression: {
        verdict: 'promote',
        passed: true,
        reasons: [],
        cases: [{ passed: true }, { passed: true }, { passed: true }],
        candidate: { medianLatencyMs: 3, errorRate: 0 },
        baseline: { medianLatencyMs: 200, errorRate: 0 },
      },
    },
  });
  await storage.appendInvocations(
    Array.from({ length: 40 }, (_, index) =>
      call(SCENARIO_TOOL, 3, V3_PROMOTED_AT + 1000 + index * 1000, 80 + (index % 4) * 5, index % 20 !== 7),
    ),
  );
  setTime(PINNED_AT);
  await registry.pin(SCENARIO_TOOL, {
    actor: 'human:alice',
    reason: 'frozen while the rate service migrates',
  });
}

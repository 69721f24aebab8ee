/**
 * What the MCP tests share: a tool that fails on legacy input (v1) and its fix (v2), a
 * scripted rewriter that proposes the fix, agent options that promote it after a few calls, and
 * waiting for conditions and process exits (counted polls; their bounds only detect hangs).
 */
import type { AgentToolDefinition } from '../../src/agent/self-improving-agent.ts';
import { Evaluator } from '../../src/evaluation/evaluator.ts';
import type { Rewriter } from '../../src/rewriting/rewriter.ts';

/** `parse_amount` v1: throws on `legacy: true` input. */
export const PARSE_AMOUNT_V1 = `function parse_amount({ text, legacy }) {
  if (legacy) throw new Error('cannot parse legacy amount ' + text);
  return Number(text);
}`;

/** `parse_amount` v2: parses legacy amounts (`1,000`). */
export const PARSE_AMOUNT_V2 = `function parse_amount({ text, legacy }) {
  return Number(legacy ? String(text).replace(/,/g, '') : text);
}`;

/** `parse_amount` at v1, with a number output schema and one example. */
export const parseAmountTool: AgentToolDefinition = {
  name: 'parse_amount',
  description: 'Parses an amount',
  inputSchema: {
    type: 'object',
    properties: { text: { type: 'string' }, legacy: { type: 'boolean' } },
    required: ['text'],
  },
  outputSchema: { type: 'number' },
  source: PARSE_AMOUNT_V1,
  examples: [{ input: { text: '12.5' }, output: 12.5 }],
};

/** A tool that reads the secret `API_TOKEN` (served only when the app supplies it). */
export const readPrivateTool: AgentToolDefinition = {
  name: 'read_private',
  description: 'Reads with a token',
  inputSchema: { type: 'object', properties: {} },
  capabilities: { network: [], secrets: ['API_TOKEN'] },
  source: 'function read_private() { return { length: secrets.get("API_TOKEN").length }; }',
};

/** Proposes v2 for any version: the rewrite a model would write, without a model. */
export const fixingRewriter: Rewriter = {
  name: 'scripted',
  rewrite: async () => ({
    source: PARSE_AMOUNT_V2,
    rationale: 'parses legacy amounts',
    author: 'llm-rewriter',
  }),
};

/**
 * Agent options that evaluate every 5 calls on success alone (latency on a busy machine must
 * not decide) and promote the first rewrite that passes the gate, watched for 50 calls.
 */
export function promotingOptions() {
  return {
    rewriter: fixingRewriter,
    evaluator: new Evaluator({ policy: 'window', weights: { successRate: 1, latency: 0, consistency: 0 } }),
    improvement: { evaluateEvery: 5, cooldownMs: 0, watchCalls: 50, shadowCalls: 0 },
  };
}

/** Waits until `check` holds (polled every 20 ms, at most 2 min: a hang detector). */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  context: () => string = () => '',
): Promise<void> {
  for (let round = 0; round < 6000; round += 1) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const detail = context();
  throw new Error(`timed out waiting for ${what}${detail === '' ? '' : `; ${detail}`}`);
}

/** Whether process `pid` is still running. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until process `pid` has exited. */
export function exitOf(pid: number, context?: () => string): Promise<void> {
  return until(() => !isAlive(pid), `process ${pid} to exit`, context);
}

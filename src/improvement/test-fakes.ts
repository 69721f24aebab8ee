/**
 * Fakes shared by the improvement loop's unit tests: an evaluation, a gate report, a rewriter
 * that answers from a script, and a registry over the in-memory store. No sandbox, no model.
 */
import type { Evaluation } from '../evaluation/evaluation.ts';
import { ToolRegistry } from '../registry/tool-registry.ts';
import type { RegressionReport } from '../regression/regression-report.ts';
import type { RewriteProposal, RewriteRequest, Rewriter } from '../rewriting/rewriter.ts';
import { memoryStorage } from '../storage/memory-storage.ts';

export const V1 = 'function add({ a, b }) { return a + b; }';
export const V2 = 'function add({ a, b }) { return Number(a) + Number(b); }';

export function evaluationOf(score: number, needsRewrite = score < 0.7, version = 1): Evaluation {
  return {
    toolName: 'add',
    version,
    score,
    components: { successRate: score, latency: 1, consistency: 1 },
    needsRewrite,
    reasons: needsRewrite ? [{ code: 'LOW_SUCCESS', message: `success ${score}` }] : [],
    policy: 'sequential',
    evidence: [],
    feedback: { correct: 0, wrong: 0 },
    summary: {
      toolName: 'add',
      version,
      invocations: 20,
      successes: Math.round(score * 20),
      failures: 20 - Math.round(score * 20),
      successRate: score,
      latencyMs: null,
      recentErrors: ['TOOL_ERROR: boom'],
      firstAt: 1,
      lastAt: 2,
    },
    baseline: null,
    evaluatedAt: 3,
  };
}

export function reportOf(
  verdict: 'promote' | 'reject' | 'inconclusive',
  reasons: string[] = [],
): RegressionReport {
  return {
    toolName: 'add',
    passed: verdict === 'promote',
    verdict,
    reasons,
    evidence: [],
    cases: [],
    passRate: verdict === 'promote' ? 1 : 0,
    candidate: { version: null, medianLatencyMs: 1, errorRate: 0, runs: 3, errors: 0 },
    baseline: { version: 1, medianLatencyMs: 1, errorRate: 0, runs: 3, errors: 0 },
    repeats: 3,
    startedAt: 0,
    durationMs: 1,
  };
}

/** A rewriter that answers each request with the next scripted proposal (`null` declines). */
export function scriptedRewriter(answers: (RewriteProposal | null)[], seen: RewriteRequest[] = []): Rewriter {
  return {
    name: 'scripted',
    rewrite: async (request) => {
      seen.push(request);
      return answers.shift() ?? null;
    },
  };
}

export function proposal(source: string, tokens = 10, author = 'my-rewriter'): RewriteProposal {
  return {
    source,
    rationale: 'better',
    author,
    usage: { inputTokens: tokens, outputTokens: 0, totalTokens: tokens },
  };
}

/** A registry with the tool `add` (v1) on a fresh in-memory store. */
export async function registryWithTool(): Promise<ToolRegistry> {
  const registry = new ToolRegistry({ storage: memoryStorage(), actor: 'test' });
  await registry.create({
    name: 'add',
    description: 'Adds two numbers',
    inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } },
    source: V1,
  });
  return registry;
}

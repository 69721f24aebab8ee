/**
 * Builds `RewriteRequest`s for rewriter tests: a tool version whose window shows the given
 * reasons and errors, with every other field filled in plausibly.
 */
import type { Evaluation, EvaluationReasonCode } from '../../src/evaluation/evaluation.ts';
import type { MemorySummary } from '../../src/memory/index.ts';
import type { RejectedProposal, RewriteRequest, VisibleCase } from '../../src/rewriting/rewriter.ts';

/** What a test wants to vary. */
export interface RewriteRequestInput {
  readonly name?: string;
  readonly source: string;
  readonly network?: string[];
  readonly reasons?: EvaluationReasonCode[];
  readonly recentErrors?: string[];
  readonly successRate?: number;
  readonly invocations?: number;
  readonly p50?: number;
  readonly p95?: number;
  readonly visibleCases?: VisibleCase[];
  readonly previousAttempts?: RejectedProposal[];
}

const reasonMessages: Record<EvaluationReasonCode, string> = {
  LOW_SCORE: 'score 0.52 is below the threshold 0.60',
  LOW_SUCCESS: 'success rate 0.50 is below the minimum 0.80',
  SLOW: 'average latency 2400 ms is above the target 1000 ms',
  INCONSISTENT: 'latency spread 30–4800 ms makes the consistency 0.10',
  INSUFFICIENT_DATA: 'only 2 calls, fewer than 5',
  DEGRADED: 'success rate fell from 0.98 to 0.50',
  TOO_SLOW: '18 of the last 20 calls took longer than 5000 ms',
};

/** A complete request for `name` (default `fetch_rate`). */
export function rewriteRequest(input: RewriteRequestInput): RewriteRequest {
  const name = input.name ?? 'fetch_rate';
  const invocations = input.invocations ?? 20;
  const successRate = input.successRate ?? 0.5;
  const successes = Math.round(invocations * successRate);
  const recentErrors = input.recentErrors ?? ['HTTP 503'];
  const p50 = input.p50 ?? 120;
  const p95 = input.p95 ?? 400;
  const summary: MemorySummary = {
    toolName: name,
    version: 1,
    invocations,
    successes,
    failures: invocations - successes,
    successRate,
    latencyMs: { avg: (p50 + p95) / 2, min: p50 / 2, max: p95 * 1.2, p50, p95 },
    recentErrors: recentErrors.slice(0, 5),
    firstAt: 1_700_000_000_000,
    lastAt: 1_700_000_060_000,
  };
  const reasons = (input.reasons ?? ['LOW_SCORE', 'LOW_SUCCESS']).map((code) => ({
    code,
    message: reasonMessages[code],
  }));
  const evaluation: Evaluation = {
    toolName: name,
    version: 1,
    score: 0.52,
    components: {
      successRate,
      latency: reasons.some((reason) => reason.code === 'SLOW') ? 0.4 : 1,
      consistency: reasons.some((reason) => reason.code === 'INCONSISTENT') ? 0.1 : 1,
    },
    needsRewrite: true,
    reasons,
    summary,
    baseline: null,
    policy: 'sequential',
    evidence: [],
    feedback: { correct: 0, wrong: 0 },
    evaluatedAt: 1_700_000_060_000,
  };
  return {
    tool: {
      name,
      description: 'Fetches the exchange rate between two currencies.',
      inputSchema: {
        type: 'object',
        properties: { from: { type: 'string' }, to: { type: 'string' } },
        required: ['from', 'to'],
      },
      capabilities: { network: input.network ?? ['api.example.com'] },
    },
    source: input.source,
    version: 1,
    evaluation,
    summary,
    recentErrors,
    visibleCases: input.visibleCases ?? [],
    previousAttempts: input.previousAttempts ?? [],
  };
}

import type { FeedbackCounts, MemorySummary } from '../memory/index.ts';
import type { DecisionPolicy } from './evaluator-options.ts';

/**
 * Why an evaluation flagged (or could not judge) a tool version. Stable strings, safe to switch on.
 *
 * - `LOW_SCORE`: the weighted score is below the threshold.
 * - `LOW_SUCCESS`: the success rate is below `minSuccessRate`.
 * - `SLOW`: the average latency is above `targetLatencyMs` (the latency component is below 1).
 * - `INCONSISTENT`: the latency spread makes the consistency component low.
 * - `INSUFFICIENT_DATA`: fewer than `minInvocations` calls; the score is 1 and nothing is rewritten.
 * - `DEGRADED`: the version got worse: under the `'sequential'` policy a change test (failures
 *   or latency) saw it in the stream of calls; under `'window'` the current window is clearly
 *   worse than the same version's earlier window.
 * - `TOO_SLOW`: significantly more than half of the recent calls took longer than
 *   `maxLatencyMs` (`'sequential'` policy; needs a rewrite).
 */
export type EvaluationReasonCode =
  | 'LOW_SCORE'
  | 'LOW_SUCCESS'
  | 'SLOW'
  | 'INCONSISTENT'
  | 'INSUFFICIENT_DATA'
  | 'DEGRADED'
  | 'TOO_SLOW';

/**
 * One test behind a decision, as data and in words: what it measured, the statistic, the bound
 * it was compared with and the sample it used. Kept in the evaluation, the events and the audit
 * log.
 */
export interface DecisionEvidence {
  /**
   * Which test: `success-rate` (one-sided binomial test against `minSuccessRate`),
   * `failure-change` and `latency-change` (CUSUM change tests), `latency-limit` (sign test
   * against `maxLatencyMs`), `rollback` (the promotion watch's sequential probability ratio
   * test; `flagged` means roll back, `insufficient-data` that the watch goes on).
   */
  test: 'success-rate' | 'failure-change' | 'latency-change' | 'latency-limit' | 'rollback';
  /** What it concluded: `flagged` (the version needs a rewrite), `clear`, or too few calls. */
  outcome: 'flagged' | 'clear' | 'insufficient-data';
  /**
   * The test statistic: a p-value for `success-rate` and `latency-limit`, the CUSUM
   * log-likelihood ratio for the change tests, the log-likelihood ratio for `rollback`.
   */
  statistic: number;
  /**
   * What the statistic was compared with: the significance level (flagged below it) for the
   * level tests, the threshold h (flagged above it) for the change tests, the rollback bound
   * ln((1 − β)/α) for `rollback`.
   */
  bound: number;
  /** Calls the test used. */
  calls: number;
  /** Of those, the failed calls (`success-rate`, `failure-change`) or slow calls (latency tests). */
  events: number;
  /** The finding in a sentence a person can read. */
  summary: string;
}

/** One finding of an evaluation, with a sentence a person can read. */
export interface EvaluationReason {
  /** Which rule produced it. */
  code: EvaluationReasonCode;
  /** What was measured against what, e.g. "success rate 0.40 is below the minimum 0.80". */
  message: string;
}

/** The three parts of the score, each in [0, 1]. */
export interface ScoreComponents {
  /** Successful calls / calls in the window. */
  successRate: number;
  /** 1 at or below the target latency, falling linearly to 0 at the maximum. */
  latency: number;
  /** 1 for perfectly steady latency, lower as the spread grows. */
  consistency: number;
}

/** The result of {@link Evaluator.evaluate}: a score for one tool version, and why. */
export interface Evaluation {
  /** The tool that was scored. */
  toolName: string;
  /** The version that was scored; only its own records count. */
  version: number;
  /** Weighted score in [0, 1]. */
  score: number;
  /** The parts of the score. */
  components: ScoreComponents;
  /** True when any rewrite rule fired (see `reasons`). */
  needsRewrite: boolean;
  /** Every rule that fired, in a fixed order; empty for a healthy tool. */
  reasons: EvaluationReason[];
  /** The window that was scored. */
  summary: MemorySummary;
  /**
   * The same version's earlier window used for `DEGRADED` under the `'window'` policy, or null
   * (always null under the other policies).
   */
  baseline: MemorySummary | null;
  /** The decision policy that decided `needsRewrite` (see `EvaluatorOptions.policy`). */
  policy: DecisionPolicy;
  /**
   * Every test of the `'sequential'` policy with its statistic, bound and sample, flagged or
   * not; empty under the other policies.
   */
  evidence: DecisionEvidence[];
  /**
   * Feedback on the calls read (`agent.feedback`), shown apart from the success rate, in which
   * the wrong answers are already counted as failures (`WRONG_ANSWER`).
   */
  feedback: FeedbackCounts;
  /** When the evaluation ran, epoch ms. */
  evaluatedAt: number;
}

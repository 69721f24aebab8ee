import type { MemorySummary } from '../memory/index.ts';

/**
 * Why an evaluation flagged (or could not judge) a tool version. Stable strings, safe to switch on.
 *
 * - `LOW_SCORE`: the weighted score is below the threshold.
 * - `LOW_SUCCESS`: the success rate is below `minSuccessRate`.
 * - `SLOW`: the average latency is above `targetLatencyMs` (the latency component is below 1).
 * - `INCONSISTENT`: the latency spread makes the consistency component low.
 * - `INSUFFICIENT_DATA`: fewer than `minInvocations` calls; the score is 1 and nothing is rewritten.
 * - `DEGRADED`: the current window is clearly worse than the same version's earlier baseline.
 */
export type EvaluationReasonCode =
  | 'LOW_SCORE'
  | 'LOW_SUCCESS'
  | 'SLOW'
  | 'INCONSISTENT'
  | 'INSUFFICIENT_DATA'
  | 'DEGRADED';

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
  /** The same version's earlier window used for `DEGRADED`, or null when there was none. */
  baseline: MemorySummary | null;
  /** When the evaluation ran, epoch ms. */
  evaluatedAt: number;
}

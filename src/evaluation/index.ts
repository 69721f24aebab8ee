/**
 * Evaluation: scores of tool versions, the decisions taken on them, and the evidence behind them.
 * @packageDocumentation
 */
export {
  bernoulliCusum,
  type CusumResult,
  cautiousRate,
  MIN_BASELINE_RATE,
  type RatePrior,
  raisedRate,
  type SelfStartingCusumResult,
  selfStartingCusum,
} from './change-detection.ts';
export type {
  DecisionEvidence,
  Evaluation,
  EvaluationReason,
  EvaluationReasonCode,
  ScoreComponents,
} from './evaluation.ts';
export {
  callNeedsEvaluation,
  type LatencyTracker,
} from './evaluation-trigger.ts';
export {
  type EvaluateOptions,
  type EvaluationSource,
  Evaluator,
  judgedCalls,
  type VerdictCounts,
  WRONG_ANSWER,
} from './evaluator.ts';
export {
  type ConsistencyMode,
  type DecisionPolicy,
  type DegradationOptions,
  type EvaluatorOptions,
  LATENCY_FLOOR_MS,
  type ResolvedDegradationOptions,
  type ResolvedEvaluatorOptions,
  type ScoreWeights,
} from './evaluator-options.ts';
export {
  type RollbackBaseline,
  type RollbackDecision,
  type RollbackOutcome,
  type RollbackTestOptions,
  sequentialRollbackTest,
} from './rollback-test.ts';
export { INCONSISTENT_BELOW, type SummaryScore, scoreSummary } from './score-summary.ts';
export {
  type DecisionThresholds,
  decideSequential,
  decisionThresholds,
  type SequentialDecision,
  type SequentialInput,
} from './sequential-policy.ts';

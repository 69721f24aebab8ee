/**
 * Evaluation: scores of tool versions, and the reasons behind them.
 * @packageDocumentation
 */
export type { Evaluation, EvaluationReason, EvaluationReasonCode, ScoreComponents } from './evaluation.ts';
export { type EvaluateOptions, type EvaluationSource, Evaluator } from './evaluator.ts';
export type {
  ConsistencyMode,
  DegradationOptions,
  EvaluatorOptions,
  ResolvedDegradationOptions,
  ResolvedEvaluatorOptions,
  ScoreWeights,
} from './evaluator-options.ts';
export { INCONSISTENT_BELOW, type SummaryScore, scoreSummary } from './score-summary.ts';

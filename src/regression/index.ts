/**
 * Regression: test cases, harvesting, and the promotion gate's report.
 * @packageDocumentation
 */
export {
  type ApproxExpectation,
  checkExpectation,
  type Expectation,
  type ExpectationContext,
  type ExpectationResult,
  type JsonType,
  parseExpectation,
} from './expectation.ts';
export {
  binomialLowerTail,
  binomialUpperTail,
  errorEvidence,
  type GateLook,
  type LatencyMargin,
  latencyEvidence,
  lookSchedule,
  type PairedRun,
} from './gate-statistics.ts';
export { InvalidExpectationError, InvalidTestCaseError } from './regression-errors.ts';
export type {
  GateDecision,
  GateErrorEvidence,
  GateEvidence,
  GateEvidenceBase,
  GateLatencyEvidence,
  GateRule,
  RegressionCaseResult,
  RegressionRejectionCode,
  RegressionReport,
  RegressionSideStats,
  RunErrorInfo,
} from './regression-report.ts';
export {
  type AddCaseOptions,
  DEFAULT_DETERMINISM,
  exampleCases,
  type HarvestOptions,
  type HarvestResult,
  type HarvestSource,
  type RegressionCaseInput,
  RegressionRunner,
  type RegressionRunOptions,
} from './regression-runner.ts';
export {
  type RegressionRunnerOptions,
  type RegressionSandbox,
  type ResolvedRegressionRunnerOptions,
  resolveRegressionRunnerOptions,
} from './regression-runner-options.ts';
export { type CallOutcome, type ShadowResult, type ShadowVerdict, shadowGate } from './shadow-gate.ts';

/**
 * Improvement: the closed loop in named parts. The policy's guards, the lease, the daily budget,
 * `improveVersion` (rewrite → validate → gate, usable without an agent), the promotion watch,
 * and `ToolImprover`, which composes them for every tool.
 * @packageDocumentation
 */
export {
  type AttemptRejection,
  type ImprovementCandidate,
  type ImprovementGate,
  type ImprovementToolSource,
  type ImproveVersionOptions,
  type ImproveVersionResult,
  improveVersion,
} from './improve-version.ts';
export { type BudgetLedger, ImprovementBudget, type ImprovementBudgetOptions } from './improvement-budget.ts';
export type {
  AttemptStage,
  ImprovementAttemptFailedEvent,
  ImprovementEvents,
  ImprovementFailedEvent,
  ImprovementLoopEvidence,
  ImprovementSkippedEvent,
  ImprovementStartedEvent,
  RegressionCompletedEvent,
  SkipReason,
  ToolDegradedEvent,
  ToolEvaluatedEvent,
  ToolKeptEvent,
  ToolPromotedEvent,
  ToolRolledBackEvent,
} from './improvement-events.ts';
export { ImprovementLease, type ImprovementLeaseOptions, type LeaseStore } from './improvement-lease.ts';
export {
  type ImprovementOptions,
  type PromotionProposal,
  type ResolvedImprovementOptions,
  resolveImprovementOptions,
} from './improvement-options.ts';
export {
  checkLocalGuards,
  checkStoredGuards,
  type ImprovementPolicyOptions,
  type ImprovementSkip,
  type LocalToolState,
  needsImprovementCount,
  type StoredToolFacts,
} from './improvement-policy.ts';
export {
  PromotionWatch,
  type PromotionWatchParts,
  type Watch,
  type WatchOutcome,
  watchEvaluatorOptions,
} from './promotion-watch.ts';
export { ShadowPhase, type ShadowPhaseParts, type ShadowRun } from './shadow-phase.ts';
export { ToolImprover, type ToolImproverParts } from './tool-improver.ts';

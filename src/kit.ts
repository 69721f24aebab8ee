/**
 * `self-improving-agent/kit`: the plumbing under the public API, for authors of storage
 * adapters, rewriters, sandboxes and tools, and for tests. Apps import the package root; this
 * entry holds what the built-in parts share: canonical hashing and JSON Schema compilation, the
 * typed emitter, the plain-JSON check, the code extractor and validation codes, tool-name and
 * schema checks, the expectation checker, error classification, the window aggregate, the audit
 * vocabulary and its evidence readers, the `request_new_tool` schema, and every
 * `Resolved*Options` type (the options with their defaults applied).
 *
 * These names are as stable as the root's, but they are building blocks: most apps never need
 * them.
 * @packageDocumentation
 */

// --- agent ------------------------------------------------------------------------------------
export {
  isSensitiveHost,
  REQUEST_NEW_TOOL_DESCRIPTION,
  type RequestNewToolInput,
  type ResolvedCreationOptions,
  requestNewToolDescription,
  requestNewToolInput,
} from './agent/index.ts';
// --- core: hashing, JSON Schema, plain JSON, events, binomial tails -------------------------------------------
export {
  binomialAtLeast,
  binomialAtMost,
  type CompiledSchema,
  canonicalJson,
  type EventMap,
  hashValue,
  OUTPUT_SCHEMA_LIMITS,
  type OutputSchemaProblem,
  outputSchemaProblem,
  PLAIN_JSON_LIMITS,
  type PlainJsonOptions,
  type PlainJsonProblem,
  plainJsonProblem,
  SchemaCache,
  type SchemaCacheOptions,
  type SchemaViolation,
  TypedEmitter,
  type TypedEmitterOptions,
} from './core/index.ts';
// --- evaluation -------------------------------------------------------------------------------
export {
  bernoulliCusum,
  type CusumResult,
  callNeedsEvaluation,
  cautiousRate,
  type DecisionThresholds,
  decideSequential,
  decisionThresholds,
  INCONSISTENT_BELOW,
  judgedCalls,
  LATENCY_FLOOR_MS,
  type LatencyTracker,
  MIN_BASELINE_RATE,
  type RatePrior,
  type ResolvedDegradationOptions,
  type ResolvedEvaluatorOptions,
  raisedRate,
  type SelfStartingCusumResult,
  type SequentialDecision,
  type SequentialInput,
  selfStartingCusum,
  type VerdictCounts,
} from './evaluation/index.ts';
// --- generation -------------------------------------------------------------------------------
export { DEFAULT_MODEL_TIMEOUT_MS, extractCode, VALIDATION_ISSUE_CODES } from './generation/index.ts';
// --- improvement: the loop's parts, for composing a loop of your own ----------------------------
export {
  type BudgetLedger,
  checkLocalGuards,
  checkStoredGuards,
  ImprovementBudget,
  type ImprovementBudgetOptions,
  type ImprovementEvents,
  ImprovementLease,
  type ImprovementLeaseOptions,
  type ImprovementPolicyOptions,
  type ImprovementSkip,
  type LeaseStore,
  type LocalToolState,
  needsImprovementCount,
  PromotionWatch,
  type PromotionWatchParts,
  type ResolvedImprovementOptions,
  ShadowPhase,
  type ShadowPhaseParts,
  type ShadowRun,
  type StoredToolFacts,
  ToolImprover,
  type ToolImproverParts,
  type Watch,
  type WatchOutcome,
  watchEvaluatorOptions,
} from './improvement/index.ts';
// --- memory -----------------------------------------------------------------------------------
export type { ResolvedPerformanceMemoryOptions } from './memory/index.ts';
// --- registry ---------------------------------------------------------------------------------
export { checkToolName, TOOL_NAME_PATTERN, toInputSchema, toOutputSchema } from './registry/index.ts';
// --- regression -------------------------------------------------------------------------------
export {
  binomialLowerTail,
  binomialUpperTail,
  type CallOutcome,
  checkExpectation,
  DEFAULT_DETERMINISM,
  type ExpectationContext,
  type ExpectationResult,
  errorEvidence,
  type GateLook,
  type LatencyMargin,
  latencyEvidence,
  lookSchedule,
  type PairedRun,
  parseExpectation,
  type ResolvedRegressionRunnerOptions,
  type ShadowVerdict,
  shadowGate,
} from './regression/index.ts';
// --- rewriting --------------------------------------------------------------------------------
export {
  classifyError,
  type ErrorKind,
  type ResolvedHardeningRewriterOptions,
  type ResolvedLlmRewriterOptions,
} from './rewriting/index.ts';
// --- runtime ----------------------------------------------------------------------------------
export {
  type CatalogRegistry,
  type GrantedCapabilities,
  type RuntimeEvents,
  type ToolCallOutcome,
  ToolCatalog,
  ToolRuntime,
  type ToolRuntimeParts,
} from './runtime/index.ts';
// --- sandbox ----------------------------------------------------------------------------------
export {
  MAX_VALUE_DEPTH,
  type ResolvedNetworkOptions,
  type ResolvedSandboxOptions,
  SECRET_NAME_PATTERN,
} from './sandbox/index.ts';
// --- storage ----------------------------------------------------------------------------------
export {
  type AggregatableInvocation,
  type AuditedVersionChange,
  aggregateInvocations,
  type CallFeedback,
  FEEDBACK_AUDIT_TYPE,
  type FeedbackTally,
  IMPROVEMENT_AUDIT_TYPE,
  type ImprovementEvidence,
  improvementTokens,
  latencyHistogramIndex,
  RECENT_ERRORS_LIMIT,
  REGISTRY_AUDIT_TYPES,
  readEvaluationCalls,
  readFeedback,
  readImprovementOutcome,
  readVersionChange,
  type StoreLifecycle,
  type SummarizableBucket,
  summarizeHistory,
  tallyFeedback,
} from './storage/index.ts';
// --- telemetry: the spans' starter, for a loop or a tool path of your own ------------------------
export {
  AgentTracing,
  decisionAttributes,
  evaluationAttributes,
  ToolCallSpan,
  type ToolCallSpanEnd,
  type ToolCallSpanOutcome,
  type ToolCallSpanStart,
  TRACER_VERSION,
  TracedSpan,
} from './telemetry/index.ts';

/**
 * Storage: the {@link StorageAdapter} contract, its roles ({@link InvocationStore},
 * {@link ToolStore}, {@link Coordination}) and its built-in adapters.
 * @packageDocumentation
 */
export {
  type AggregatableInvocation,
  aggregateInvocations,
  type CallFeedback,
  RECENT_ERRORS_LIMIT,
} from './aggregate-invocations.ts';
export {
  type AuditedVersionChange,
  type GateSummary,
  IMPROVEMENT_AUDIT_TYPE,
  type ImprovementEvidence,
  type ImprovementOutcome,
  improvementTokens,
  REGISTRY_AUDIT_TYPES,
  readEvaluationCalls,
  readImprovementOutcome,
  readVersionChange,
  type ShadowSummary,
} from './audit-evidence.ts';
export type { ActiveVersionChange, Coordination } from './coordination.ts';
export {
  FEEDBACK_AUDIT_TYPE,
  type FeedbackTally,
  readFeedback,
  tallyFeedback,
} from './feedback-evidence.ts';
export type { InvocationStore } from './invocation-store.ts';
export {
  estimateLatencyPercentile,
  LATENCY_HISTOGRAM_BOUNDS_MS,
  latencyHistogramIndex,
} from './latency-histogram.ts';
export { memoryStorage } from './memory-storage.ts';
export type {
  AuditEntry,
  AuditQuery,
  CreatedTool,
  HistoryBucket,
  HistoryQuery,
  InvocationQuery,
  InvocationRecord,
  JsonObject,
  JsonValue,
  KnownVersionAuthor,
  LatencyStats,
  NewAuditEntry,
  NewTestCase,
  NewTool,
  NewToolVersion,
  RetentionPolicy,
  StoredInvocation,
  StoredTestCase,
  TestCaseOrigin,
  ToolAuditEntry,
  ToolCapabilities,
  ToolCounters,
  ToolKind,
  ToolRecord,
  ToolVersion,
  VersionAuthor,
  WindowAggregate,
} from './records.ts';
export {
  type NodeSqliteStorageOptions,
  nodeSqliteStorage,
  type SqlJsStorageOptions,
  StorageThreadError,
  sqlJsStorage,
} from './sqlite/index.ts';
export type { StorageAdapter } from './storage-adapter.ts';
export {
  StorageClosedError,
  StorageCorruptError,
  StorageInputError,
  StorageLockedError,
  StorageUnavailableError,
  ToolExistsError,
  ToolNotFoundError,
  VersionNotFoundError,
} from './storage-errors.ts';
export type { StoreLifecycle } from './store-lifecycle.ts';
export { type SummarizableBucket, summarizeHistory } from './summarize-history.ts';
export { isDisabled, toolKind } from './tool-state.ts';
export type {
  AddedTestCase,
  AddVersionOptions,
  CompareAndSetOptions,
  CompareAndSetResult,
  TestCaseAuditFactory,
  ToolStore,
  VersionAuditFactory,
} from './tool-store.ts';

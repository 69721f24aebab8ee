/**
 * Storage: the {@link StorageAdapter} contract and its built-in adapters.
 * @packageDocumentation
 */
export {
  type AggregatableInvocation,
  aggregateInvocations,
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
export { memoryStorage } from './memory-storage.ts';
export { type NodeSqliteStorageOptions, nodeSqliteStorage } from './node-sqlite-storage.ts';
export { type SqlJsStorageOptions, sqlJsStorage } from './sql-js-storage.ts';
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
export type {
  ActiveVersionChange,
  AuditEntry,
  AuditQuery,
  CompareAndSetOptions,
  CompareAndSetResult,
  CreatedTool,
  InvocationQuery,
  InvocationRecord,
  JsonObject,
  JsonValue,
  LatencyStats,
  NewAuditEntry,
  NewTestCase,
  NewTool,
  NewToolVersion,
  RetentionPolicy,
  StorageAdapter,
  StoredInvocation,
  StoredTestCase,
  TestCaseOrigin,
  ToolAuditEntry,
  ToolCapabilities,
  ToolCounters,
  ToolRecord,
  ToolVersion,
  VersionAuditFactory,
  VersionAuthor,
  WindowAggregate,
} from './types.ts';

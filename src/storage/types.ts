/**
 * Every type of the storage contract under one import path, for the folders that import them
 * from here (agent, registry, regression, generation, rewriting, report, cli): the records
 * live in `records.ts`, the roles in `invocation-store.ts`, `tool-store.ts`, `coordination.ts`
 * and `storage-adapter.ts`. New code imports from those files.
 */
export type { ActiveVersionChange, Coordination } from './coordination.ts';
export type { InvocationStore } from './invocation-store.ts';
export type {
  AuditEntry,
  AuditQuery,
  CreatedTool,
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
  ToolRecord,
  ToolVersion,
  VersionAuthor,
  WindowAggregate,
} from './records.ts';
export type { StorageAdapter } from './storage-adapter.ts';
export type { StoreLifecycle } from './store-lifecycle.ts';
export type {
  CompareAndSetOptions,
  CompareAndSetResult,
  ToolStore,
  VersionAuditFactory,
} from './tool-store.ts';

/**
 * Every type of the storage contract under its former import path, kept because most folders
 * outside storage (agent, registry, regression, cli, report, …) and the tests in `test/` import
 * from here. The records live in `records.ts`, the roles in `invocation-store.ts`,
 * `tool-store.ts`, `coordination.ts` and `storage-adapter.ts`; new code imports from those.
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

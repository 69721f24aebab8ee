/**
 * self-improving-agent: tools for AI agents that get better by themselves.
 *
 * The public API at a glance. Each folder's `index.ts` names what it contributes; this file
 * names what the package root exports.
 * @packageDocumentation
 */

// --- core: errors, events, logging ---------------------------------------------------------
export {
  type EventMap,
  InvalidOptionError,
  type Logger,
  SiaError,
  type SiaErrorOptions,
  TypedEmitter,
  type TypedEmitterOptions,
} from './core/index.ts';

// --- memory -----------------------------------------------------------------------------------
export {
  canonicalJson,
  hashValue,
  type MemoryDroppedEvent,
  MemoryFlushError,
  type MemoryFlushedEvent,
  type MemoryPrunedEvent,
  type MemoryRecordRejectedEvent,
  type MemoryStats,
  type MemoryStorageErrorEvent,
  type MemorySummary,
  PerformanceMemory,
  type PerformanceMemoryEvents,
  type PerformanceMemoryOptions,
  type RecordInput,
  type WindowOptions,
} from './memory/index.ts';

// --- sandbox ----------------------------------------------------------------------------------
export {
  type GuestErrorInfo,
  isSandboxError,
  QuickJsSandbox,
  type QuickJsSandboxOptions,
  type ResolvedNetworkOptions,
  type ResolvedSandboxOptions,
  type SandboxCall,
  SandboxClosedError,
  type SandboxDeterminism,
  SandboxError,
  type SandboxErrorCode,
  type SandboxErrorOptions,
  type SandboxIsolation,
  type SandboxLogEntry,
  type SandboxLogLevel,
  type SandboxNetworkOptions,
  type SandboxRunResult,
} from './sandbox/index.ts';

// --- storage ----------------------------------------------------------------------------------
export {
  type AggregatableInvocation,
  type AuditEntry,
  type AuditQuery,
  aggregateInvocations,
  type CompareAndSetResult,
  type InvocationQuery,
  type InvocationRecord,
  type JsonObject,
  type JsonValue,
  type LatencyStats,
  memoryStorage,
  type NewAuditEntry,
  type NewTestCase,
  type NewTool,
  type NewToolVersion,
  type NodeSqliteStorageOptions,
  nodeSqliteStorage,
  RECENT_ERRORS_LIMIT,
  type RetentionPolicy,
  type SqlJsStorageOptions,
  type StorageAdapter,
  StorageClosedError,
  StorageCorruptError,
  StorageInputError,
  StorageLockedError,
  StorageUnavailableError,
  type StoredInvocation,
  type StoredTestCase,
  sqlJsStorage,
  type TestCaseOrigin,
  type ToolCapabilities,
  type ToolCounters,
  ToolExistsError,
  ToolNotFoundError,
  type ToolRecord,
  type ToolVersion,
  type VersionAuthor,
  VersionNotFoundError,
  type WindowAggregate,
} from './storage/index.ts';

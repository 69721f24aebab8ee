import type {
  InvocationQuery,
  InvocationRecord,
  RetentionPolicy,
  StoredInvocation,
  WindowAggregate,
} from './records.ts';
import type { StoreLifecycle } from './store-lifecycle.ts';

/**
 * The metrics role of storage: where `PerformanceMemory` keeps the invocations it records.
 * A metrics-only backend implements just this (four methods plus the lifecycle); check it with
 * `runInvocationStoreContract` from `self-improving-agent/testing`.
 *
 * Errors: the built-in adapters throw `StorageInputError` for values they cannot store (e.g.
 * a `NaN` latency; nothing of the call is written) and `StorageClosedError` after `close()`.
 * All other failures are thrown as they come.
 *
 * @example
 * ```ts
 * const memory = new PerformanceMemory({ storage: myMetricsStore });
 * ```
 */
export interface InvocationStore extends StoreLifecycle {
  /** Appends a batch of invocations atomically (all or none). */
  appendInvocations(records: readonly InvocationRecord[]): Promise<void>;
  /** The most recent invocations matching `query`, newest first. */
  recentInvocations(query: InvocationQuery): Promise<StoredInvocation[]>;
  /** Aggregate over the most recent invocations matching `query`; costs O(limit), not O(history). */
  aggregateWindow(query: InvocationQuery): Promise<WindowAggregate>;
  /** Deletes invocations per `policy`; returns how many were deleted. */
  pruneInvocations(policy: RetentionPolicy): Promise<{ deleted: number }>;
}

import type {
  HistoryBucket,
  HistoryQuery,
  InvocationQuery,
  InvocationRecord,
  RetentionPolicy,
  StoredInvocation,
  WindowAggregate,
} from './records.ts';
import type { StoreLifecycle } from './store-lifecycle.ts';

/**
 * The metrics role of storage: where `PerformanceMemory` keeps the invocations it records.
 * A metrics-only backend implements just this (four methods plus the lifecycle, and optionally
 * `invocationHistory`); check it with
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
  /**
   * Deletes invocations per `policy`; returns how many were deleted. A store with
   * {@link InvocationStore.invocationHistory} folds the deleted rows into its rollups in the
   * same transaction: after a crash either the rows or their rollups are there, never both
   * or neither.
   */
  pruneInvocations(policy: RetentionPolicy): Promise<{ deleted: number }>;
  /**
   * A tool's whole history on a time grid: the rollups of pruned rows plus the rows still
   * stored, added up per (version, bucket), oldest first (then by version). Empty buckets are
   * left out. Optional: the report and `sia history` chart only the stored rows of a store
   * without it. The built-in adapters have it.
   */
  invocationHistory?(query: HistoryQuery): Promise<HistoryBucket[]>;
}

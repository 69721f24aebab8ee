import type { Coordination } from './coordination.ts';
import type { InvocationStore } from './invocation-store.ts';
import type { ToolStore } from './tool-store.ts';

/**
 * The whole storage contract: every role in one adapter, as the agent uses it. Implement it
 * to keep the library's data anywhere; check your implementation with `runStorageContract`
 * (and `runCoordinationContract` for the optional members) from `self-improving-agent/testing`.
 *
 * Every method is async so any backend (in memory, an embedded SQLite file, PostgreSQL, a
 * user's own) can implement it. The roles, each usable on its own:
 * - {@link InvocationStore}: the invocations `PerformanceMemory` records (a metrics-only
 *   backend implements just this);
 * - {@link ToolStore}: tools, versions, counters, test cases and audit entries, one change per
 *   transaction;
 * - {@link Coordination}: optional leases and change notifications between processes.
 *
 * The lifecycle members (`name`, `ready?`, `flush?`, `close`) are shared: an adapter has them
 * once.
 */
export interface StorageAdapter extends InvocationStore, ToolStore, Coordination {}

/**
 * The storage contract: what the library persists, independent of the backend.
 *
 * Every method is async so any backend (in memory, an embedded SQLite file, PostgreSQL, a
 * user's own) can implement it. Timestamps are epoch milliseconds. JSON columns hold
 * {@link JsonValue}s; adapters store and return them without interpreting them.
 */

import type { JsonObject, JsonValue } from '../core/json-value.ts';

export type { JsonObject, JsonValue };

/** The authors the library itself writes: the generator, its two rewriters, and a person. */
export type KnownVersionAuthor = 'generator' | 'llm-rewriter' | 'hardening' | 'human';

/**
 * Who wrote a tool version: one of the {@link KnownVersionAuthor}s, or any other short name (a
 * third-party rewriter signs its own versions).
 */
export type VersionAuthor = KnownVersionAuthor | (string & {});

/** Where a regression test case came from. */
export type TestCaseOrigin = 'manual' | 'example' | 'harvested';

// --- invocations ---------------------------------------------------------------------------

/** One call of one version of a tool, as recorded by `PerformanceMemory`. */
export interface InvocationRecord {
  /** The tool that was called. */
  toolName: string;
  /** The version that actually ran (not the newest one). */
  version: number;
  /** When the call started, epoch ms. */
  startedAt: number;
  /** Wall-clock duration of the call in ms. */
  latencyMs: number;
  /** Whether the call returned a value. */
  success: boolean;
  /** Stable error code when it failed, e.g. `TIMEOUT` or `TOOL_ERROR`. */
  errorCode?: string;
  /** Error message when it failed (already truncated by the caller). */
  errorMessage?: string;
  /** Hash of the canonical JSON of the input. */
  inputHash: string;
  /** Hash of the canonical JSON of the output, when it succeeded. */
  outputHash?: string;
  /** The input itself, only when the caller opted in to capture. */
  input?: JsonValue;
  /** The output itself, only when the caller opted in to capture. */
  output?: JsonValue;
}

/** An invocation as stored, with the id the store assigned (increasing in insertion order). */
export interface StoredInvocation extends InvocationRecord {
  /** Store-assigned id; later inserts get larger ids. */
  id: number;
}

/** Which invocations a read or an aggregate covers. */
export interface InvocationQuery {
  /** The tool. */
  toolName: string;
  /** Only this version; all versions when omitted. */
  version?: number;
  /** At most this many, the most recent first (by `startedAt`, then `id`). */
  limit: number;
  /** Only invocations that started at or after this time (epoch ms). */
  since?: number;
}

/** Latency statistics of a window, in ms. Percentiles use the nearest-rank method. */
export interface LatencyStats {
  avg: number;
  min: number;
  max: number;
  p50: number;
  p95: number;
}

/**
 * Aggregate of the most recent invocations matching an {@link InvocationQuery}. Every built-in
 * adapter computes it with `aggregateInvocations`, so they agree exactly.
 */
export interface WindowAggregate {
  /** Number of invocations in the window (≤ `limit`). */
  invocations: number;
  /** How many of them succeeded. */
  successes: number;
  /** Latency statistics; `null` when the window is empty. */
  latencyMs: LatencyStats | null;
  /**
   * Error messages of the most recent failures in the window, newest first (at most 5). A
   * failure without `errorMessage` contributes its `errorCode`, else `'unknown error'`.
   */
  recentErrors: string[];
  /** `startedAt` of the oldest invocation in the window; `null` when empty. */
  firstAt: number | null;
  /** `startedAt` of the newest invocation in the window; `null` when empty. */
  lastAt: number | null;
}

/** What to delete when pruning invocations. Every given rule applies. */
export interface RetentionPolicy {
  /** Keep at most this many of the most recent invocations per (tool, version). */
  maxRecordsPerVersion?: number;
  /** Delete invocations that started before this time (epoch ms). */
  olderThan?: number;
}

// --- tools and versions -----------------------------------------------------------------------

/** What a tool version may do beyond pure computation. */
export interface ToolCapabilities {
  /** `host[:port]` entries the tool may fetch from. */
  network: string[];
  /** Names of the app's secrets the tool may read with `secrets.get(name)` (never the values). */
  secrets?: string[];
}

/** A new, immutable version to add to a tool. */
export interface NewToolVersion {
  /** JavaScript source defining the entry function. */
  source: string;
  /** JSON Schema (object) of the tool's single input argument. */
  inputSchema: JsonObject;
  /** What the version may do. */
  capabilities: ToolCapabilities;
  /** The version this one was derived from; `null` for a first version. */
  parentVersion: number | null;
  /** Why this version exists. */
  reason: string;
  /** Who wrote it. */
  author: VersionAuthor;
}

/** A stored tool version. Never changes once written. */
export interface ToolVersion extends NewToolVersion {
  /** The tool it belongs to. */
  toolName: string;
  /** 1, 2, 3, … assigned by the store without gaps. */
  version: number;
  /** When it was added, epoch ms. */
  createdAt: number;
}

/**
 * Makes the audit entry of a version being added from the version as stored (its number is
 * assigned by the store). Called once inside the transaction of
 * {@link StorageAdapter.addVersion}, synchronously; when it throws, nothing is written.
 */
export type VersionAuditFactory = (version: ToolVersion) => ToolAuditEntry;

/** Per-tool counters that survive restarts. */
export interface ToolCounters {
  /** Rewrites promoted or attempted, as counted by the caller via `recordRewrite`. */
  rewrites: number;
  /** When the last rewrite was recorded, epoch ms; `null` if never. */
  lastRewriteAt: number | null;
}

/** A stored tool. */
export interface ToolRecord {
  /** snake_case name, unique in the store. */
  name: string;
  /** What the tool does, for the model. */
  description: string;
  /** When it was created, epoch ms. */
  createdAt: number;
  /** The version that serves calls. */
  activeVersion: number;
  /** Pinned tools are never changed automatically. */
  pinned: boolean;
  /** Counters that survive restarts. */
  counters: ToolCounters;
}

/** Input of {@link StorageAdapter.createTool}. */
export interface NewTool {
  name: string;
  description: string;
  /** Version 1, which becomes active. Its `parentVersion` must be `null`. */
  firstVersion: NewToolVersion;
  /** Regression test cases stored with the tool, in the same transaction. @default [] */
  testCases?: readonly NewTestCase[];
  /** The audit entry recording the creation, appended in the same transaction. */
  audit?: ToolAuditEntry;
}

/** Result of {@link StorageAdapter.createTool}. */
export interface CreatedTool {
  /** The new tool, version 1 active. */
  tool: ToolRecord;
  /** Its version 1. */
  version: ToolVersion;
  /** The stored `testCases`, in the given order (empty when none were given). */
  testCases: StoredTestCase[];
  /** The stored audit entry, when one was given. */
  audit?: AuditEntry;
}

/**
 * Result of {@link StorageAdapter.compareAndSetActive}: swapped (with the stored audit entry
 * when one was given), or not swapped because `actual` is active, or (`pinned: true`) because
 * the tool is pinned and the call asked for `requireUnpinned`.
 */
export type CompareAndSetResult =
  | { swapped: true; audit?: AuditEntry }
  | { swapped: false; actual: number; pinned?: true };

/** Options of {@link StorageAdapter.compareAndSetActive}. */
export interface CompareAndSetOptions {
  /**
   * Refuse the swap when the tool is pinned, judged in the same transaction (under the same
   * lock) as the compare itself, so a pin that lands just before the swap is always seen: the
   * result is then `{ swapped: false, actual, pinned: true }` and nothing is written.
   * @default false
   */
  requireUnpinned?: boolean;
}

// --- regression test cases ------------------------------------------------------------------

/** A regression test case to store. `expect` is opaque to storage. */
export interface NewTestCase {
  /** The tool's input for this case. */
  input: JsonValue;
  /** The expectation, as the regression runner defines it. */
  expect: JsonValue;
  /** What the case checks, for people. */
  description: string;
  /** Where it came from. */
  origin: TestCaseOrigin;
  /** Hash of the canonical input, used to de-duplicate harvested cases. */
  inputHash?: string;
  /** Latency budget for this case in ms. */
  maxLatencyMs?: number;
  /** Held-out cases are never shown to a rewriter. @default false */
  heldOut?: boolean;
}

/** A stored regression test case. */
export interface StoredTestCase extends NewTestCase {
  /** Store-assigned id, increasing in insertion order. */
  id: number;
  /** The tool it tests. */
  toolName: string;
  /** When it was added, epoch ms. */
  createdAt: number;
  heldOut: boolean;
}

// --- audit log ----------------------------------------------------------------------------------

/** An entry to append to the audit log. */
export interface NewAuditEntry {
  /** What happened, e.g. `tool:created`, `tool:promoted`, `tool:rolled-back`. */
  type: string;
  /** The tool concerned, if any. */
  toolName?: string;
  /** Who or what did it, e.g. `agent`, `cli`, `human:alice`. */
  actor: string;
  /** Why, in words. */
  reason: string;
  /** Version before the change, if any. */
  fromVersion?: number;
  /** Version after the change, if any. */
  toVersion?: number;
  /** Evidence as JSON (evaluation, regression report, diff, …). */
  evidence?: JsonValue;
  /** When, epoch ms. @default Date.now() */
  at?: number;
}

/**
 * An audit entry written by the same transaction as the change it records (creation,
 * activation, pin): the store sets its `toolName` to the tool changed.
 */
export type ToolAuditEntry = Omit<NewAuditEntry, 'toolName'>;

/** A stored audit entry. */
export interface AuditEntry extends NewAuditEntry {
  /** Store-assigned id, increasing in insertion order. */
  id: number;
  at: number;
  evidence: JsonValue;
}

/** Filter of {@link StorageAdapter.listAudit}. */
export interface AuditQuery {
  /** Only entries about this tool. */
  toolName?: string;
  /** Only entries of this type. */
  type?: string;
  /** Only entries at or after this time (epoch ms). */
  since?: number;
  /** At most this many, the OLDEST first after filtering (use with `afterId` to page). */
  limit?: number;
  /** Only entries with an id greater than this (for paging). */
  afterId?: number;
}

// --- coordination between processes (optional capabilities) -------------------------------------

/** A tool's active version changed (or a tool was created), as seen by {@link StorageAdapter.watchActive}. */
export interface ActiveVersionChange {
  /** The tool. */
  toolName: string;
  /** Its active version now. */
  activeVersion: number;
}

// --- the adapter ------------------------------------------------------------------------------

/**
 * The storage contract. Implement it to keep the library's data anywhere; check your
 * implementation with `runStorageContract` from `self-improving-agent/testing`.
 *
 * Errors: a missing tool or version is reported by returning `undefined` from readers and by
 * throwing `ToolNotFoundError` / `VersionNotFoundError` from writers; creating a tool that
 * exists throws `ToolExistsError`. The built-in adapters also throw `StorageInputError` for
 * values they cannot store (e.g. a `NaN` latency; nothing of the call is written) and
 * `StorageClosedError` after `close()`. All other failures are thrown as they come.
 *
 * One change, one transaction: `createTool`, `addVersion`, `compareAndSetActive` and `setPinned` take the
 * audit entry (and `createTool` the test cases) that belong to the change and write them in
 * the same transaction as the change itself, all or nothing. A call that throws must leave the
 * store as it was, so the caller can retry it.
 */
export interface StorageAdapter {
  /** Adapter name for diagnostics, e.g. `sql.js`. */
  readonly name: string;

  /**
   * Opens the store now (loading files, taking locks, running migrations) instead of at the
   * first call, so that errors such as `StorageLockedError` surface at start-up. Optional:
   * every method opens the store on first use anyway.
   */
  ready?(): Promise<void>;
  /**
   * Makes everything written so far durable (for stores that persist off the hot path).
   * Resolves only after the data reached the disk. Optional: stores that are durable per write
   * do not need it.
   */
  flush?(): Promise<void>;
  /** Flushes and releases every resource (files, locks, connections). Idempotent. */
  close(): Promise<void>;

  // invocations
  /** Appends a batch of invocations atomically (all or none). */
  appendInvocations(records: readonly InvocationRecord[]): Promise<void>;
  /** The most recent invocations matching `query`, newest first. */
  recentInvocations(query: InvocationQuery): Promise<StoredInvocation[]>;
  /** Aggregate over the most recent invocations matching `query`; costs O(limit), not O(history). */
  aggregateWindow(query: InvocationQuery): Promise<WindowAggregate>;
  /** Deletes invocations per `policy`; returns how many were deleted. */
  pruneInvocations(policy: RetentionPolicy): Promise<{ deleted: number }>;

  // tools and versions
  /**
   * Creates a tool with its version 1 as the active version, its `testCases` and its `audit`
   * entry, in one transaction: when any part fails nothing is written. Throws `ToolExistsError`.
   */
  createTool(tool: NewTool): Promise<CreatedTool>;
  /** The tool, or `undefined`. */
  getTool(name: string): Promise<ToolRecord | undefined>;
  /** Every tool, by name. */
  listTools(): Promise<ToolRecord[]>;
  /**
   * Adds the next version (number assigned by the store, no gaps), appending the audit entry
   * `audit` makes from the stored version in the same transaction: both or neither. Throws
   * `ToolNotFoundError`.
   */
  addVersion(toolName: string, version: NewToolVersion, audit?: VersionAuditFactory): Promise<ToolVersion>;
  /** One version, or `undefined`. */
  getVersion(toolName: string, version: number): Promise<ToolVersion | undefined>;
  /** Every version of a tool, oldest first (empty when the tool does not exist). */
  listVersions(toolName: string): Promise<ToolVersion[]>;
  /** The active version of a tool, or `undefined` when the tool does not exist. */
  getActiveVersion(toolName: string): Promise<ToolVersion | undefined>;
  /**
   * Sets the active version to `next` only if it is currently `expected` (atomic
   * compare-and-swap), appending `audit` in the same transaction when the swap happens (none
   * when it does not). With `options.requireUnpinned` a pinned tool is not swapped
   * (`pinned: true` in the result), judged inside the same transaction. When any part fails
   * nothing is written. Throws `ToolNotFoundError` / `VersionNotFoundError` when the tool or
   * `next` does not exist.
   */
  compareAndSetActive(
    toolName: string,
    expected: number,
    next: number,
    audit?: ToolAuditEntry,
    options?: CompareAndSetOptions,
  ): Promise<CompareAndSetResult>;
  /**
   * Pins or unpins a tool, appending `audit` in the same transaction; resolves with the stored
   * entry (`undefined` without `audit`). When any part fails nothing is written. Throws
   * `ToolNotFoundError`.
   */
  setPinned(toolName: string, pinned: boolean, audit?: ToolAuditEntry): Promise<AuditEntry | undefined>;
  /** Adds one to the tool's rewrite counter and sets its last rewrite time. Throws `ToolNotFoundError`. */
  recordRewrite(toolName: string, at: number): Promise<ToolCounters>;

  // regression test cases
  /** Stores a test case. Throws `ToolNotFoundError`. */
  addTestCase(toolName: string, testCase: NewTestCase): Promise<StoredTestCase>;
  /** The tool's test cases, oldest first. */
  listTestCases(toolName: string): Promise<StoredTestCase[]>;
  /** Removes a test case; false when there was none with that id for that tool. */
  removeTestCase(toolName: string, id: number): Promise<boolean>;

  // audit log (append-only)
  /** Appends an entry. */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Entries matching `query`, oldest first. */
  listAudit(query?: AuditQuery): Promise<AuditEntry[]>;

  // coordination (optional: stores shared by several processes implement them; without them
  // a caller falls back to in-process coordination)
  /**
   * Tries to take the lease `key` for `holder` for `ttlMs` ms. Resolves true when `holder` now
   * holds it: the lease was free, its previous holder let it expire, or `holder` already held
   * it (then it is extended to `ttlMs` from now). Resolves false while another holder's lease
   * runs. Atomic across every process sharing the store; expiry is judged by the store's clock.
   *
   * A lease is advisory and has no fencing: a holder paused past its expiry may still act, so
   * keep protecting the final write itself (`compareAndSetActive` does). Renew well before
   * expiry (e.g. every `ttlMs / 3`) and stop working when a renewal resolves false.
   *
   * @example
   * ```ts
   * const holder = `${hostname()}:${process.pid}:${randomUUID()}`;
   * if (await storage.acquireLease?.(`improve:${toolName}`, holder, 60_000)) {
   *   try { await improve(toolName); } finally { await storage.releaseLease?.(`improve:${toolName}`, holder); }
   * }
   * ```
   */
  acquireLease?(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives up the lease `key` if `holder` holds it; does nothing otherwise. */
  releaseLease?(key: string, holder: string): Promise<void>;
  /**
   * Calls `listener` after a tool's active version changed through any adapter on the same
   * store (this process or another), and after a tool was created (`activeVersion: 1`).
   * Returns the function that unsubscribes. Delivery is at least once: a listener may hear
   * of a version it already knows, and when the store falls back to polling (or is still
   * setting the subscription up, as PostgreSQL's LISTEN connection after the first subscribe)
   * only the latest version of each tool is reported; treat each call as "the active version
   * is now N".
   * A listener that throws does not stop the others.
   */
  watchActive?(listener: (change: ActiveVersionChange) => void): () => void;
}

/**
 * The records of the storage contract: what the library persists, independent of the backend.
 * The roles that store them are `InvocationStore`, `ToolStore` and `Coordination`;
 * `StorageAdapter` is all three.
 *
 * Timestamps are epoch milliseconds. JSON columns hold {@link JsonValue}s; adapters store and
 * return them without interpreting them.
 */

import type { JsonObject, JsonValue } from '../core/json-value.ts';

export type { JsonObject, JsonValue };

/**
 * The authors the library itself writes versions as; `host` marks a version of a host tool (the
 * app's own function, measured under the app's label, see {@link ToolKind}).
 */
export type KnownVersionAuthor = 'generator' | 'llm-rewriter' | 'hardening' | 'human' | 'host';

/**
 * What a tool is:
 * - `sandboxed`: JavaScript source run in the QuickJS sandbox; its versions are written by the
 *   generator, the rewriters or the app, and the library may rewrite it.
 * - `host`: the app's own function (an AI SDK tool's `execute`), run on the host and only
 *   measured: its versions carry no source (`source: ''`), are named by the app's label (a
 *   release, a git sha) and are never rewritten.
 */
export type ToolKind = 'sandboxed' | 'host';

/**
 * Who wrote a tool version: one of the {@link KnownVersionAuthor}s, or any other name (a
 * third-party rewriter names itself, e.g. `'my-rewriter'`). Stores accept any non-empty
 * string of at most 64 characters.
 */
// `string & {}` keeps editors suggesting the known names: a bare `| string` would swallow them.
export type VersionAuthor = KnownVersionAuthor | (string & {});

/**
 * Where a regression test case came from: written by the app (`manual`), a tool's `examples`,
 * harvested from recorded calls, or the expected output of `agent.feedback` (`feedback`).
 */
export type TestCaseOrigin = 'manual' | 'example' | 'harvested' | 'feedback';

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

/**
 * What to delete when pruning invocations. Every given rule applies, in this order: `olderThan`,
 * `maxRecordsPerVersion`, then `maxRecords` over what is left.
 *
 * A store with `invocationHistory` first folds the rows it deletes into per-minute rollups, in
 * the same transaction (see {@link HistoryBucket}), so a tool's history outlives its rows.
 */
export interface RetentionPolicy {
  /** Keep at most this many of the most recent invocations per (tool, version). */
  maxRecordsPerVersion?: number;
  /**
   * Keep at most this many invocations in the whole store, over every tool and version: the
   * rows inserted first (smallest ids) go first. Ids follow insertion, and `PerformanceMemory`
   * inserts calls as they finish, so these are the oldest calls.
   */
  maxRecords?: number;
  /** Delete invocations that started before this time (epoch ms). */
  olderThan?: number;
  /**
   * The time the prune runs at, epoch ms: rollups coarsen by their age relative to it (minute
   * buckets for the last day, hour buckets for the last 30 days, day buckets before; see
   * {@link HistoryBucket}). Only stores with `invocationHistory` read it.
   * @default Date.now()
   */
  now?: number;
}

/** Which history `InvocationStore.invocationHistory` returns. */
export interface HistoryQuery {
  /** The tool. */
  toolName: string;
  /** Only this version; every version (each in buckets of its own) when omitted. */
  version?: number;
  /**
   * Only calls that started at or after this time (epoch ms), rounded down to a multiple of
   * `bucketMs`, so the first bucket is whole.
   * @default the tool's first call
   */
  since?: number;
  /**
   * Only calls that started before this time (epoch ms), rounded up to a multiple of
   * `bucketMs`, so the last bucket is whole.
   * @default no end
   */
  until?: number;
  /**
   * Width of the buckets in ms: a whole number of minutes (60_000, 300_000, 3_600_000, …).
   * Buckets start at multiples of it since the epoch (UTC).
   * @default 60_000
   */
  bucketMs?: number;
}

/**
 * The calls of one version of a tool in one time bucket, as `invocationHistory` returns them:
 * the rows still stored and the rollups of pruned rows, added up. Counts, sums, min/max, the
 * histogram and the error counts are exact; percentiles can only be estimated from the
 * histogram (`estimateLatencyPercentile`).
 *
 * Rollups coarsen with age, so they stay bounded: a minute of calls is kept as a minute for a
 * day, then merged into its hour; an hour is kept for 30 days, then merged into its day (UTC);
 * days are kept for the life of the store. After a prune, a (tool, version) has at most 1,500
 * minute rollups (a day and an hour), 770 hour rollups (31 days and a day) and one day rollup per
 * older day it was called on. A rollup coarser than `bucketMs`, or not aligned to its
 * grid, comes back as a bucket of its own width (`widthMs`), with the stored rows and finer
 * rollups that start inside it added to it; it is in the range when its start is.
 */
export interface HistoryBucket {
  /** The version whose calls these are. */
  version: number;
  /** Start of the bucket, epoch ms: a multiple of `widthMs`. */
  start: number;
  /** Width of the bucket, ms: the query's `bucketMs`, or a coarser rollup's own width. */
  widthMs: number;
  /** Calls that started in the bucket. */
  calls: number;
  /** How many of them succeeded. */
  successes: number;
  /** Sum of their latencies, ms (the mean is `latencySumMs / calls`). */
  latencySumMs: number;
  /** Smallest latency, ms. */
  latencyMinMs: number;
  /** Largest latency, ms. */
  latencyMaxMs: number;
  /**
   * Calls per latency range: entry `i` counts latencies in
   * (`LATENCY_HISTOGRAM_BOUNDS_MS[i − 1]`, `LATENCY_HISTOGRAM_BOUNDS_MS[i]`] (from 0 for
   * `i = 0`); the last entry counts those above the last bound.
   */
  latencyHistogram: number[];
  /** Failures per error code; a failure without a code counts as `ERROR`. */
  errorCodes: Record<string, number>;
  /** How many of `calls` are known from rollups only (their rows were pruned); 0 when none. */
  rolledUpCalls: number;
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
  /**
   * JSON Schema of the tool's result, when the version declares one: a successful run whose
   * value does not match it counts as a failure with code `INVALID_OUTPUT`. Absent when the
   * version has none (every JSON result is accepted).
   */
  outputSchema?: JsonObject;
  /** What the version may do. */
  capabilities: ToolCapabilities;
  /** The version this one was derived from; `null` for a first version. */
  parentVersion: number | null;
  /** Why this version exists. */
  reason: string;
  /** Who wrote it. */
  author: VersionAuthor;
  /**
   * The app's name for this version (a release, a git sha): 1 to 128 characters, no control
   * characters. Host tools' versions carry one; any version may. Stores do not require labels to
   * be unique per tool (the registry looks them up). Absent when the version has none.
   */
  label?: string;
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
  /**
   * What the tool is; absent means `'sandboxed'` (adapters written before host tools). The
   * built-in adapters always return it. Read it with `toolKind(record)`.
   */
  kind?: ToolKind;
  /**
   * Whether the tool is disabled (its calls are refused, its history is kept); absent means
   * `false`. The built-in adapters always return it. Read it with `isDisabled(record)`.
   */
  disabled?: boolean;
}

/** Input of `ToolStore.createTool`. */
export interface NewTool {
  name: string;
  description: string;
  /** What the tool is. @default 'sandboxed' */
  kind?: ToolKind;
  /** Version 1, which becomes active. Its `parentVersion` must be `null`. */
  firstVersion: NewToolVersion;
  /** Regression test cases stored with the tool, in the same transaction. @default [] */
  testCases?: readonly NewTestCase[];
  /** The audit entry recording the creation, appended in the same transaction. */
  audit?: ToolAuditEntry;
}

/** Result of `ToolStore.createTool`. */
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

/** Filter of `ToolStore.listAudit`. */
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

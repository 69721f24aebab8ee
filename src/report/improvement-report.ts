import type { AuditedVersionChange, ImprovementOutcome } from '../storage/audit-evidence.ts';
import type { FeedbackTally } from '../storage/feedback-evidence.ts';
import type { ToolRecord, VersionAuthor } from '../storage/records.ts';

/**
 * What {@link collectReport} read from a store: every tool's versions, how its calls went over
 * time, and each change of its active version with the evidence behind it. Plain JSON (no
 * class instances, no `undefined`), so it can be printed with `JSON.stringify` and rendered
 * later with `renderHtmlReport`.
 *
 * Every string in it comes from storage and is untrusted (tool names, reasons, sources and
 * diffs may have been written by an LLM): escape it before putting it into markup.
 */
export interface ImprovementReport {
  /** When the report was collected, epoch ms. */
  generatedAt: number;
  /** Name of the storage adapter it was read from, e.g. `sql.js`. */
  storage: string;
  /**
   * Calls per point of each tool's series, and the size of each version's `recent` window
   * (the evaluator's window, 20 by default: the same window `sia tools` shows).
   */
  bucketSize: number;
  /** Most calls read per tool (the most recent ones). */
  maxCallsPerTool: number;
  /**
   * Tools the model created (their version 1 was written by the generator), counted over the
   * whole store: what the agent's `creation.maxTools` limits. `collectReport` always sets it
   * (absent in reports collected by earlier releases).
   */
  createdByModel?: number;
  /** The `creation.maxTools` the count is shown against (`collectReport`'s `maxTools` option). */
  maxTools?: number;
  /** One entry per tool, by name. */
  tools: ToolReport[];
}

/**
 * Everything the report says about one tool. `collectReport` always sets the record's `kind`
 * and `disabled` (read them with `toolKind` / `isDisabled`: a report collected by an earlier
 * release has neither).
 */
export interface ToolReport extends ToolRecord {
  /** Calls read for this report (at most `maxCallsPerTool`, the most recent). */
  calls: number;
  /**
   * Calls known from the store's history only (`invocationHistory`): pruned into rollups, or
   * stored but older than the calls read. The series and the call-order axis cover
   * `historyCalls + calls` calls; 0 for a store without history (or with `history: false`).
   */
  historyCalls: number;
  /**
   * True when the tool has more stored calls than were read. Without history the series then
   * starts later than the tool; with history the older ones are charted from it.
   */
  truncated: boolean;
  /** Every version, oldest first. */
  versions: VersionReport[];
  /** Score, success rate and latency over consecutive buckets of calls, oldest first. */
  series: ReportPoint[];
  /** Promotions and rollbacks from the audit log, oldest first. */
  changes: VersionChange[];
  /** Pins and unpins from the audit log, oldest first. */
  pins: PinChange[];
  /**
   * Long pauses between consecutive calls (the chart's x-axis counts calls, so a pause takes
   * no room there and is marked instead), oldest first; at most the 10 longest.
   */
  gaps: IdleGap[];
  /**
   * The active version's calls since it last became active (its last promotion or rollback
   * into it; since it was created when there was none), among the calls read.
   */
  activeSince: ActiveSince;
  /** Outcomes of the agent's improvement attempts (`improvement:finished` entries), oldest first. */
  improvements: ImprovementOutcome[];
}

/** One version of a tool, with how its own calls went. */
export interface VersionReport {
  /** The version number. */
  version: number;
  /** The app's name for the version (a release, a git sha), when it has one. */
  label?: string;
  /** Who wrote it. */
  author: VersionAuthor;
  /** Why it exists. */
  reason: string;
  /** When it was added, epoch ms. */
  createdAt: number;
  /** The version it was derived from; `null` for version 1. */
  parentVersion: number | null;
  /** True for the active version. */
  active: boolean;
  /** Calls of this version among those read (all of them unless the tool is `truncated`). */
  calls: number;
  /**
   * The app's verdicts on this version's answers (`agent.feedback`), from the audit log, so every
   * process sees them: apart from `successRate`, which only counts calls that did not throw.
   */
  feedback: FeedbackTally;
  /** Successful calls / calls, over all `calls`; `null` without calls. */
  successRate: number | null;
  /** p95 latency over all `calls`, ms; `null` without calls. */
  p95LatencyMs: number | null;
  /**
   * Score of the version's most recent `bucketSize` calls (the `recent` window, the one the
   * evaluator scores); `null` when they are too few to score (fewer than the evaluator's
   * `minInvocations`).
   */
  score: number | null;
  /** The version's most recent `bucketSize` calls (fewer when it has fewer). */
  recent: CallWindow;
  /**
   * The version's whole life, from the store's history (stored calls and rollups of pruned
   * ones; p95 estimated from a latency histogram); `null` for a store without history (or with
   * `history: false`).
   */
  lifetime: LifetimeWindow | null;
}

/** A version's numbers over its whole life, from history. */
export interface LifetimeWindow extends CallWindow {
  /** How many of `calls` are known from rollups only (their rows were pruned). */
  rolledUpCalls: number;
}

/** Success rate and p95 latency over a window of calls. */
export interface CallWindow {
  /** Calls in the window. */
  calls: number;
  /** Successful calls / calls; `null` without calls. */
  successRate: number | null;
  /** p95 latency, ms (nearest rank); `null` without calls. */
  p95LatencyMs: number | null;
}

/** The active version's calls since it became active (see {@link ToolReport.activeSince}). */
export interface ActiveSince extends CallWindow {
  /** The version. */
  version: number;
  /** When it last became active, epoch ms; `null` when it has been active since it was created. */
  at: number | null;
}

/** A pause between two consecutive calls of a tool. */
export interface IdleGap {
  /** Calls before the pause (its position on the call-order axis). */
  afterCall: number;
  /** Start of the last call before it, epoch ms. */
  from: number;
  /** Start of the first call after it, epoch ms. */
  to: number;
}

/** A tool was pinned or unpinned. */
export interface PinChange {
  /** `pinned` or `unpinned`. */
  kind: 'pinned' | 'unpinned';
  /** When, epoch ms. */
  at: number;
  /** Calls that started before it (its position on the call-order axis). */
  atCall: number;
  /** Who. */
  actor: string;
  /** Why, as recorded. */
  reason: string;
}

/**
 * One point of a time series: a bucket of consecutive calls of a tool (any version), either all
 * read (exact) or all known from history only (`approximate`).
 */
export interface ReportPoint {
  /** Position of the bucket's first call on the call-order axis, from 1 (oldest). */
  firstCall: number;
  /** Start of the first call in the bucket, epoch ms (of its minute when `approximate`). */
  from: number;
  /** Start of the last call in the bucket, epoch ms (of its minute when `approximate`). */
  to: number;
  /**
   * Calls in the bucket: `bucketSize` for calls read (fewer for the last of a run); at least
   * `bucketSize` from history (one history bucket is never split; fewer for the last of a run).
   */
  calls: number;
  /** Successful calls / calls. */
  successRate: number;
  /** Median latency, ms (nearest rank). */
  p50LatencyMs: number;
  /** 95th percentile latency, ms (nearest rank). */
  p95LatencyMs: number;
  /**
   * The evaluator's score of the bucket (`scoreSummary`); 1 for a bucket smaller than the
   * evaluator's `minInvocations`, which is then listed in `insufficientData`.
   */
  score: number;
  /** True when the bucket had too few calls to be scored (its score is 1 by convention). */
  insufficientData: boolean;
  /** The versions whose calls are in the bucket, ascending. */
  versions: number[];
  /**
   * True when the calls are known from history only (pruned into rollups, or not read): counts
   * and the mean are exact, p50/p95 estimated from a latency histogram, times at minute
   * precision.
   */
  approximate: boolean;
}

/** A change of a tool's active version, from the audit log, placed among the calls. */
export interface VersionChange extends AuditedVersionChange {
  /** Calls that started before the change (its position on the call-order axis). */
  atCall: number;
}

import type { AggregatableInvocation } from '../storage/aggregate-invocations.ts';

/**
 * One call in the window of {@link VersionStatistics.recent}: the fields of an invocation a
 * decision policy (and `aggregateInvocations`) reads — when it started (epoch ms), its latency
 * (ms), whether it returned a value, and a failure's error code and (truncated) message — plus
 * the call's `callId` when this process made it, and `feedback` (`'wrong'` or `'correct'`) once
 * the app gave some with `agent.feedback`. A call that did not throw but got `feedback: 'wrong'`
 * answered wrongly: a decision policy should count it as a failure.
 */
export type RecentCall = Readonly<AggregatableInvocation>;

/** How many answers of a version the app said were correct, and how many wrong. */
export interface FeedbackCounts {
  /** Answers the app said were correct. */
  readonly correct: number;
  /** Answers the app said were wrong. */
  readonly wrong: number;
}

/**
 * The counters of one tool version without its window (`PerformanceMemory.totals`): what a
 * decision policy reads on every evaluation (`EvaluationSource.totals`).
 */
export interface VersionTotals {
  /** Calls counted. */
  readonly calls: number;
  /** Of those, the failed ones. */
  readonly failures: number;
  /** Feedback counted (`agent.feedback`): wrong answers count as failures in the decisions. */
  readonly feedback?: FeedbackCounts;
  /**
   * Of the wrong verdicts, those on calls that returned a value (a verdict on a failed call adds
   * no failure). @default `feedback.wrong`
   */
  readonly wrongAnswers?: number;
}

/**
 * Latency totals of the calls counted in a {@link VersionStatistics}, ms: enough to derive the
 * mean and the variance (`sumOfSquares / count − mean²`) without keeping every call.
 */
export interface LatencyTotals {
  /** Calls whose latency is counted (every counted call has one, so this equals `calls`). */
  readonly count: number;
  /** Sum of the latencies. */
  readonly sum: number;
  /** Sum of the squared latencies. */
  readonly sumOfSquares: number;
  /** Fastest call. */
  readonly min: number;
  /** Slowest call. */
  readonly max: number;
  /** `sum / count`. */
  readonly mean: number;
}

/**
 * What one process knows about one tool version, kept in memory by `PerformanceMemory` and
 * returned by `PerformanceMemory.statistics()` as a frozen snapshot.
 *
 * Two parts with different scopes:
 * - the **counters** (`calls` … `lastCallAt`) count the calls this process recorded for the
 *   version since `trackedSince` (not the stored history, not other processes' calls);
 * - the **window** (`recent`) holds the most recent calls of the version as this process sees
 *   them: the history read from storage once (`seeded`), plus every call recorded here since.
 *   It is what `recent()`/`summary()` with a `version` are answered from without reading storage.
 *
 * With several processes sharing one database, each process's window holds the calls it saw
 * plus the history it read when it started tracking the version: decisions are made per process
 * on its own sample, with no storage read per call.
 */
export interface VersionStatistics {
  /** The tool. */
  readonly toolName: string;
  /** The version. */
  readonly version: number;
  /**
   * When this process started tracking the version, epoch ms: the counters cover the calls
   * recorded since. A version that was forgotten (see `statistics.maxVersions`) and used again
   * starts from zero with a new `trackedSince`.
   */
  readonly trackedSince: number;
  /** Calls recorded by this process since `trackedSince`. */
  readonly calls: number;
  /** How many of them succeeded. */
  readonly successes: number;
  /** How many of them failed (`calls − successes`). */
  readonly failures: number;
  /** Latency totals of those calls; `null` before the first call. */
  readonly latencyMs: LatencyTotals | null;
  /**
   * Failed calls by error code. A failure recorded without a code counts as `ERROR` (as
   * `errorInfo` names codeless errors). At most 32 distinct codes are kept per version; failures
   * with further codes count as `OTHER`.
   */
  readonly errorCodes: Readonly<Record<string, number>>;
  /**
   * Feedback this process received on the version's answers (`agent.feedback`): each judged
   * call counts once, with its latest verdict; feedback on a call that is not in the window
   * (by tool, version and input with no matching call, or on a call forgotten) counts each time.
   */
  readonly feedback: FeedbackCounts;
  /** Earliest start time of the counted calls, epoch ms; `null` before the first call. */
  readonly firstCallAt: number | null;
  /** Latest start time of the counted calls, epoch ms; `null` before the first call. */
  readonly lastCallAt: number | null;
  /**
   * The most recent calls of the version, newest first (by start time, then by the order they
   * were recorded), at most `statistics.recentCalls`: the stored history once `seeded`, plus the
   * calls recorded here. Records dropped from the write buffer (`memory:dropped`) are not in it,
   * as they are not in storage either.
   */
  readonly recent: readonly RecentCall[];
  /**
   * Whether `recent` already includes the history read from storage. Seeding starts when the
   * version is first recorded or read in this process; `await memory.recent(tool, { version })`
   * waits for it.
   */
  readonly seeded: boolean;
}

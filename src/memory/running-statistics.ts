import { partitionPoint } from '../core/partition-point.ts';
import type { CallFeedback } from '../storage/aggregate-invocations.ts';
import { errorCodeOf } from '../storage/history-buckets.ts';
import type { InvocationRecord } from '../storage/records.ts';
import type {
  FeedbackCounts,
  LatencyTotals,
  RecentCall,
  VersionStatistics,
  VersionTotals,
} from './version-statistics.ts';

/** What the window knows of a call beyond its record: its id and the app's feedback. */
export interface CallMarks {
  /** The call's id (`ToolInvokedEvent.callId`). */
  callId?: string;
  /** The app's verdict on its answer (`agent.feedback`). */
  feedback?: CallFeedback;
}

/** Which call of the window feedback is about: by its id, else the newest with that input hash. */
export interface FeedbackTarget {
  /** The call's id. */
  readonly callId?: string;
  /** The hash of the call's input (used when there is no `callId`). */
  readonly inputHash?: string;
}

/** Distinct error codes counted per version; further codes count as {@link OTHER_ERROR_CODE}. */
export const MAX_ERROR_CODES = 32;
/** Where failures past {@link MAX_ERROR_CODES} distinct codes are counted. */
export const OTHER_ERROR_CODE = 'OTHER';

/**
 * The running statistics of one tool version in one process (the mutable side of
 * {@link VersionStatistics}): counters of the calls recorded here, and a window of the most
 * recent calls kept in the order storage returns them, so a read the window covers gives the
 * same records, in the same order, as the storage path would.
 *
 * The window is a ring buffer sorted by start time, then by arrival (a record that arrives later
 * is the newer one on equal start times, as a later insert gets a larger id in storage). At most
 * `capacity` records are kept; the oldest leaves first. A call arriving in order costs O(1), one
 * arriving out of order (a slow call that started before calls that finished first) moves only
 * the records that started after it.
 *
 * The window is exact above its floor: every call of the version known to this process that is
 * not in the window (evicted, or older stored history not read) started at or before `#floor`,
 * and arrived before everything in the window. A call arriving later that started before the
 * floor is therefore not admitted (calls outside the window may be newer than it). While the
 * floor is −∞ the window holds every call, which makes any read of it exact, whatever its limit.
 */
export class RunningStatistics {
  /** The tool. */
  readonly toolName: string;
  /** The version. */
  readonly version: number;
  /** When tracking started, epoch ms. */
  readonly trackedSince: number;
  /** Whether the window holds the stored history (see `seed`). */
  seeded = false;
  /** The seeding read in flight, shared by everyone who waits for it. */
  seeding: Promise<void> | null = null;
  /** Whether `record()` already started a seeding read (it starts one at most, even if it fails). */
  seedStarted = false;

  readonly #capacity: number;
  /**
   * The ring: logical index i (0 = oldest, by (startedAt, arrival)) is at `(#head + i) %
   * #ring.length`. Until it is full it is a plain array with `#head` 0 (any removal makes it so
   * again), so its length is the number of records.
   */
  #ring: InvocationRecord[] = [];
  #head = 0;
  /** Every known call outside the window started at or before this; −∞: none is outside. */
  #floor = Number.NEGATIVE_INFINITY;
  #calls = 0;
  #successes = 0;
  #latencySum = 0;
  #latencySumOfSquares = 0;
  #latencyMin = Number.POSITIVE_INFINITY;
  #latencyMax = Number.NEGATIVE_INFINITY;
  #firstCallAt = Number.POSITIVE_INFINITY;
  #lastCallAt = Number.NEGATIVE_INFINITY;
  readonly #errorCodes = new Map<string, number>();
  /**
   * Call ids and feedback of the records in the window, beside them: the records themselves are
   * also in the write buffer and go to storage as they are. Weak, so a record that leaves the
   * window takes its marks with it.
   */
  readonly #marks = new WeakMap<InvocationRecord, CallMarks>();
  readonly #feedback = { correct: 0, wrong: 0 };
  /** Wrong verdicts on calls that returned a value (the others are already failures). */
  #wrongAnswers = 0;

  constructor(toolName: string, version: number, capacity: number, trackedSince: number) {
    this.toolName = toolName;
    this.version = version;
    this.#capacity = capacity;
    this.trackedSince = trackedSince;
  }

  /**
   * Counts a call recorded by this process and adds it to the window, with its `callId` when it
   * has one. O(1) unless it arrives out of order.
   */
  add(record: InvocationRecord, callId?: string): void {
    if (callId !== undefined) this.#marks.set(record, { callId });
    this.#calls += 1;
    const { latencyMs, startedAt } = record;
    this.#latencySum += latencyMs;
    this.#latencySumOfSquares += latencyMs * latencyMs;
    if (latencyMs < this.#latencyMin) this.#latencyMin = latencyMs;
    if (latencyMs > this.#latencyMax) this.#latencyMax = latencyMs;
    if (startedAt < this.#firstCallAt) this.#firstCallAt = startedAt;
    if (startedAt > this.#lastCallAt) this.#lastCallAt = startedAt;
    if (record.success) {
      this.#successes += 1;
    } else {
      let code = errorCodeOf(record.errorCode);
      if (!this.#errorCodes.has(code) && this.#errorCodes.size >= MAX_ERROR_CODES) code = OTHER_ERROR_CODE;
      this.#errorCodes.set(code, (this.#errorCodes.get(code) ?? 0) + 1);
    }
    if (this.#capacity > 0) this.#admit(record);
  }

  /**
   * Counts the app's feedback on a call and marks the call in the window: the call with
   * `target.callId`, else the newest with `target.inputHash`. Returns the call's record, or
   * `undefined` when no call of the window matches (the feedback is still counted). A call judged
   * again counts once, with its latest verdict. O(window).
   */
  giveFeedback(target: FeedbackTarget, feedback: CallFeedback): InvocationRecord | undefined {
    const found = this.find(target);
    const marks = found === undefined ? undefined : (this.#marks.get(found) ?? {});
    // A wrong answer of a call that returned a value is a failure the counters do not hold yet
    // (a call outside the window is taken to have returned one).
    const answered = found === undefined || found.success;
    if (marks?.feedback !== undefined) {
      this.#feedback[marks.feedback] -= 1;
      if (marks.feedback === 'wrong' && answered) this.#wrongAnswers -= 1;
    }
    this.#feedback[feedback] += 1;
    if (feedback === 'wrong' && answered) this.#wrongAnswers += 1;
    if (found !== undefined && marks !== undefined) this.#marks.set(found, { ...marks, feedback });
    return found;
  }

  /** The call of the window with `target.callId`, else the newest with `target.inputHash`. O(window). */
  find(target: FeedbackTarget): InvocationRecord | undefined {
    for (let index = this.#ring.length - 1; index >= 0; index -= 1) {
      const record = this.#at(index);
      const matches =
        target.callId !== undefined
          ? this.#marks.get(record)?.callId === target.callId
          : target.inputHash !== undefined && record.inputHash === target.inputHash;
      if (matches) return record;
    }
    return undefined;
  }

  /** Takes `record` out of the window (it will never reach storage); true when it was there. */
  remove(record: InvocationRecord): boolean {
    if (!this.#ring.includes(record)) return false;
    const linear = this.#linear();
    linear.splice(linear.lastIndexOf(record), 1);
    this.#ring = linear;
    this.#head = 0;
    return true;
  }

  /**
   * Replaces the window with the history read from storage merged with the buffered records,
   * newest first as `PerformanceMemory` merges them, unbounded; `complete` when that list holds
   * every call of the version (the storage read returned fewer than it asked for).
   */
  seed(recordsNewestFirst: readonly InvocationRecord[], complete: boolean): void {
    const capacity = this.#capacity;
    this.#ring = recordsNewestFirst.slice(0, capacity).reverse();
    this.#head = 0;
    if (recordsNewestFirst.length > capacity) {
      this.#floor = (recordsNewestFirst[capacity] as InvocationRecord).startedAt;
    } else if (!complete && this.#ring.length > 0) {
      // Older stored calls were not read: they started at or before the oldest one that was.
      this.#floor = this.#at(0).startedAt;
    } else {
      this.#floor = complete ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    this.seeded = true;
  }

  /**
   * Drops the calls that started before `time`, as a retention prune deleted them from storage,
   * except `keep` (records still buffered, which that prune could not see).
   */
  dropBefore(time: number, keep: ReadonlySet<InvocationRecord>): void {
    if (this.#ring.length === 0 || this.#at(0).startedAt >= time) return;
    this.#ring = this.#linear().filter((record) => record.startedAt >= time || keep.has(record));
    this.#head = 0;
  }

  /**
   * The newest `limit` calls (started at or after `since`), newest first, when the window is
   * sure to hold all of them; `undefined` when older calls outside the window could belong to
   * the answer (then storage must be read). The records are the window's own: copy before
   * handing them out.
   */
  newest(limit: number, since: number | undefined): InvocationRecord[] | undefined {
    const result: InvocationRecord[] = [];
    for (let index = this.#ring.length - 1; index >= 0 && result.length < limit; index -= 1) {
      const record = this.#at(index);
      // Everything older, in the window or outside it, started before `since` too.
      if (since !== undefined && record.startedAt < since) return result;
      result.push(record);
    }
    if (result.length === limit) return result;
    // Ran out of window: exact only if no call outside it can match.
    const exact = this.#floor === Number.NEGATIVE_INFINITY || (since !== undefined && this.#floor < since);
    return exact ? result : undefined;
  }

  /** A record of the window as decisions read it: with its call id and the app's feedback. */
  recentCallOf(record: InvocationRecord): RecentCall {
    return recentCall(record, this.#marks.get(record));
  }

  /** The counters alone (no copy of the window): what a decision reads on every evaluation. */
  totals(): VersionTotals {
    return {
      calls: this.#calls,
      failures: this.#calls - this.#successes,
      feedback: { correct: this.#feedback.correct, wrong: this.#feedback.wrong },
      wrongAnswers: this.#wrongAnswers,
    };
  }

  /** A frozen snapshot. */
  snapshot(): VersionStatistics {
    const errorCodes: Record<string, number> = {};
    for (const [code, count] of this.#errorCodes) errorCodes[code] = count;
    const recent: RecentCall[] = [];
    for (let index = this.#ring.length - 1; index >= 0; index -= 1) {
      const record = this.#at(index);
      recent.push(Object.freeze(recentCall(record, this.#marks.get(record))));
    }
    const feedback: FeedbackCounts = Object.freeze({ ...this.#feedback });
    const calls = this.#calls;
    const latencyMs: LatencyTotals | null =
      calls === 0
        ? null
        : Object.freeze({
            count: calls,
            sum: this.#latencySum,
            sumOfSquares: this.#latencySumOfSquares,
            min: this.#latencyMin,
            max: this.#latencyMax,
            mean: this.#latencySum / calls,
          });
    return Object.freeze({
      toolName: this.toolName,
      version: this.version,
      trackedSince: this.trackedSince,
      calls,
      successes: this.#successes,
      failures: calls - this.#successes,
      latencyMs,
      errorCodes: Object.freeze(errorCodes),
      feedback,
      firstCallAt: calls === 0 ? null : this.#firstCallAt,
      lastCallAt: calls === 0 ? null : this.#lastCallAt,
      recent: Object.freeze(recent),
      seeded: this.seeded,
    });
  }

  /**
   * Inserts after every record that started at or before it; past capacity the oldest leaves
   * (and raises the floor). A record that started before the floor stays out.
   */
  #admit(record: InvocationRecord): void {
    if (record.startedAt < this.#floor) return;
    const ring = this.#ring;
    const size = ring.length;
    const full = size === this.#capacity;
    if (size === 0 || this.#at(size - 1).startedAt <= record.startedAt) {
      if (!full) {
        ring.push(record);
        return;
      }
      // Full: the newest takes the oldest's slot.
      this.#raiseFloor(this.#at(0));
      ring[this.#head] = record;
      this.#head = (this.#head + 1) % size;
      return;
    }
    // Out of order: its place is after every record that started at or before it.
    const low = partitionPoint(size, (index) => this.#at(index).startedAt <= record.startedAt);
    if (!full) {
      ring.splice(low, 0, record); // not full: #head is 0, the ring is a plain array
      return;
    }
    // Older than everything kept: it is the one that leaves.
    if (low === 0) {
      this.#raiseFloor(record);
      return;
    }
    // The oldest leaves: the records from `low` on move up one slot (the last into the oldest's
    // slot), the new one takes slot `low`, and the ring starts one later.
    this.#raiseFloor(this.#at(0));
    for (let index = size - 1; index >= low; index -= 1) {
      ring[(this.#head + index + 1) % size] = ring[(this.#head + index) % size] as InvocationRecord;
    }
    ring[(this.#head + low) % size] = record;
    this.#head = (this.#head + 1) % size;
  }

  #raiseFloor(left: InvocationRecord): void {
    if (left.startedAt > this.#floor) this.#floor = left.startedAt;
  }

  /** The record at logical index `index` (0 = oldest). */
  #at(index: number): InvocationRecord {
    return this.#ring[(this.#head + index) % this.#ring.length] as InvocationRecord;
  }

  /** The records oldest first, as a new plain array. */
  #linear(): InvocationRecord[] {
    const linear: InvocationRecord[] = [];
    for (let index = 0; index < this.#ring.length; index += 1) linear.push(this.#at(index));
    return linear;
  }
}

/** A record as decisions read it, with its call id and the app's feedback when known. */
export function recentCall(record: InvocationRecord, marks?: CallMarks): RecentCall {
  const call: { -readonly [K in keyof RecentCall]: RecentCall[K] } = {
    startedAt: record.startedAt,
    latencyMs: record.latencyMs,
    success: record.success,
  };
  if (record.errorCode !== undefined) call.errorCode = record.errorCode;
  if (record.errorMessage !== undefined) call.errorMessage = record.errorMessage;
  if (marks?.callId !== undefined) call.callId = marks.callId;
  if (marks?.feedback !== undefined) call.feedback = marks.feedback;
  return call;
}

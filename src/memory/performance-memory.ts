import { integerOption, numberOption, stringOption } from '../core/options.ts';
import { TypedEmitter } from '../core/typed-emitter.ts';
import { aggregateInvocations } from '../storage/aggregate-invocations.ts';
import type { InvocationStore } from '../storage/invocation-store.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type {
  InvocationQuery,
  InvocationRecord,
  JsonValue,
  LatencyStats,
  WindowAggregate,
} from '../storage/records.ts';
import { MemoryFlushError } from './memory-errors.ts';
import type { PerformanceMemoryEvents } from './memory-events.ts';
import {
  type PerformanceMemoryOptions,
  type ResolvedPerformanceMemoryOptions,
  resolvePerformanceMemoryOptions,
} from './performance-memory-options.ts';
import { type RunningStatistics, recentCall } from './running-statistics.ts';
import { TrackedVersions } from './tracked-versions.ts';
import type { RecentCall, VersionStatistics, VersionTotals } from './version-statistics.ts';

/**
 * One call to record with {@link PerformanceMemory.record}: an {@link InvocationRecord} whose
 * `input`/`output` may be any value (stored only with `capture`, as redacted JSON).
 */
export interface RecordInput extends Omit<InvocationRecord, 'input' | 'output'> {
  /** The input; stored only with `capture.inputs`. */
  input?: unknown;
  /** The output; stored only with `capture.outputs`. */
  output?: unknown;
  /**
   * The call's id (see `ToolInvokedEvent.callId`): kept with the call in the version's window
   * (`VersionStatistics.recent`) so feedback can find it; not written to storage.
   */
  callId?: string;
}

/** A call of the window that feedback was given on ({@link PerformanceMemory.giveFeedback}). */
export interface JudgedCall {
  /** When it started, epoch ms. */
  readonly startedAt: number;
  /** The hash of its input. */
  readonly inputHash: string;
  /** Its captured input (a copy), when `capture.inputs` kept it. */
  readonly input?: JsonValue;
  /** Whether it returned a value. */
  readonly success: boolean;
}

/** Which records a summary or a read covers. */
export interface WindowOptions {
  /** Only this version. Omit to cover every version (rarely what an evaluation wants). */
  version?: number;
  /** Only calls that started at or after this time, epoch ms. */
  since?: number;
}

/** Summary of the most recent calls of one tool version. */
export interface MemorySummary {
  toolName: string;
  /** The version summarised; `null` when every version was covered. */
  version: number | null;
  /** Calls in the window. */
  invocations: number;
  successes: number;
  failures: number;
  /** successes / invocations; 0 when the window is empty (check `invocations`). */
  successRate: number;
  /** Latency statistics, ms (nearest-rank percentiles); `null` when the window is empty. */
  latencyMs: LatencyStats | null;
  /** Messages of the most recent failures, newest first (at most 5). */
  recentErrors: string[];
  /** Start of the oldest call in the window, epoch ms; `null` when empty. */
  firstAt: number | null;
  /** Start of the newest call in the window, epoch ms; `null` when empty. */
  lastAt: number | null;
}

/** Counters describing what the memory did so far. */
export interface MemoryStats {
  /** Records waiting to be written (including a batch being written now). */
  buffered: number;
  /** Records accepted by `record()`. */
  recorded: number;
  /** Records written to storage. */
  flushed: number;
  /** Records given up because the buffer bound was hit. */
  dropped: number;
  /** Records refused by `record()` (invalid, or after `close()`). */
  rejected: number;
  /** Failed storage writes (each retried). */
  flushFailures: number;
}

/**
 * Records every tool call and answers per-version questions about recent calls.
 *
 * `record()` is synchronous and never throws: records are buffered and written in batches
 * (`batch.maxRecords` or `batch.maxDelayMs`, whichever comes first). Summaries see buffered
 * records too (read-your-writes) and cost O(window), not O(history). When storage fails,
 * records stay buffered (bounded by `maxBufferedRecords`) and are retried with back-off;
 * failures and drops are reported as events, never thrown into a tool call.
 *
 * **Running statistics, reads without storage.** The memory keeps, per (tool, version) it
 * records or reads, counters and a window of the most recent calls (`statistics.recentCalls`,
 * 100 by default; at most `statistics.maxVersions` versions, least recently used forgotten):
 * see {@link PerformanceMemory.statistics}. The window is seeded once from storage the first
 * time the version is recorded or read in this process; from then on `recent()` and `summary()`
 * with a `version` whose answer lies in the window (a limit it covers, with or without `since`)
 * are answered from memory in O(limit), with the records, order and numbers the storage path
 * would give. Other reads (no version, larger limits) read storage as before.
 *
 * With several processes sharing one database, each process's window holds the calls it
 * recorded plus the history it read when it started tracking the version; calls other processes
 * record afterwards reach its reads only through storage reads (no version, larger limits, or
 * `statistics.recentCalls: 0`). Decisions (the evaluator) are thus made per process on its own
 * sample, without a storage read per call.
 *
 * @example
 * ```ts
 * const memory = new PerformanceMemory({ storage: sqlJsStorage({ path: 'sia.sqlite' }) });
 * memory.record({ toolName: 'fetch_exchange_rate', version: 2, startedAt: Date.now(),
 *   latencyMs: 412, success: true, inputHash: hashValue({ from: 'USD', to: 'EUR' }) });
 * const summary = await memory.summary('fetch_exchange_rate', { version: 2, window: 20 });
 * const { successRate, latencyMs } = summary; // latencyMs?.p95 …
 * await memory.close();
 * ```
 */
export class PerformanceMemory extends TypedEmitter<PerformanceMemoryEvents> {
  /** The storage the records go to. */
  readonly storage: InvocationStore;
  /** The options in force (defaults applied, frozen). */
  readonly options: ResolvedPerformanceMemoryOptions;

  readonly #ownsStorage: boolean;
  /** Records not yet handed to storage, oldest first. */
  #pending: InvocationRecord[] = [];
  /** The batch being written now. */
  #inFlight: readonly InvocationRecord[] = [];
  /** Per tool: records in `#pending` plus `#inFlight`, so summaries know in O(1) whether to merge. */
  readonly #bufferedByTool = new Map<string, number>();
  #writing: Promise<unknown> | null = null;
  #writesStarted = 0;
  #draining: Promise<boolean> | null = null;
  #lastWriteError: unknown;
  #batchTimer: NodeJS.Timeout | null = null;
  #retryTimer: NodeJS.Timeout | null = null;
  #consecutiveFailures = 0;
  #pauses = 0;
  #pauseReleased: Promise<void> = Promise.resolve();
  #releasePause: () => void = () => {};
  #lastPruneAt = 0;
  /** `stats.flushed` when the last automatic prune started. */
  #flushedAtPrune = 0;
  #pruning = false;
  #pruneFailures = 0;
  /** `flush()` calls under way: while any is, a drain writes every pending record. */
  #flushing = 0;
  #closed = false;
  readonly #stats = { recorded: 0, flushed: 0, dropped: 0, rejected: 0, flushFailures: 0 };
  /** Running statistics and the window of recent calls per (tool, version). */
  readonly #tracked: TrackedVersions;
  /** Seeding reads started by `record()`, awaited by `close()`. */
  readonly #seedings = new Set<Promise<void>>();

  constructor(options: PerformanceMemoryOptions = {}) {
    super({ ...(options.logger ? { logger: options.logger } : {}) });
    this.options = resolvePerformanceMemoryOptions(options);
    this.#ownsStorage = options.storage === undefined;
    this.storage = options.storage ?? memoryStorage();
    this.#lastPruneAt = Date.now();
    this.#tracked = new TrackedVersions(
      this.options.statistics.maxVersions,
      this.options.statistics.recentCalls,
    );
  }

  /**
   * Records one call. Synchronous and cheap; never throws. An invalid record is refused with
   * a `memory:record-rejected` event that names the field and the value.
   */
  record(input: RecordInput): void {
    const problem = this.#closed
      ? 'the memory is closed; create a new PerformanceMemory'
      : invalidRecord(input);
    if (problem !== undefined) {
      this.#stats.rejected += 1;
      const toolName = typeof input?.toolName === 'string' ? input.toolName : undefined;
      this.emit('memory:record-rejected', { reason: problem, ...(toolName ? { toolName } : {}) });
      return;
    }
    const record: InvocationRecord = {
      toolName: input.toolName,
      version: input.version,
      startedAt: input.startedAt,
      latencyMs: input.latencyMs,
      success: input.success,
      inputHash: input.inputHash,
    };
    if (input.errorCode !== undefined) record.errorCode = input.errorCode;
    if (input.errorMessage !== undefined) {
      const max = this.options.maxErrorMessageLength;
      record.errorMessage =
        input.errorMessage.length > max ? `${input.errorMessage.slice(0, max - 1)}…` : input.errorMessage;
    }
    if (input.outputHash !== undefined) record.outputHash = input.outputHash;
    const { capture } = this.options;
    if (capture.inputs && input.input !== undefined) {
      const value = this.#captured(input.input, input.toolName, 'input');
      if (value !== undefined) record.input = value;
    }
    if (capture.outputs && input.output !== undefined) {
      const value = this.#captured(input.output, input.toolName, 'output');
      if (value !== undefined) record.output = value;
    }
    this.#stats.recorded += 1;
    this.#pending.push(record);
    this.#bufferedByTool.set(record.toolName, (this.#bufferedByTool.get(record.toolName) ?? 0) + 1);
    const statistics = this.#tracked.use(record.toolName, record.version);
    statistics.add(record, input.callId);
    if (!statistics.seedStarted) this.#seedInBackground(statistics);
    this.#enforceBound();
    this.#schedule();
  }

  /**
   * A frozen snapshot of what this process knows about one tool version: counters of the calls
   * it recorded, and the window of the most recent calls (stored history included once
   * `seeded`); see {@link VersionStatistics}. `undefined` when the version is not tracked: never
   * recorded or read in this process, or forgotten as the least recently used past
   * `statistics.maxVersions`. Synchronous; reads no storage.
   *
   * @example
   * ```ts
   * const stats = memory.statistics('fetch_exchange_rate', 2);
   * const timeouts = stats?.errorCodes.TIMEOUT ?? 0;
   * ```
   */
  statistics(toolName: string, version: number): VersionStatistics | undefined {
    return this.#tracked.peek(toolName, version)?.snapshot();
  }

  /**
   * The counters of {@link PerformanceMemory.statistics} alone (calls, failures, feedback),
   * without copying the window: what the evaluator reads on every evaluation. `undefined` when
   * the version is not tracked. Synchronous; reads no storage.
   */
  totals(toolName: string, version: number): VersionTotals | undefined {
    return this.#tracked.peek(toolName, version)?.totals();
  }

  /**
   * Counts the app's verdict on an answer of a tool version (`VersionStatistics.feedback`) and
   * marks the call in the version's window (`feedback: 'wrong' | 'correct'` on its entry of
   * `statistics().recent`): the call with `target.callId`, else the newest call with
   * `target.inputHash`. Returns that call, or `undefined` when no call of the window matches
   * (the verdict is counted all the same). Synchronous; reads no storage. `SelfImprovingAgent`
   * calls it from `agent.feedback`.
   */
  giveFeedback(
    toolName: string,
    version: number,
    target: { callId?: string; inputHash?: string },
    correct: boolean,
  ): JudgedCall | undefined {
    stringOption('toolName', toolName);
    integerOption('version', version, 1);
    const statistics = this.#tracked.use(toolName, version);
    if (!statistics.seedStarted) this.#seedInBackground(statistics);
    return judgedCall(statistics.giveFeedback(target, correct ? 'correct' : 'wrong'));
  }

  /**
   * The call of a version's window that {@link giveFeedback} would mark, without marking or
   * counting anything (and without starting to track the version). Synchronous.
   */
  findCall(
    toolName: string,
    version: number,
    target: { callId?: string; inputHash?: string },
  ): JudgedCall | undefined {
    return judgedCall(this.#tracked.peek(toolName, version)?.find(target));
  }

  /**
   * Writes every buffered record and waits until the storage made it durable (`storage.flush`
   * when the adapter has one). Rejects with {@link MemoryFlushError} when storage fails; the
   * records then stay buffered and are retried.
   */
  async flush(): Promise<void> {
    this.#clearTimer('batch');
    this.#clearTimer('retry');
    // Records leave the buffer in order (written, or dropped oldest-first), so the call is done
    // once as many have left as had been recorded when it started.
    const target = this.#stats.recorded;
    let retriedJoinedWrite = false;
    this.#flushing += 1;
    try {
      while (this.#stats.flushed + this.#stats.dropped < target) {
        const joined = this.#draining !== null;
        if (await this.#drain()) continue;
        // A write that was already under way when flush() was called may have failed on an
        // older state of the storage: make one attempt of our own before giving up.
        if (joined && !retriedJoinedWrite) {
          retriedJoinedWrite = true;
          this.#clearTimer('retry');
          continue;
        }
        throw new MemoryFlushError(this.#bufferedCount(), this.#lastWriteError);
      }
    } finally {
      this.#flushing -= 1;
    }
    try {
      await this.storage.flush?.();
    } catch (error) {
      throw new MemoryFlushError(0, error);
    }
  }

  /**
   * Summary of the most recent `window` calls of a tool (one version when `version` is given),
   * including records not written yet.
   */
  async summary(toolName: string, options: WindowOptions & { window?: number } = {}): Promise<MemorySummary> {
    const query = this.#query(toolName, options.window ?? 20, options, 'window');
    const window = await this.#fromWindow(query);
    const aggregate = window === undefined ? await this.#aggregate(query) : aggregateInvocations(window);
    return summaryOf(toolName, query.version ?? null, aggregate);
  }

  /**
   * The most recent calls of a tool, newest first, including records not written yet. Each is
   * a fresh copy of the record as it was recorded (without the store's `id`).
   */
  async recent(
    toolName: string,
    options: WindowOptions & { limit?: number } = {},
  ): Promise<InvocationRecord[]> {
    const query = this.#query(toolName, options.limit ?? 20, options, 'limit');
    const records = (await this.#fromWindow(query)) ?? (await this.#readMerged(query));
    return records.map(copyRecord);
  }

  /**
   * The most recent calls of one version as decisions read them, newest first, at most `limit`:
   * when each started, its latency, whether it succeeded, its error code and message, its call
   * id and the app's feedback on it (`agent.feedback`), and no captured values. Answered from
   * the version's window when it holds the answer (no storage read, no copies of inputs or
   * outputs), else read from storage (then without call ids and feedback). What the evaluator
   * and the promotion watch read.
   */
  async calls(toolName: string, options: { version: number; limit: number }): Promise<RecentCall[]> {
    const query = this.#query(toolName, options.limit, options, 'limit');
    const window = await this.#windowOf(query);
    if (window !== undefined) return window.records.map((record) => window.statistics.recentCallOf(record));
    // Stored records have no call id or feedback: those live in the window only.
    return (await this.#readMerged(query)).map((record) => recentCall(record));
  }

  /**
   * Applies the retention policy now (`retention`: per version, over the whole store, by age);
   * returns how many records were deleted. A store with `invocationHistory` keeps them as rollups.
   */
  async prune(): Promise<{ deleted: number }> {
    const { maxRecordsPerVersion, maxRecords, maxAgeMs } = this.options.retention;
    this.#lastPruneAt = Date.now();
    const olderThan = maxAgeMs === undefined ? undefined : Date.now() - maxAgeMs;
    const result = await this.storage.pruneInvocations({
      maxRecordsPerVersion,
      ...(olderThan === undefined ? {} : { olderThan }),
    });
    // The windows forget what storage deleted (the count rule never reaches into a window: it
    // holds at most maxRecordsPerVersion records). Buffered records were not in storage to delete.
    if (olderThan !== undefined) {
      const buffered = new Set([...this.#inFlight, ...this.#pending]);
      for (const statistics of this.#tracked.values()) statistics.dropBefore(olderThan, buffered);
    }
    // The store-wide bound on its own, so the memory knows whether it deleted anything: it takes
    // the oldest inserts of any version, which may be in a window (a version not called for a
    // while), and which records those were is not known here. The windows then read storage
    // again on their next use (one read each).
    const bounded = await this.storage.pruneInvocations({ maxRecords });
    if (bounded.deleted > 0) this.#reseedWindows();
    const deleted = result.deleted + bounded.deleted;
    if (deleted > 0) this.emit('memory:pruned', { deleted });
    return { deleted };
  }

  /** Makes every window read storage again on its next use (after a seeding read in flight). */
  #reseedWindows(): void {
    for (const statistics of this.#tracked.values()) {
      const unseed = () => {
        statistics.seeded = false;
      };
      // A seeding read in flight may have read the rows before they were deleted.
      if (statistics.seeding !== null) void statistics.seeding.then(unseed, unseed);
      unseed();
    }
  }

  /** What the memory did so far. */
  stats(): MemoryStats {
    return { buffered: this.#bufferedCount(), ...this.#stats };
  }

  /**
   * Flushes, stops the timers, and closes the storage if this memory created it. Later
   * `record()` calls are refused. Rejects with {@link MemoryFlushError} when the final flush
   * fails; the records are kept, so calling `flush()` again can still save them.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    // A seeding read started by record() must not reach a storage about to be closed.
    while (this.#seedings.size > 0) await Promise.allSettled([...this.#seedings]);
    this.#clearTimer('batch');
    this.#clearTimer('retry');
    if (this.#ownsStorage) await this.storage.close();
  }

  #captured(value: unknown, toolName: string, kind: 'input' | 'output'): JsonValue | undefined {
    try {
      const redacted = this.options.capture.redact
        ? this.options.capture.redact(value, { toolName, kind })
        : value;
      if (redacted === undefined) return undefined;
      // A JSON round trip stores a detached, JSON-only copy: later mutation by the caller, class
      // instances and functions cannot leak into storage.
      return JSON.parse(JSON.stringify(redacted)) as JsonValue;
    } catch (error) {
      this.options.logger?.warn?.(
        `could not capture the ${kind} of ${toolName}; stored the record without it`,
        {
          error: String(error),
        },
      );
      return undefined;
    }
  }

  /** Checks the arguments of a read; `limitField` names where `limit` came from (`window` or `limit`). */
  #query(toolName: string, limit: number, options: WindowOptions, limitField: string): InvocationQuery {
    stringOption('toolName', toolName);
    integerOption(limitField, limit, 1, 1_000_000);
    if (options.version !== undefined) integerOption('version', options.version, 1);
    if (options.since !== undefined) numberOption('since', options.since);
    return {
      toolName,
      limit,
      ...(options.version === undefined ? {} : { version: options.version }),
      ...(options.since === undefined ? {} : { since: options.since }),
    };
  }

  async #aggregate(query: InvocationQuery): Promise<WindowAggregate> {
    // Nothing of this tool is buffered: every earlier record is already in storage, so the
    // store's own O(window) aggregate is exact.
    if (!this.#bufferedByTool.has(query.toolName)) return this.storage.aggregateWindow(query);
    return aggregateInvocations(await this.#readMerged(query));
  }

  /**
   * Stored records merged with buffered ones, newest first, at most `query.limit`. The read
   * must not count a record twice when a write lands while it runs: it retries when a write
   * started during the read, and after a few conflicts holds writes back for one read.
   */
  #readMerged(query: InvocationQuery): Promise<InvocationRecord[]> {
    return this.#readConsistent(query, (stored) => this.#merge(stored, query));
  }

  /**
   * Reads `query` from storage while no write runs, and hands the rows to `use` in the same
   * synchronous step, so every record is either in what was read or still in the buffer, never
   * both or neither (a write completing between the read and `use` could otherwise move records
   * out of the buffer unseen).
   */
  async #readConsistent<T>(
    query: InvocationQuery,
    use: (stored: readonly InvocationRecord[]) => T,
  ): Promise<T> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      while (this.#writing) await this.#writing.catch(() => {});
      const writesBefore = this.#writesStarted;
      const stored = await this.storage.recentInvocations(query);
      if (this.#writesStarted === writesBefore && !this.#writing) return use(stored);
    }
    this.#pause();
    try {
      while (this.#writing) await this.#writing.catch(() => {});
      return use(await this.storage.recentInvocations(query));
    } finally {
      this.#resume();
    }
  }

  /**
   * The newest records `query` asks for from the version's window, newest first, when the window
   * holds the whole answer; `undefined` when storage must be read (no version, no window, or
   * older calls outside the window could belong to the answer). Seeds the window first.
   */
  async #fromWindow(query: InvocationQuery): Promise<InvocationRecord[] | undefined> {
    return (await this.#windowOf(query))?.records;
  }

  /** {@link #fromWindow} with the version's running statistics the records come from. */
  async #windowOf(
    query: InvocationQuery,
  ): Promise<{ statistics: RunningStatistics; records: InvocationRecord[] } | undefined> {
    const { recentCalls } = this.options.statistics;
    if (query.version === undefined || recentCalls === 0) return undefined;
    // A longer read is answered only by a seeded window that holds every call; not worth a
    // seeding read of its own.
    if (query.limit > recentCalls && !this.#tracked.peek(query.toolName, query.version)?.seeded) {
      return undefined;
    }
    const statistics = this.#tracked.use(query.toolName, query.version);
    if (!statistics.seeded) {
      await this.#seed(statistics);
      // Forgotten while the seed was read (many versions used meanwhile): its window is stale.
      if (this.#tracked.peek(query.toolName, query.version) !== statistics) return undefined;
    }
    const records = statistics.newest(query.limit, query.since);
    return records === undefined ? undefined : { statistics, records };
  }

  /**
   * Fills the version's window once from storage: the newest `recentCalls` stored records merged
   * with the buffered ones (records recorded meanwhile included, none counted twice). One read
   * is shared by everyone waiting; a failed read leaves the window unseeded for the next try.
   */
  #seed(statistics: RunningStatistics): Promise<void> {
    if (statistics.seeded) return Promise.resolve();
    if (statistics.seeding === null) {
      const limit = this.options.statistics.recentCalls;
      const { toolName, version } = statistics;
      statistics.seeding = this.#readConsistent({ toolName, version, limit }, (stored) => {
        const all = { toolName, version, limit: Number.POSITIVE_INFINITY };
        statistics.seed(this.#merge(stored, all), stored.length < limit);
      }).finally(() => {
        statistics.seeding = null;
      });
    }
    return statistics.seeding;
  }

  /**
   * Seeds a version first seen in `record()` without holding up the call. Once per tracked
   * version: a failure (storage down) is not retried by every later call, but by the next read.
   */
  #seedInBackground(statistics: RunningStatistics): void {
    statistics.seedStarted = true;
    if (this.options.statistics.recentCalls === 0 || statistics.seeded) return;
    const seeding = this.#seed(statistics).catch((error: unknown) => {
      this.options.logger?.warn?.(
        `could not read the recent calls of ${statistics.toolName} v${statistics.version} from storage; the first read will try again`,
        { error: String(error) },
      );
    });
    this.#seedings.add(seeding);
    void seeding.finally(() => this.#seedings.delete(seeding));
  }

  #merge(stored: readonly InvocationRecord[], query: InvocationQuery): InvocationRecord[] {
    const buffered: InvocationRecord[] = [];
    if (this.#bufferedByTool.has(query.toolName)) {
      for (const record of [...this.#inFlight, ...this.#pending]) {
        if (
          record.toolName === query.toolName &&
          (query.version === undefined || record.version === query.version) &&
          (query.since === undefined || record.startedAt >= query.since)
        ) {
          buffered.push(record);
        }
      }
    }
    if (buffered.length === 0) return stored.slice(0, query.limit);
    // Buffered records were recorded after every stored one, so on equal start times they are
    // the newer; a stable sort keeps that order.
    buffered.reverse();
    return [...buffered, ...stored].sort((a, b) => b.startedAt - a.startedAt).slice(0, query.limit);
  }

  #bufferedCount(): number {
    return this.#pending.length + this.#inFlight.length;
  }

  #enforceBound(): void {
    const max = this.options.maxBufferedRecords;
    if (this.#bufferedCount() <= max) return;
    // Drop a tenth of the bound at once (the oldest pending records) so a long outage costs
    // one event per many records, not one per call.
    const count = Math.min(this.#pending.length, Math.max(this.#bufferedCount() - max, Math.floor(max / 10)));
    if (count === 0) return;
    const dropped = this.#pending.splice(0, count);
    this.#forget(dropped);
    // Never written: the windows must not answer with them either (storage will not).
    for (const record of dropped) this.#tracked.peek(record.toolName, record.version)?.remove(record);
    this.#stats.dropped += dropped.length;
    this.emit('memory:dropped', {
      dropped: dropped.length,
      totalDropped: this.#stats.dropped,
      maxBufferedRecords: max,
    });
  }

  #forget(records: readonly InvocationRecord[]): void {
    for (const record of records) {
      const count = (this.#bufferedByTool.get(record.toolName) ?? 1) - 1;
      if (count <= 0) this.#bufferedByTool.delete(record.toolName);
      else this.#bufferedByTool.set(record.toolName, count);
    }
  }

  #schedule(): void {
    if (this.#retryTimer || this.#draining) return; // a retry or a running drain will pick them up
    if (this.#pending.length >= this.options.batch.maxRecords) {
      this.#clearTimer('batch');
      void this.#drain();
    } else if (!this.#batchTimer) {
      this.#batchTimer = setTimeout(() => {
        this.#batchTimer = null;
        void this.#drain();
      }, this.options.batch.maxDelayMs);
    }
  }

  /**
   * Writes pending records batch by batch: everything during a `flush()`, otherwise while full
   * batches are ready (the rest waits for the batch timer). Resolves false when a write failed.
   */
  #drain(): Promise<boolean> {
    if (!this.#draining) {
      this.#draining = this.#drainLoop().finally(() => {
        this.#draining = null;
        // Records may have arrived after the loop's last check.
        if (this.#pending.length > 0 && !this.#retryTimer) this.#schedule();
      });
    }
    return this.#draining;
  }

  async #drainLoop(): Promise<boolean> {
    while (this.#pending.length > 0) {
      while (this.#pauses > 0) await this.#pauseReleased;
      const batch = this.#pending.splice(0, this.options.batch.maxRecords);
      this.#inFlight = batch;
      this.#writesStarted += 1;
      const started = performance.now();
      const writing = this.storage.appendInvocations(batch);
      this.#writing = writing;
      try {
        await writing;
      } catch (error) {
        this.#pending = [...batch, ...this.#pending];
        this.#inFlight = [];
        this.#writing = null;
        this.#lastWriteError = error;
        this.#stats.flushFailures += 1;
        this.#consecutiveFailures += 1;
        const retryInMs = this.#retryDelay();
        this.#clearTimer('retry');
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = null;
          void this.#drain();
        }, retryInMs);
        // The retry must not keep a process alive whose storage is gone; close() flushes anyway.
        this.#retryTimer.unref();
        this.emit('storage:error', {
          operation: 'flush',
          error,
          attempt: this.#consecutiveFailures,
          buffered: this.#bufferedCount(),
          retryInMs,
        });
        this.#enforceBound();
        return false;
      }
      this.#inFlight = [];
      this.#writing = null;
      this.#forget(batch);
      this.#consecutiveFailures = 0;
      this.#stats.flushed += batch.length;
      this.emit('memory:flushed', {
        records: batch.length,
        durationMs: performance.now() - started,
        buffered: this.#bufferedCount(),
      });
      // After each batch, not only once the buffer is empty: under continuous load it may
      // never be, and retention would then never run.
      this.#maybePrune();
      // What arrived during the write waits for the batch timer unless a full batch is ready
      // (or a flush wants everything): a store with a round trip (a thread, a server) then gets
      // a few full batches instead of a stream of small ones.
      if (this.#flushing === 0 && this.#pending.length < this.options.batch.maxRecords) break;
    }
    return true;
  }

  #retryDelay(): number {
    const { initialDelayMs, maxDelayMs } = this.options.retry;
    const exponential = Math.min(
      maxDelayMs,
      initialDelayMs * 2 ** Math.min(30, this.#consecutiveFailures - 1),
    );
    // Full jitter on the upper half, so several processes sharing a store do not retry in step.
    return Math.round(exponential / 2 + Math.random() * (exponential / 2));
  }

  #maybePrune(): void {
    const { pruneEveryMs, maxRecords } = this.options.retention;
    if (this.#pruning) return;
    // Due on the clock, or by volume: at a high record rate the interval alone would let the
    // store grow far past the store-wide bound between two prunes (never more than once a batch).
    const volume = Math.max(this.options.batch.maxRecords, Math.floor(maxRecords / 10));
    const dueByVolume = this.#stats.flushed - this.#flushedAtPrune >= volume;
    if (!dueByVolume && Date.now() - this.#lastPruneAt < pruneEveryMs) return;
    this.#flushedAtPrune = this.#stats.flushed;
    this.#pruning = true;
    this.prune()
      .then(
        () => {
          this.#pruneFailures = 0;
        },
        (error: unknown) => {
          this.#pruneFailures += 1;
          this.emit('storage:error', {
            operation: 'prune',
            error,
            attempt: this.#pruneFailures,
            buffered: this.#bufferedCount(),
            retryInMs: pruneEveryMs,
          });
        },
      )
      .finally(() => {
        this.#pruning = false;
      });
  }

  #pause(): void {
    if (this.#pauses === 0) {
      this.#pauseReleased = new Promise((resolve) => {
        this.#releasePause = resolve;
      });
    }
    this.#pauses += 1;
  }

  #resume(): void {
    this.#pauses -= 1;
    if (this.#pauses === 0) this.#releasePause();
  }

  #clearTimer(which: 'batch' | 'retry'): void {
    if (which === 'batch' && this.#batchTimer) {
      clearTimeout(this.#batchTimer);
      this.#batchTimer = null;
    } else if (which === 'retry' && this.#retryTimer) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
  }
}

function judgedCall(record: InvocationRecord | undefined): JudgedCall | undefined {
  if (record === undefined) return undefined;
  return {
    startedAt: record.startedAt,
    inputHash: record.inputHash,
    success: record.success,
    ...(record.input === undefined ? {} : { input: structuredClone(record.input) }),
  };
}

/**
 * A copy of a record as `record()` built it: the store's `id` left out, captured values copied
 * so a caller changing them changes neither the buffer nor the window.
 */
function copyRecord(record: InvocationRecord): InvocationRecord {
  const copy: InvocationRecord = {
    toolName: record.toolName,
    version: record.version,
    startedAt: record.startedAt,
    latencyMs: record.latencyMs,
    success: record.success,
    inputHash: record.inputHash,
  };
  if (record.errorCode !== undefined) copy.errorCode = record.errorCode;
  if (record.errorMessage !== undefined) copy.errorMessage = record.errorMessage;
  if (record.outputHash !== undefined) copy.outputHash = record.outputHash;
  if (record.input !== undefined) copy.input = structuredClone(record.input);
  if (record.output !== undefined) copy.output = structuredClone(record.output);
  return copy;
}

/** Why a record cannot be stored, naming the field and value; `undefined` when it is fine. */
function invalidRecord(input: RecordInput): string | undefined {
  if (typeof input !== 'object' || input === null)
    return `record must be an object, received ${String(input)}`;
  if (typeof input.toolName !== 'string' || input.toolName.length === 0)
    return `toolName must be a non-empty string, received ${JSON.stringify(input.toolName)}`;
  if (!Number.isInteger(input.version) || input.version < 1)
    return `version must be a positive integer, received ${String(input.version)}`;
  if (!Number.isFinite(input.startedAt))
    return `startedAt must be epoch ms, received ${String(input.startedAt)}`;
  if (!Number.isFinite(input.latencyMs) || input.latencyMs < 0)
    return `latencyMs must be a finite number ≥ 0, received ${String(input.latencyMs)}`;
  if (typeof input.success !== 'boolean')
    return `success must be true or false, received ${String(input.success)}`;
  if (typeof input.inputHash !== 'string')
    return `inputHash must be a string, received ${String(input.inputHash)}`;
  if (input.errorMessage !== undefined && typeof input.errorMessage !== 'string')
    return `errorMessage must be a string, received ${typeof input.errorMessage}`;
  if (input.errorCode !== undefined && typeof input.errorCode !== 'string')
    return `errorCode must be a string, received ${typeof input.errorCode}`;
  if (input.outputHash !== undefined && typeof input.outputHash !== 'string')
    return `outputHash must be a string, received ${typeof input.outputHash}`;
  if (input.callId !== undefined && typeof input.callId !== 'string')
    return `callId must be a string, received ${typeof input.callId}`;
  return undefined;
}

/** A {@link MemorySummary} of `toolName` (and `version`, or null for all versions) from a window aggregate. */
export function summaryOf(
  toolName: string,
  version: number | null,
  aggregate: WindowAggregate,
): MemorySummary {
  return {
    toolName,
    version,
    invocations: aggregate.invocations,
    successes: aggregate.successes,
    failures: aggregate.invocations - aggregate.successes,
    successRate: aggregate.invocations === 0 ? 0 : aggregate.successes / aggregate.invocations,
    latencyMs: aggregate.latencyMs,
    recentErrors: aggregate.recentErrors,
    firstAt: aggregate.firstAt,
    lastAt: aggregate.lastAt,
  };
}

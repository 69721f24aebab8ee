import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { type MemorySummary, summaryOf } from '../memory/performance-memory.ts';
import type { VersionTotals } from '../memory/version-statistics.ts';
import { type AggregatableInvocation, aggregateInvocations } from '../storage/aggregate-invocations.ts';
import type { Evaluation } from './evaluation.ts';
import {
  type EvaluatorOptions,
  type ResolvedEvaluatorOptions,
  resolveEvaluatorOptions,
} from './evaluator-options.ts';
import { scoreWithOptions } from './score-summary.ts';

/**
 * Where an {@link Evaluator} reads a version's calls: a `PerformanceMemory`, or anything with
 * the same methods (a remote metrics service, a test double).
 */
export interface EvaluationSource {
  /** Summary of the most recent `window` calls of one version (see `PerformanceMemory.summary`). */
  summary(toolName: string, options: { version: number; window: number }): Promise<MemorySummary>;
  /**
   * The most recent calls of one version, newest first, at most `limit`. Optional (`calls()` is
   * preferred when both exist): the `'sequential'` policy reads `history` calls for its change
   * tests, the `'window'` policy `2 · window` split into the current window and the baseline
   * before it (for `DEGRADED`); without either, only `summary()` is read.
   */
  recent?(
    toolName: string,
    options: { version: number; limit: number },
  ): Promise<readonly AggregatableInvocation[]>;
  /**
   * The most recent calls of one version as decisions read them, newest first, at most `limit`,
   * with the app's feedback on each (`PerformanceMemory.calls`). Optional: preferred over
   * `recent()` when present (lighter, and it carries `feedback`).
   */
  calls?(
    toolName: string,
    options: { version: number; limit: number },
  ): Promise<readonly AggregatableInvocation[]>;
  /**
   * Counters of every call of the version the source has seen (`PerformanceMemory.totals`).
   * Optional: with them the `'sequential'` policy tests the success rate over all those calls
   * and estimates the failure rate the version had before its recent calls; without them it
   * uses the recent calls alone (and assumes a healthy tool's ~10% failures before them).
   */
  totals?(toolName: string, version: number): VersionTotals | undefined;
}

/** The error code of a call the app said was answered wrongly (`agent.feedback`). */
export const WRONG_ANSWER = 'WRONG_ANSWER';

/** Per-call arguments of {@link Evaluator.evaluate}. */
export interface EvaluateOptions {
  /** The version to score; only its own calls count. */
  version: number;
  /** `evaluatedAt` of the result, epoch ms. @default the evaluator's `clock()` */
  now?: number;
}

/**
 * Scores one tool version from its recent calls and says whether it needs a rewrite, and why.
 *
 * The score is the article's: `0.5 · successRate + 0.3 · latency + 0.2 · consistency` over the
 * version's last 20 calls, latency 1 at ≤ 1000 ms falling linearly to 0 at ≥ 5000 ms (on the
 * average), consistency `max(0, 1 − (max − min) / (3 · avg))`, fewer than 3 calls → score 1.
 * Whether a rewrite is needed comes from the `policy`: by default (`'sequential'`) tests with a
 * stated error rate — the success rate below 0.8 (`LOW_SUCCESS`), a change in failures or
 * latency (`DEGRADED`), most calls over `maxLatencyMs` (`TOO_SLOW`) — each with its evidence in
 * `evaluation.evidence`; `'window'` is 0.1's thresholds on the window, `'article'` the score
 * below 0.6 alone. `LOW_SCORE`, `SLOW` and `INCONSISTENT` are informational under `'sequential'`.
 *
 * Only the given version's calls are read (through the memory API, nothing else), so a new
 * version is never blamed for its predecessor's failures.
 *
 * @example
 * ```ts
 * const evaluator = new Evaluator({ consistency: 'percentile' });
 * const result = await evaluator.evaluate(memory, 'fetch_exchange_rate', { version: 2 });
 * if (result.needsRewrite) notify(result.reasons.map((reason) => reason.message));
 * ```
 */
export class Evaluator {
  /** The options in force (defaults applied, frozen). */
  readonly options: ResolvedEvaluatorOptions;

  constructor(options: EvaluatorOptions = {}) {
    this.options = resolveEvaluatorOptions(options);
  }

  /**
   * Reads the version's calls and decides. `'sequential'`: one `calls()` (or `recent()`) read of
   * `history` calls and the source's `totals()`; `'window'`: one read of `2 · window` calls (both
   * windows from one consistent read); otherwise, or without those methods, one `summary()`.
   */
  async evaluate(source: EvaluationSource, toolName: string, options: EvaluateOptions): Promise<Evaluation> {
    if (typeof toolName !== 'string' || toolName.length === 0) {
      throw new InvalidOptionError({ field: 'toolName', expected: 'a non-empty string', value: toolName });
    }
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError({
        field: 'options',
        expected: 'an object with a version',
        value: options,
      });
    }
    const { version } = options;
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
      throw new InvalidOptionError({ field: 'version', expected: 'a positive integer', value: version });
    }
    if (options.now !== undefined && !Number.isFinite(options.now)) {
      throw new InvalidOptionError({ field: 'now', expected: 'epoch ms', value: options.now });
    }
    const evaluatedAt = options.now ?? this.options.clock();
    const { window, policy } = this.options;
    const reads = typeof source.calls === 'function' || typeof source.recent === 'function';
    // The app's verdicts on the calls read: shown apart, and a wrong answer is a failure.
    const feedback: VerdictCounts = { correct: 0, wrong: 0, flipped: 0 };
    const judged = async (limit: number) =>
      (await judgedCalls(source, toolName, { version, limit }, feedback)) ?? [];
    const shownApart = () => ({ correct: feedback.correct, wrong: feedback.wrong });
    if (policy === 'sequential' && reads) {
      const recent = await judged(this.options.history);
      const totals = source.totals?.(toolName, version);
      const summary = toSummary(toolName, version, recent.slice(0, window));
      // Wrong answers of calls that returned a value: those read, or the counters' when more.
      const wrongAnswers = Math.max(feedback.flipped, totals?.wrongAnswers ?? totals?.feedback?.wrong ?? 0);
      const stream = {
        recent,
        totals: totals
          ? { calls: totals.calls, failures: Math.min(totals.calls, totals.failures + wrongAnswers) }
          : null,
      };
      return {
        toolName,
        version,
        ...scoreWithOptions(summary, this.options, null, stream),
        summary,
        baseline: null,
        policy,
        feedback: shownApart(),
        evaluatedAt,
      };
    }
    let summary: MemorySummary;
    let baseline: MemorySummary | null = null;
    if (policy === 'window' && this.options.degradation !== false && reads) {
      const records = await judged(2 * window);
      summary = toSummary(toolName, version, records.slice(0, window));
      if (records.length > window) baseline = toSummary(toolName, version, records.slice(window));
    } else {
      summary = await source.summary(toolName, { version, window });
    }
    return {
      toolName,
      version,
      ...scoreWithOptions(summary, this.options, baseline),
      summary,
      baseline,
      policy,
      feedback: shownApart(),
      evaluatedAt,
    };
  }
}

/** What {@link judgedCalls} counts of the app's verdicts on the calls it read. */
export interface VerdictCounts {
  /** Calls the app said were answered correctly. */
  correct: number;
  /** Calls the app said were answered wrongly. */
  wrong: number;
  /** Of those, the calls that had returned a value (now counted as failures). */
  flipped: number;
}

/**
 * A version's recent calls as the decisions judge them, newest first, at most `limit`: read with
 * the source's `calls()` (else `recent()`), a call the app said was answered wrongly turned into a
 * failure (`WRONG_ANSWER`), the verdicts counted in `counts`. `undefined` when the source has
 * neither method. The evaluator and the promotion watch read calls through it.
 */
export async function judgedCalls(
  source: EvaluationSource,
  toolName: string,
  options: { version: number; limit: number },
  counts: VerdictCounts = { correct: 0, wrong: 0, flipped: 0 },
): Promise<AggregatableInvocation[] | undefined> {
  const read = source.calls ?? source.recent;
  if (typeof read !== 'function') return undefined;
  return (await read.call(source, toolName, options)).map((record) => withFeedback(record, counts));
}

/**
 * The record as the decisions see it: a call the app said was answered wrongly is a failure
 * (`WRONG_ANSWER`). Counts the feedback in `counts` (`flipped`: successes turned failures).
 */
function withFeedback(record: AggregatableInvocation, counts: VerdictCounts): AggregatableInvocation {
  const verdict = record.feedback;
  if (verdict === 'correct') counts.correct += 1;
  if (verdict !== 'wrong') return record;
  counts.wrong += 1;
  if (!record.success) return record;
  counts.flipped += 1;
  return {
    ...record,
    success: false,
    errorCode: WRONG_ANSWER,
    errorMessage: 'the app reported a wrong answer',
  };
}

/** The same summary `PerformanceMemory.summary` returns, built from records newest first. */
function toSummary(
  toolName: string,
  version: number,
  recordsNewestFirst: readonly AggregatableInvocation[],
): MemorySummary {
  return summaryOf(toolName, version, aggregateInvocations(recordsNewestFirst));
}

import { binomialAtLeast, binomialAtMost } from '../core/binomial-tail.ts';
import type { AggregatableInvocation } from '../storage/aggregate-invocations.ts';
import { bernoulliCusum, cautiousRate, raisedRate, selfStartingCusum } from './change-detection.ts';
import { callCount, fixed, ms, percent, probability } from './decision-words.ts';
import type { DecisionEvidence, EvaluationReason } from './evaluation.ts';
import type { ResolvedEvaluatorOptions } from './evaluator-options.ts';

/**
 * The change threshold (a log-likelihood ratio) at the default false-alarm budget of 0.05: with
 * evaluations after every call, simulated steady tools at 1 %, 5 % and 10 % failures raise a
 * request in about 1 %, 2 % and 4 % of 1000-call runs (`npm run bench decision`).
 */
const CHANGE_THRESHOLD_AT_DEFAULT = 7;
const DEFAULT_BUDGET = 0.05;
/** A level test gets a fifth of the budget: its repeated looks share one stream. */
const LEVEL_SHARE = 0.2;
/** What a version with no earlier calls is assumed to fail at: a healthy tool's 10 %, over 20 calls. */
const FAILURE_PRIOR = { rate: 0.1, weight: 20 } as const;
/** The share of slow calls assumed before a version's own calls say otherwise. */
const SLOW_PRIOR = { rate: 0.05, weight: 20 } as const;
/** How much the share of slow calls must rise for a latency change: half the calls. */
const SLOW_INCREASE = 0.5;
/** Calls the latency change test needs: 10 to set the reference, 10 to compare. */
const LATENCY_CHANGE_MIN_CALLS = 20;

/** The thresholds a false-alarm budget stands for. */
export interface DecisionThresholds {
  /** Significance of each level test (success rate, latency limit). */
  readonly levelAlpha: number;
  /** The CUSUM threshold h of the change tests (a log-likelihood ratio). */
  readonly changeThreshold: number;
}

/**
 * The thresholds of a false-alarm budget: h = 7 + ln(0.05 / budget) for the change tests
 * (halving the budget raises h by ln 2) and α = budget / 5 for each look of a level test.
 */
export function decisionThresholds(falseAlarmRate: number): DecisionThresholds {
  return {
    levelAlpha: falseAlarmRate * LEVEL_SHARE,
    changeThreshold: CHANGE_THRESHOLD_AT_DEFAULT + Math.log(DEFAULT_BUDGET / falseAlarmRate),
  };
}

/** What the sequential policy reads. */
export interface SequentialInput {
  /** The version's recent calls, newest first (wrong answers already counted as failures). */
  readonly recent: readonly AggregatableInvocation[];
  /**
   * Every call of the version this process counted (at least the recent ones when known), for
   * the success-rate test and the failure baseline; null when the source keeps no counters.
   */
  readonly totals: { readonly calls: number; readonly failures: number } | null;
}

/** The policy's findings: reasons that need a rewrite, and the evidence of every test. */
export interface SequentialDecision {
  /** The reasons that need a rewrite (`LOW_SUCCESS`, `DEGRADED`, `TOO_SLOW`), with their findings. */
  readonly reasons: EvaluationReason[];
  /** Every test that ran, flagged or not. */
  readonly evidence: DecisionEvidence[];
}

/**
 * The `'sequential'` decision policy: three tests, each with a stated error rate.
 *
 * - **Success rate** (`LOW_SUCCESS`): an exact one-sided binomial test of "the true success
 *   rate is at least `minSuccessRate`" over every call counted (the recent ones when there
 *   are no counters), at level `falseAlarmRate / 5`.
 * - **Failure change** (`DEGRADED`): a Bernoulli CUSUM over the recent calls of the failure rate
 *   the version had before them (cautiously estimated, see `cautiousRate`) against that rate
 *   raised by `degradation.failureIncrease` (at least doubled).
 * - **Latency** (`DEGRADED` for a change, `TOO_SLOW` for a level): a call is slow when it
 *   takes longer than `latencyFactor` × the median of the older half of the recent calls and
 *   at least `minLatencyIncreaseMs` more, so jitter below that floor never counts; a CUSUM of
 *   slow calls says whether they became common. Separately, when significantly more than half
 *   of the last `window` calls took longer than `maxLatencyMs`, the tool is too slow.
 */
export function decideSequential(
  input: SequentialInput,
  options: ResolvedEvaluatorOptions,
): SequentialDecision {
  const thresholds = decisionThresholds(options.falseAlarmRate);
  const reasons: EvaluationReason[] = [];
  const evidence: DecisionEvidence[] = [];
  // Failures among the recent calls: both failure tests read them.
  const recentFailures = countFailures(input.recent);
  const level = successRateTest(input, recentFailures, options, thresholds);
  evidence.push(level);
  if (level.outcome === 'flagged') reasons.push({ code: 'LOW_SUCCESS', message: level.summary });
  if (options.degradation !== false) {
    const failures = failureChangeTest(input, recentFailures, options, thresholds);
    const latency = latencyChangeTest(input.recent, options, thresholds);
    evidence.push(failures, latency);
    const changed = [failures, latency].filter((test) => test.outcome === 'flagged');
    if (changed.length > 0) {
      reasons.push({ code: 'DEGRADED', message: changed.map((test) => test.summary).join('; ') });
    }
  }
  const limit = latencyLimitTest(input.recent.slice(0, options.window), options, thresholds);
  evidence.push(limit);
  if (limit.outcome === 'flagged') reasons.push({ code: 'TOO_SLOW', message: limit.summary });
  return { reasons, evidence };
}

function successRateTest(
  input: SequentialInput,
  recentFailures: number,
  options: ResolvedEvaluatorOptions,
  { levelAlpha }: DecisionThresholds,
): DecisionEvidence {
  const useTotals = input.totals !== null && input.totals.calls >= input.recent.length;
  const calls = useTotals ? (input.totals?.calls ?? 0) : input.recent.length;
  const failures = useTotals ? Math.min(calls, input.totals?.failures ?? 0) : recentFailures;
  const successes = calls - failures;
  const scope = useTotals ? 'every call counted' : 'recent calls';
  if (calls < options.minInvocations) {
    return {
      test: 'success-rate',
      outcome: 'insufficient-data',
      statistic: 1,
      bound: levelAlpha,
      calls,
      events: failures,
      summary: `${callCount(calls)} so far (at least ${options.minInvocations} needed to test the success rate)`,
    };
  }
  const pValue = binomialAtMost(successes, calls, options.minSuccessRate);
  return levelEvidence(
    'success-rate',
    pValue,
    levelAlpha,
    calls,
    failures,
    (flagged) =>
      `${successes} of ${callCount(calls)} succeeded (${scope}); if the true success rate were ${fixed(options.minSuccessRate)}, ` +
      `${successes} or fewer would happen with probability ${probability(pValue)} ` +
      `(${flagged ? 'below' : 'not below'} ${probability(levelAlpha)}: ${flagged ? 'the rate is below the minimum' : 'no evidence it is below the minimum'})`,
  );
}

function failureChangeTest(
  input: SequentialInput,
  recentFailures: number,
  options: ResolvedEvaluatorOptions,
  { changeThreshold }: DecisionThresholds,
): DecisionEvidence {
  const { recent } = input;
  if (options.degradation === false || recent.length < options.minInvocations) {
    return insufficient('failure-change', changeThreshold, recent.length, recentFailures, 'failure change');
  }
  // The baseline: the calls counted before the recent ones (none for a new version: the prior).
  const earlierCalls = input.totals ? Math.max(0, input.totals.calls - recent.length) : 0;
  const earlierFailures = input.totals
    ? Math.min(earlierCalls, Math.max(0, input.totals.failures - recentFailures))
    : 0;
  const bad = oldestFirst(recent, (call) => !call.success);
  const result = selfStartingCusum(
    bad,
    { calls: earlierCalls, bad: earlierFailures },
    FAILURE_PRIOR,
    options.degradation.failureIncrease,
  );
  const { p0, p1 } = result;
  const flagged = result.statistic > changeThreshold;
  const before =
    result.baselineCalls > 0
      ? `${result.baselineBad} of the ${callCount(result.baselineCalls)} before them failed`
      : 'no earlier calls (assumed ~10% failures)';
  return withSummary(
    {
      test: 'failure-change',
      outcome: flagged ? 'flagged' : 'clear',
      statistic: result.statistic,
      bound: changeThreshold,
      calls: recent.length,
      events: recentFailures,
    },
    () =>
      result.stretch === 0
        ? `${recentFailures} of the last ${callCount(recent.length)} failed; no recent stretch is likelier ` +
          `at a failure rate of ${percent(p1)} than at ${percent(p0)} (change threshold e^${fixed(changeThreshold)})`
        : `${result.badInStretch} of the last ${callCount(result.stretch)} failed, ${before}; failure rate ${percent(p1)} ` +
          `is e^${fixed(result.statistic)} times likelier than ${percent(p0)} for that stretch ` +
          `(${flagged ? 'above' : 'not above'} the change threshold e^${fixed(changeThreshold)})`,
  );
}

function latencyChangeTest(
  recent: readonly AggregatableInvocation[],
  options: ResolvedEvaluatorOptions,
  { changeThreshold }: DecisionThresholds,
): DecisionEvidence {
  if (options.degradation === false || recent.length < LATENCY_CHANGE_MIN_CALLS) {
    return insufficient('latency-change', changeThreshold, recent.length, 0, 'latency change');
  }
  const older = recent.slice(Math.floor(recent.length / 2));
  const latencies = new Float64Array(older.length);
  for (let index = 0; index < older.length; index += 1) {
    latencies[index] = (older[index] as AggregatableInvocation).latencyMs;
  }
  const reference = sortedMedian(latencies.sort());
  const { latencyFactor, minLatencyIncreaseMs } = options.degradation;
  const limit = Math.max(latencyFactor * reference, reference + minLatencyIncreaseMs);
  const slow = oldestFirst(recent, (call) => call.latencyMs > limit);
  // The usual share of slow calls, from the whole history read: a heavy tail (a few slow calls
  // in every stretch) raises it, so clusters of its slow calls do not read as a change.
  const slowCalls = slow.filter(Boolean).length;
  const p0 = cautiousRate(slowCalls, slow.length, SLOW_PRIOR);
  const p1 = raisedRate(p0, SLOW_INCREASE);
  const result = bernoulliCusum(slow, p0, p1);
  const flagged = result.statistic > changeThreshold;
  return withSummary(
    {
      test: 'latency-change',
      outcome: flagged ? 'flagged' : 'clear',
      statistic: result.statistic,
      bound: changeThreshold,
      calls: recent.length,
      events: slowCalls,
    },
    () =>
      result.stretch === 0
        ? `${slowCalls} of the last ${callCount(recent.length)} took longer than ${ms(limit)} ` +
          `(${latencyFactor}× and +${ms(minLatencyIncreaseMs)} over the earlier median ${ms(reference)}); no recent stretch of slow calls`
        : `${result.badInStretch} of the last ${callCount(result.stretch)} took longer than ${ms(limit)} ` +
          `(${latencyFactor}× and +${ms(minLatencyIncreaseMs)} over the earlier median ${ms(reference)}); ` +
          `e^${fixed(result.statistic)} ${flagged ? 'is above' : 'is not above'} the change threshold e^${fixed(changeThreshold)}`,
  );
}

function latencyLimitTest(
  window: readonly AggregatableInvocation[],
  options: ResolvedEvaluatorOptions,
  { levelAlpha }: DecisionThresholds,
): DecisionEvidence {
  const calls = window.length;
  const slow = window.filter((call) => call.latencyMs > options.maxLatencyMs).length;
  if (calls < options.minInvocations) {
    return insufficient('latency-limit', levelAlpha, calls, slow, 'latency limit');
  }
  // Sign test of "the median latency is at most maxLatencyMs": under it a call exceeds the
  // limit with probability at most one half.
  const pValue = binomialAtLeast(slow, calls, 0.5);
  return levelEvidence(
    'latency-limit',
    pValue,
    levelAlpha,
    calls,
    slow,
    (flagged) =>
      `${slow} of the last ${callCount(calls)} took longer than ${ms(options.maxLatencyMs)}; with a median at the limit, ` +
      `${slow} or more would happen with probability ${probability(pValue)} (${flagged ? 'below' : 'not below'} ${probability(levelAlpha)})`,
  );
}

/** A level test's evidence: flagged when the p-value is below α. */
function levelEvidence(
  test: DecisionEvidence['test'],
  pValue: number,
  alpha: number,
  calls: number,
  events: number,
  summary: (flagged: boolean) => string,
): DecisionEvidence {
  const flagged = pValue < alpha;
  return withSummary(
    { test, outcome: flagged ? 'flagged' : 'clear', statistic: pValue, bound: alpha, calls, events },
    () => summary(flagged),
  );
}

/** Evidence with its sentence. */
function withSummary(fields: Omit<DecisionEvidence, 'summary'>, describe: () => string): DecisionEvidence {
  return { ...fields, summary: describe() };
}

function insufficient(
  test: DecisionEvidence['test'],
  bound: number,
  calls: number,
  events: number,
  what: string,
): DecisionEvidence {
  return {
    test,
    outcome: 'insufficient-data',
    statistic: 0,
    bound,
    calls,
    events,
    summary: `${callCount(calls)} recent: too few to test for a ${what}`,
  };
}

function countFailures(calls: readonly AggregatableInvocation[]): number {
  let failures = 0;
  for (const call of calls) if (!call.success) failures += 1;
  return failures;
}

function oldestFirst(
  newestFirst: readonly AggregatableInvocation[],
  bad: (call: AggregatableInvocation) => boolean,
): boolean[] {
  const result = new Array<boolean>(newestFirst.length);
  for (let index = 0; index < newestFirst.length; index += 1) {
    result[newestFirst.length - 1 - index] = bad(newestFirst[index] as AggregatableInvocation);
  }
  return result;
}

/** The median of numbers already sorted ascending (the mean of the middle two for an even count). */
function sortedMedian(sorted: Float64Array): number {
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

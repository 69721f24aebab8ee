import { binomialAtLeast } from '../core/binomial-tail.ts';
import type { AggregatableInvocation } from '../storage/aggregate-invocations.ts';
import { MIN_BASELINE_RATE, raisedRate } from './change-detection.ts';
import { callCount, percent, probability } from './decision-words.ts';
import type { DecisionEvidence } from './evaluation.ts';

/** What a promoted version is compared with: the calls of the version it replaced. */
export interface RollbackBaseline {
  /** Calls of the replaced version the comparison rests on. */
  readonly calls: number;
  /** Of those, the failed ones. */
  readonly failures: number;
}

/** The settings of {@link sequentialRollbackTest}. */
export interface RollbackTestOptions {
  /** The rise in failure rate (absolute) that counts as worse: the sequential test's alternative. */
  readonly failureIncrease: number;
  /**
   * The chance of rolling back a version that is truly as good, split evenly between the
   * sequential test during the watch and the binomial test at its end.
   */
  readonly falseRollbackRate: number;
  /** The watch ends after this many calls. */
  readonly maxCalls: number;
}

/** What the watch does next: roll back, keep (the watch ends), or watch another call. */
export type RollbackOutcome = 'rollback' | 'keep' | 'continue';

/** The result of {@link sequentialRollbackTest}. */
export interface RollbackDecision {
  /** What to do. */
  readonly outcome: RollbackOutcome;
  /** The evidence, for the event and the audit entry. */
  readonly evidence: DecisionEvidence;
}

/** What a replaced version with no recorded calls is assumed to fail at: 10 %, over 20 calls. */
const FAILURE_PRIOR = { rate: 0.1, weight: 20 } as const;

/**
 * The promotion watch's test of a promoted version against the one it replaced, after each of
 * its calls. The replaced version's failure rate p₀ is its calls' Beta posterior mean (a 10 %
 * prior worth 20 calls). Two tests share the false-rollback budget α:
 * - during the watch, a one-sided sequential probability ratio test (Wald) of "fails at p₀"
 *   against "fails at p₁ = p₀ + failureIncrease (at least 2·p₀)": roll back as soon as the
 *   log-likelihood ratio of the promoted version's calls reaches ln(2/α);
 * - at the end of the watch (`maxCalls`), an exact one-sided binomial test of its failures
 *   against p₀ at level α/2: significantly more failures → roll back, else keep.
 * Simulated (`npm run bench decision`): an equally good version (0.95 → 0.95, replaced version
 * measured over 100 calls) is rolled back in about 1.3 % of promotions; a worse one
 * (0.95 → 0.70) in about 96 %, after a median of 16 calls.
 */
export function sequentialRollbackTest(
  watchedNewestFirst: readonly AggregatableInvocation[],
  baseline: RollbackBaseline,
  options: RollbackTestOptions,
): RollbackDecision {
  const p0 = posteriorMean(baseline.failures, baseline.calls);
  const p1 = raisedRate(p0, options.failureIncrease);
  const half = options.falseRollbackRate / 2;
  const upper = Math.log(1 / half);
  const calls = Math.min(watchedNewestFirst.length, options.maxCalls);
  let failures = 0;
  for (let index = 0; index < calls; index += 1) {
    if (!(watchedNewestFirst[index] as AggregatableInvocation).success) failures += 1;
  }
  const ratio = failures * Math.log(p1 / p0) + (calls - failures) * Math.log((1 - p1) / (1 - p0));
  const replaced =
    baseline.calls > 0
      ? `${baseline.failures} of the replaced version's ${callCount(baseline.calls)} failed`
      : 'the replaced version has no recorded calls (assumed ~10% failures)';
  const observed = `${failures} of the promoted version's ${callCount(calls)} failed, ${replaced}`;
  // Never worse by the test alone: a version failing no more often than the replaced one did
  // (a replaced version that always failed) is not rolled back to it.
  const noWorse = baseline.calls > 0 && failures * baseline.calls <= baseline.failures * calls;
  if (noWorse && calls >= options.maxCalls) {
    return decision(
      'keep',
      ratio,
      upper,
      calls,
      failures,
      `${observed}; no more often than the replaced version: not worse, kept`,
    );
  }
  if (ratio >= upper && !noWorse) {
    return decision(
      'rollback',
      ratio,
      upper,
      calls,
      failures,
      `${observed}; a failure rate of ${percent(p1)} instead of ${percent(p0)} is e^${ratio.toFixed(2)} times as likely, at or above the rollback bound e^${upper.toFixed(2)}: worse`,
    );
  }
  if (calls < options.maxCalls) {
    return decision(
      'continue',
      ratio,
      upper,
      calls,
      failures,
      `${observed}; likelihood ratio e^${ratio.toFixed(2)} is below the rollback bound e^${upper.toFixed(2)}: watching on`,
    );
  }
  const pValue = binomialAtLeast(failures, calls, p0);
  const worse = pValue < half;
  return decision(
    worse ? 'rollback' : 'keep',
    pValue,
    half,
    calls,
    failures,
    `${observed}; at the end of the watch, ${failures} or more failures at the replaced version's ${percent(p0)} ` +
      `would happen with probability ${probability(pValue)} ` +
      `(${worse ? 'below' : 'not below'} ${half}): ${worse ? 'worse' : 'not shown worse, kept'}`,
  );
}

function decision(
  outcome: RollbackOutcome,
  statistic: number,
  bound: number,
  calls: number,
  events: number,
  summary: string,
): RollbackDecision {
  return {
    outcome,
    evidence: {
      test: 'rollback',
      outcome: outcome === 'rollback' ? 'flagged' : outcome === 'keep' ? 'clear' : 'insufficient-data',
      statistic,
      bound,
      calls,
      events,
      summary,
    },
  };
}

function posteriorMean(failures: number, calls: number): number {
  const mean = (failures + FAILURE_PRIOR.rate * FAILURE_PRIOR.weight) / (calls + FAILURE_PRIOR.weight);
  return Math.min(0.98, Math.max(MIN_BASELINE_RATE, mean));
}

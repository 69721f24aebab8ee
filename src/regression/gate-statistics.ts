import { binomialAtLeast, binomialAtMost } from '../core/binomial-tail.ts';
import type { GateDecision, GateErrorEvidence, GateLatencyEvidence } from './regression-report.ts';

/**
 * The regression gate's comparative tests, as pure functions: exact binomial tails, the look
 * schedule of the sequential repeats, and the two rules (latency, errors) over paired runs.
 */

/**
 * P(X ≥ k) for X ~ Binomial(n, ½), exact up to floating point for any n (no normal
 * approximation): 1 for k ≤ 0, 0 for k > n.
 * @example
 * binomialUpperTail(3, 3); // 0.125: three heads in three fair tosses
 */
export function binomialUpperTail(n: number, k: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be an integer ≥ 0, got ${n}`);
  return binomialAtLeast(k, n, 0.5);
}

/** P(X ≤ k) for X ~ Binomial(n, ½), exact: the mirror of {@link binomialUpperTail}. */
export function binomialLowerTail(n: number, k: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be an integer ≥ 0, got ${n}`);
  return binomialAtMost(k, n, 0.5);
}

/**
 * The repeats after which the gate looks at the data: `repeats`, then doubling, then
 * `maxRepeats` (3, 6, 12 with the defaults; `[repeats]` when both are equal). Each look tests
 * at `alpha / looks.length`, so over every look a rule errs with probability at most `alpha`.
 */
export function lookSchedule(repeats: number, maxRepeats: number): number[] {
  const looks = [repeats];
  while ((looks.at(-1) as number) < maxRepeats) {
    looks.push(Math.min(maxRepeats, (looks.at(-1) as number) * 2));
  }
  return looks;
}

/** One candidate run and the baseline run of the same case and repeat. */
export interface PairedRun {
  /** The candidate's latency, ms. */
  readonly candidateMs: number;
  /** The baseline's latency, ms. */
  readonly baselineMs: number;
  /** Whether the candidate's run failed (threw, timed out, was refused a capability). */
  readonly candidateFailed: boolean;
  /** Whether the baseline's run failed. */
  readonly baselineFailed: boolean;
}

/** Where a test stands in the sequential procedure, and its level. */
export interface GateLook {
  /** Overall error rate per rule and direction. */
  readonly alpha: number;
  /** 1-based index of this look. */
  readonly look: number;
  /** Looks the schedule allows. */
  readonly looks: number;
  /** Repeats per case run so far. */
  readonly repeats: number;
}

/** The latency margin: a pair counts against the candidate above `baseline·(1+latencyMargin)+latencyMarginMs`. */
export interface LatencyMargin {
  /** Relative margin. */
  readonly latencyMargin: number;
  /** Absolute slack, ms. */
  readonly latencyMarginMs: number;
}

/**
 * The latency rule over paired runs where both sides answered (a failed run's latency is no
 * clock). A pair exceeds when the candidate took longer than
 * `baseline·(1+latencyMargin)+latencyMarginMs`. Exact one-sided sign tests at `alpha/looks`:
 * `worse` (SLOWER) when the exceeding pairs are significantly more than half, `not-worse` when
 * significantly fewer than half, else `undecided`. Not applied (`not-worse`, `waived`) when the
 * candidate failed fewer paired runs than the baseline: retries that turn failures into answers
 * cost time. No pair where both answered: `not-worse`, nothing to compare.
 */
export function latencyEvidence(
  pairs: readonly PairedRun[],
  margin: LatencyMargin,
  look: GateLook,
): GateLatencyEvidence {
  const alphaPerLook = look.alpha / look.looks;
  const answered = pairs.filter((pair) => !pair.candidateFailed && !pair.baselineFailed);
  const exceeding = answered.filter(
    (pair) => pair.candidateMs > pair.baselineMs * (1 + margin.latencyMargin) + margin.latencyMarginMs,
  ).length;
  const n = answered.length;
  const pValueWorse = binomialUpperTail(n, exceeding);
  const pValueNotWorse = binomialLowerTail(n, exceeding);
  const candidateFailures = pairs.filter((pair) => pair.candidateFailed).length;
  const baselineFailures = pairs.filter((pair) => pair.baselineFailed).length;
  const waived = candidateFailures < baselineFailures;
  const allowed = `baseline·${formatNumber(1 + margin.latencyMargin)} + ${formatNumber(margin.latencyMarginMs)} ms`;
  const level = levelWords(look, alphaPerLook);
  const counted = `The candidate took longer than ${allowed} in ${exceeding} of ${n} paired runs where both answered (${look.repeats} repeats per case)`;
  let decision: GateDecision;
  let summary: string;
  if (waived) {
    decision = 'not-worse';
    summary = `latency: not applied. The candidate failed fewer paired runs (${candidateFailures}) than the baseline (${baselineFailures}); retries that turn failures into answers may cost time. ${counted}.`;
  } else if (n === 0) {
    decision = 'not-worse';
    summary = `latency: nothing to compare: no paired run where both sides answered (${pairs.length} paired runs).`;
  } else if (pValueWorse <= alphaPerLook) {
    decision = 'worse';
    summary = `latency: slower. ${counted}; were it within that margin at least half the time, this many would have a chance of p = ${formatP(pValueWorse)} ≤ ${level}.`;
  } else if (pValueNotWorse <= alphaPerLook) {
    decision = 'not-worse';
    summary = `latency: not slower. ${counted}; were it beyond that margin at least half the time, this few would have a chance of p = ${formatP(pValueNotWorse)} ≤ ${level}.`;
  } else {
    decision = 'undecided';
    summary = `latency: undecided. ${counted}; neither "slower" (p = ${formatP(pValueWorse)}) nor "not slower" (p = ${formatP(pValueNotWorse)}) is shown at ${level}.`;
  }
  return {
    rule: 'latency',
    decision,
    pairs: n,
    exceeding,
    notCompared: pairs.length - n,
    waived,
    pValueWorse,
    pValueNotWorse,
    alpha: look.alpha,
    alphaPerLook,
    look: look.look,
    looks: look.looks,
    repeats: look.repeats,
    summary,
  };
}

/**
 * The error rule over paired runs, McNemar's exact test: only the discordant pairs (one side
 * failed, the other answered) tell the sides apart, and if both were equally reliable each such
 * pair would be the candidate's failure with probability ½. `worse` (ERROR_RATE_HIGHER) when the
 * candidate-only failures are significantly more than half of them at `alpha/looks`;
 * `not-worse` when the candidate failed in no more discordant pairs than the baseline (every
 * candidate failure already fails its case, so a candidate judged here failed no run at all);
 * else `undecided`.
 */
export function errorEvidence(pairs: readonly PairedRun[], look: GateLook): GateErrorEvidence {
  const alphaPerLook = look.alpha / look.looks;
  const candidateOnly = pairs.filter((pair) => pair.candidateFailed && !pair.baselineFailed).length;
  const baselineOnly = pairs.filter((pair) => pair.baselineFailed && !pair.candidateFailed).length;
  const bothFailed = pairs.filter((pair) => pair.baselineFailed && pair.candidateFailed).length;
  const discordant = candidateOnly + baselineOnly;
  const pValueWorse = binomialUpperTail(discordant, candidateOnly);
  const counted = `In ${pairs.length} paired runs (${look.repeats} repeats per case) only the candidate failed in ${candidateOnly}, only the baseline in ${baselineOnly}, both in ${bothFailed}`;
  let decision: GateDecision;
  let summary: string;
  if (discordant > 0 && pValueWorse <= alphaPerLook) {
    decision = 'worse';
    summary = `errors: more errors. ${counted}; were both equally reliable, a split this lopsided would have a chance of p = ${formatP(pValueWorse)} ≤ ${levelWords(look, alphaPerLook)}.`;
  } else if (candidateOnly <= baselineOnly) {
    decision = 'not-worse';
    summary = `errors: not more errors. ${counted}.`;
  } else {
    decision = 'undecided';
    summary = `errors: undecided. ${counted}; "more errors" is not shown (p = ${formatP(pValueWorse)}, not ≤ ${levelWords(look, alphaPerLook)}).`;
  }
  return {
    rule: 'errors',
    decision,
    pairs: pairs.length,
    candidateOnly,
    baselineOnly,
    bothFailed,
    pValueWorse,
    pValueNotWorse: null,
    alpha: look.alpha,
    alphaPerLook,
    look: look.look,
    looks: look.looks,
    repeats: look.repeats,
    summary,
  };
}

function levelWords(look: GateLook, alphaPerLook: number): string {
  return look.looks === 1
    ? `alpha ${formatNumber(look.alpha)}`
    : `${formatP(alphaPerLook)} (alpha ${formatNumber(look.alpha)} split over ${look.looks} looks, this is look ${look.look})`;
}

/** A p-value in words: two significant digits, tiny ones in exponent form (never rounded to 0). */
function formatP(p: number): string {
  if (p === 0) return '0';
  return p < 0.0001 ? p.toExponential(1) : String(Number(p.toPrecision(2)));
}

function formatNumber(value: number): string {
  return String(Number(value.toPrecision(6)));
}

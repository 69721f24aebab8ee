/**
 * Change detection on a stream of calls: a Bernoulli CUSUM (Page's cumulative sum of
 * log-likelihood ratios) of "this call was bad" (failed, or slow) under a raised rate against
 * the rate the version had before. It grows by ln(p₁/p₀) for each bad call and shrinks by
 * ln((1 − p₀)/(1 − p₁)) for each good one, never below 0; a value above h says the recent
 * stretch is e^h times likelier under the raised rate than under the old one.
 */

/** The state of a CUSUM at the end of a stream of calls. */
export interface CusumResult {
  /** The statistic at the newest call (≥ 0). */
  statistic: number;
  /** Calls since the statistic last stood at 0: the stretch that carries the evidence. */
  stretch: number;
  /** Bad calls in that stretch. */
  badInStretch: number;
}

/**
 * Runs a Bernoulli CUSUM over `badOldestFirst` with in-control rate `p0` and out-of-control
 * rate `p1` (0 < p0 < p1 < 1).
 */
export function bernoulliCusum(badOldestFirst: readonly boolean[], p0: number, p1: number): CusumResult {
  const up = Math.log(p1 / p0);
  const down = Math.log((1 - p1) / (1 - p0));
  let statistic = 0;
  let stretch = 0;
  let badInStretch = 0;
  for (const bad of badOldestFirst) {
    statistic += bad ? up : down;
    if (statistic <= 0) {
      statistic = 0;
      stretch = 0;
      badInStretch = 0;
    } else {
      stretch += 1;
      if (bad) badInStretch += 1;
    }
  }
  return { statistic, stretch, badInStretch };
}

/** What {@link selfStartingCusum} returns: the CUSUM's state and the rates it ended with. */
export interface SelfStartingCusumResult extends CusumResult {
  /** The in-control rate the final stretch was judged against. */
  p0: number;
  /** The raised rate it was judged against. */
  p1: number;
  /** Calls the in-control rate was estimated from (earlier calls plus absorbed stretches). */
  baselineCalls: number;
  /** Of those, the bad ones. */
  baselineBad: number;
}

/**
 * A self-starting Bernoulli CUSUM: the in-control rate is estimated as the stream goes, from
 * the `earlier` calls and every call of the stream up to the start of the current stretch
 * (`cautiousRate`), and is frozen while a stretch lasts, so a real change does not raise its own
 * baseline; a stretch that ends (the statistic back at 0) joins the baseline. The raised rate is
 * `raisedRate(p0, increase)`. A young version is thus judged against its own first calls.
 */
export function selfStartingCusum(
  badOldestFirst: readonly boolean[],
  earlier: { readonly calls: number; readonly bad: number },
  prior: RatePrior,
  increase: number,
): SelfStartingCusumResult {
  let baselineCalls = earlier.calls;
  let baselineBad = earlier.bad;
  let p0 = cautiousRate(baselineBad, baselineCalls, prior);
  let p1 = raisedRate(p0, increase);
  // The rates change only when a stretch joins the baseline; they are recomputed when next needed.
  let stale = false;
  let statistic = 0;
  let stretch = 0;
  let badInStretch = 0;
  for (const bad of badOldestFirst) {
    if (statistic === 0 && !bad) {
      // A good call at 0 keeps it at 0 whatever the rates: it joins the baseline at once.
      baselineCalls += 1;
      stale = true;
      continue;
    }
    if (stale) {
      p0 = cautiousRate(baselineBad, baselineCalls, prior);
      p1 = raisedRate(p0, increase);
      stale = false;
    }
    statistic += bad ? Math.log(p1 / p0) : Math.log((1 - p1) / (1 - p0));
    stretch += 1;
    if (bad) badInStretch += 1;
    if (statistic <= 0) {
      statistic = 0;
      baselineCalls += stretch;
      baselineBad += badInStretch;
      stretch = 0;
      badInStretch = 0;
      stale = true;
    }
  }
  if (stale) {
    p0 = cautiousRate(baselineBad, baselineCalls, prior);
    p1 = raisedRate(p0, increase);
  }
  return { statistic, stretch, badInStretch, p0, p1, baselineCalls, baselineBad };
}

/** A prior for a rate: its mean and how many calls' worth of weight it carries. */
export interface RatePrior {
  /** The prior mean of the rate. */
  readonly rate: number;
  /** Its weight in calls (a Beta prior with `rate · weight` bad and `(1 − rate) · weight` good). */
  readonly weight: number;
}

/** The lowest in-control rate used: a version that never failed still may (and ln(p₁/0) is ∞). */
export const MIN_BASELINE_RATE = 0.01;

/**
 * A cautious estimate of a version's usual bad-call rate from `bad` of `calls` earlier calls:
 * the Beta posterior mean plus one posterior standard deviation, at least
 * {@link MIN_BASELINE_RATE}. Erring high keeps a version with little history from looking
 * changed by noise (a raised baseline makes the CUSUM slower to alarm, never quicker).
 */
export function cautiousRate(bad: number, calls: number, prior: RatePrior): number {
  const alpha = bad + prior.rate * prior.weight;
  const beta = calls - bad + (1 - prior.rate) * prior.weight;
  const mean = alpha / (alpha + beta);
  const deviation = Math.sqrt((mean * (1 - mean)) / (alpha + beta + 1));
  return Math.min(0.98, Math.max(MIN_BASELINE_RATE, mean + deviation));
}

/** The raised rate a change test looks for: `p0 + increase`, at least twice `p0`, below 1. */
export function raisedRate(p0: number, increase: number): number {
  return Math.min(0.99, Math.max(p0 + increase, 2 * p0));
}

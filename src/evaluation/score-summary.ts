import type { MemorySummary } from '../memory/performance-memory.ts';
import type { LatencyStats } from '../storage/records.ts';
import { callCount, fixed, ms, ratio } from './decision-words.ts';
import type { DecisionEvidence, EvaluationReason, ScoreComponents } from './evaluation.ts';
import {
  type DecisionPolicy,
  type EvaluatorOptions,
  LATENCY_FLOOR_MS,
  type ResolvedEvaluatorOptions,
  resolveEvaluatorOptions,
} from './evaluator-options.ts';
import { decideSequential, type SequentialInput } from './sequential-policy.ts';

/** What {@link scoreSummary} decides about one window: the part of an `Evaluation` that is pure. */
export interface SummaryScore {
  /** Weighted score in [0, 1]; 1 when there are too few calls to judge. */
  score: number;
  /** The parts of the score. */
  components: ScoreComponents;
  /**
   * True when a rule of the policy fired: `LOW_SUCCESS`, `DEGRADED` or `TOO_SLOW`
   * (`'sequential'`); `LOW_SCORE`, `LOW_SUCCESS` or `DEGRADED` (`'window'`); `LOW_SCORE`
   * (`'article'`).
   */
  needsRewrite: boolean;
  /**
   * Findings in a fixed order: INSUFFICIENT_DATA | LOW_SCORE, LOW_SUCCESS, DEGRADED, TOO_SLOW,
   * SLOW, INCONSISTENT. Under `'article'` only `LOW_SCORE` needs a rewrite; the others are
   * reported for information.
   */
  reasons: EvaluationReason[];
  /** The `'sequential'` policy's tests, flagged or not; empty under the other policies. */
  evidence: DecisionEvidence[];
}

/**
 * Below this consistency component `INCONSISTENT` is reported (informational), as the
 * article's own explanation does.
 */
export const INCONSISTENT_BELOW = 0.5;

/** Ratios and rates compared with `≥` are computed in floating point: 0.95 − 0.75 < 0.2. */
const EPSILON = 1e-9;

/**
 * Scores one window summary, with no I/O: the article's weighted score, the rewrite rules and
 * the reasons. `baseline` is the same version's earlier window, used for `DEGRADED` under the
 * `'window'` policy. Under `'sequential'` (the default) a summary carries no stream of calls, so
 * only the success-rate test runs, on the summary's counts; `Evaluator.evaluate` reads the
 * recent calls and runs the change tests too.
 *
 * @example
 * ```ts
 * const summary = await memory.summary('fetch_rate', { version: 2, window: 20 });
 * const { score, needsRewrite, reasons } = scoreSummary(summary);
 * // all 20 calls succeeded, avg 500 ms, min = max → score 1, needsRewrite false, reasons []
 * ```
 */
export function scoreSummary(
  summary: MemorySummary,
  options: EvaluatorOptions = {},
  baseline: MemorySummary | null = null,
): SummaryScore {
  return scoreWithOptions(summary, resolveEvaluatorOptions(options), baseline);
}

/**
 * {@link scoreSummary} with options already resolved (what `Evaluator` uses); `stream` is what
 * the `'sequential'` policy's tests read (the summary's counts when absent).
 */
export function scoreWithOptions(
  summary: MemorySummary,
  options: ResolvedEvaluatorOptions,
  baseline: MemorySummary | null,
  stream?: SequentialInput,
): SummaryScore {
  const latency = summary.latencyMs;
  if (summary.invocations < options.minInvocations || latency === null) {
    // The article's rule: too little evidence is not a reason to rewrite.
    return {
      score: 1,
      components: { successRate: 1, latency: 1, consistency: 1 },
      needsRewrite: false,
      reasons: [
        {
          code: 'INSUFFICIENT_DATA',
          message: `only ${callCount(summary.invocations)} in the window (at least ${options.minInvocations} needed); scored 1, not rewritten`,
        },
      ],
      evidence: [],
    };
  }
  const components: ScoreComponents = {
    successRate: summary.successRate,
    latency: latencyComponent(latency.avg, options),
    consistency: consistencyComponent(latency, options),
  };
  const { weights } = options;
  const score =
    weights.successRate * components.successRate +
    weights.latency * components.latency +
    weights.consistency * components.consistency;

  const reasons: EvaluationReason[] = [];
  let evidence: DecisionEvidence[] = [];
  if (score < options.threshold) {
    const [value, limit] = distinct(score, options.threshold);
    reasons.push({
      code: 'LOW_SCORE',
      message:
        `score ${value} is below the threshold ${limit} (success ${fixed(components.successRate)} × ${weights.successRate}` +
        ` + latency ${fixed(components.latency)} × ${weights.latency} + consistency ${fixed(components.consistency)} × ${weights.consistency})`,
    });
  }
  if (options.policy === 'sequential') {
    const decision = decideSequential(
      stream ?? { recent: [], totals: { calls: summary.invocations, failures: summary.failures } },
      options,
    );
    for (const reason of decision.reasons) {
      reasons.push(
        reason.code === 'LOW_SUCCESS'
          ? { ...reason, message: reason.message + recentErrors(summary) }
          : reason,
      );
    }
    evidence = decision.evidence;
  } else {
    windowRules(summary, baseline, options, reasons);
  }
  if (components.latency < 1) {
    reasons.push({
      code: 'SLOW',
      message: `average latency ${ms(latency.avg)} is above the target ${ms(options.targetLatencyMs)} (latency component ${fixed(components.latency)}; 0 at ${ms(options.maxLatencyMs)})`,
    });
  }
  if (components.consistency < INCONSISTENT_BELOW) {
    const measured =
      options.consistency === 'spread'
        ? `latency ranged from ${ms(latency.min)} to ${ms(latency.max)} around an average of ${ms(latency.avg)}`
        : `p95 latency ${ms(latency.p95)} is ${ratio(latency.p95, latency.p50)} the median ${ms(latency.p50)}`;
    reasons.push({
      code: 'INCONSISTENT',
      message: `${measured} (consistency component ${fixed(components.consistency)}, below ${fixed(INCONSISTENT_BELOW)})`,
    });
  }
  const needsRewrite = reasons.some((reason) => REWRITE_REASONS[options.policy].includes(reason.code));
  return { score, components, needsRewrite, reasons, evidence };
}

/** The reasons that need a rewrite under each policy; the others are informational. */
const REWRITE_REASONS: Readonly<Record<DecisionPolicy, readonly EvaluationReason['code'][]>> = {
  sequential: ['LOW_SUCCESS', 'DEGRADED', 'TOO_SLOW'],
  window: ['LOW_SCORE', 'LOW_SUCCESS', 'DEGRADED'],
  article: ['LOW_SCORE'],
};

/** The `'window'` and `'article'` policies' success and degradation rules (0.1's). */
function windowRules(
  summary: MemorySummary,
  baseline: MemorySummary | null,
  options: ResolvedEvaluatorOptions,
  reasons: EvaluationReason[],
): void {
  if (summary.successRate < options.minSuccessRate) {
    const [value, limit] = distinct(summary.successRate, options.minSuccessRate);
    reasons.push({
      code: 'LOW_SUCCESS',
      message: `success rate ${value} (${summary.successes} of ${callCount(summary.invocations)}) is below the minimum ${limit}${recentErrors(summary)}`,
    });
  }
  const degraded = degradation(summary, baseline, options);
  if (degraded !== null) reasons.push({ code: 'DEGRADED', message: degraded });
}

/** 1 at or below the target, 0 at or above the maximum, linear in between (the article). */
function latencyComponent(averageMs: number, options: ResolvedEvaluatorOptions): number {
  if (averageMs <= options.targetLatencyMs) return 1;
  if (averageMs >= options.maxLatencyMs) return 0;
  return 1 - (averageMs - options.targetLatencyMs) / (options.maxLatencyMs - options.targetLatencyMs);
}

function consistencyComponent(latency: LatencyStats, options: ResolvedEvaluatorOptions): number {
  // Under 'sequential', spread below the latency floor is jitter no user notices: a flawless
  // 3 ms tool is perfectly consistent. The other policies keep the article's formula.
  const floor =
    options.policy !== 'sequential'
      ? 0
      : options.degradation === false
        ? LATENCY_FLOOR_MS
        : options.degradation.minLatencyIncreaseMs;
  if (options.consistency === 'spread') {
    // The article, to the letter (including 1 when the average is 0).
    const spread = Math.max(0, latency.max - latency.min - floor);
    return latency.avg > 0 ? Math.max(0, 1 - spread / (latency.avg * 3)) : 1;
  }
  const spread = Math.max(0, latency.p95 - latency.p50 - floor);
  return latency.p50 > 0 ? Math.max(0, 1 - spread / (latency.p50 * 3)) : 1;
}

/** The `DEGRADED` message, or null when the window is not clearly worse than the baseline. */
function degradation(
  current: MemorySummary,
  baseline: MemorySummary | null,
  options: ResolvedEvaluatorOptions,
): string | null {
  const rules = options.degradation;
  if (rules === false || baseline === null || baseline.invocations < rules.minBaselineInvocations)
    return null;
  const findings: string[] = [];
  const drop = baseline.successRate - current.successRate;
  if (drop >= rules.successDrop - EPSILON) {
    findings.push(
      `success rate fell from ${fixed(baseline.successRate)} (${baseline.successes} of ${callCount(baseline.invocations)})` +
        ` to ${fixed(current.successRate)} (${current.successes} of ${callCount(current.invocations)}), a drop of ${fixed(drop)} (limit ${fixed(rules.successDrop)})`,
    );
  }
  const before = baseline.latencyMs?.p50;
  const now = current.latencyMs?.p50;
  if (
    before !== undefined &&
    now !== undefined &&
    now >= rules.latencyFactor * before - EPSILON &&
    now - before >= rules.minLatencyIncreaseMs - EPSILON
  ) {
    findings.push(
      `median latency rose from ${ms(before)} to ${ms(now)} (${ratio(now, before)}; limit ${rules.latencyFactor}× and +${ms(rules.minLatencyIncreaseMs)})`,
    );
  }
  if (findings.length === 0) return null;
  return `${findings.join('; ')}, compared with the ${callCount(baseline.invocations)} before the current window`;
}

function recentErrors(summary: MemorySummary): string {
  const [latest] = summary.recentErrors;
  if (latest === undefined) return '';
  return `; latest error: ${latest.length > 120 ? `${latest.slice(0, 119)}…` : latest}`;
}

/**
 * Two decimals, or as many more (up to 6) as it takes for `value` and `limit` to print
 * differently, so a message never says "0.60 is below 0.60".
 */
function distinct(value: number, limit: number): [string, string] {
  for (let digits = 2; digits < 6; digits += 1) {
    const pair: [string, string] = [value.toFixed(digits), limit.toFixed(digits)];
    if (pair[0] !== pair[1]) return pair;
  }
  return [String(value), String(limit)];
}

import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { booleanOption, integerOption, numberOption, objectOption } from '../core/options.ts';
import type { Evaluation } from '../evaluation/evaluation.ts';
import { DEFAULT_MODEL_TIMEOUT_MS } from '../generation/model-deadline.ts';
import type { RegressionReport } from '../regression/regression-report.ts';
import type { RewriteProposal } from '../rewriting/rewriter.ts';

/** How and when the agent improves its tools. */
export interface ImprovementOptions {
  /**
   * Evaluate a tool's version after every N of its calls, and (with `evaluateOnAnomaly`) right
   * after every call that could make it need a rewrite. A success as fast as usual can only
   * weaken the evidence of the default evaluator's tests, so the cadence is a safety net (for
   * gradual latency changes and custom evaluators).
   * @default 20
   */
  evaluateEvery?: number;
  /**
   * Also evaluate right after a failed call, a call more than twice as slow as the version's
   * usual latency and at least 100 ms slower (`callNeedsEvaluation`), and every wrong answer
   * reported with `agent.feedback`, whatever `evaluateEvery` says.
   * @default true
   */
  evaluateOnAnomaly?: boolean;
  /**
   * Improvements per tool that produced at least one candidate (kept in storage, so a restart
   * does not reset it; an improvement where every rewriter declined is not counted). A person
   * resets a tool's count with `agent.resetImprovements(name)`, `registry.resetImprovements` or
   * `sia improvements reset <tool>`.
   * @default 3
   */
  maxRewritesPerTool?: number;
  /** Proposals tried per improvement before giving up. @default 3 */
  attemptsPerRewrite?: number;
  /** Minimum time between two improvements of one tool, ms (kept in storage). @default 60_000 */
  cooldownMs?: number;
  /** Tools never changed automatically (in addition to tools pinned in storage). @default [] */
  pinned?: string[];
  /**
   * `background`: calls return at once and improvement runs beside them (`idle()` waits for it).
   * `inline`: the call that triggers an evaluation waits for the whole improvement.
   * @default 'background'
   */
  mode?: 'background' | 'inline';
  /**
   * Before promotion, run a candidate that passed the gate beside the active version on the
   * next K live inputs (its result is not returned); promote only if it did not do worse.
   * Tools added with `sideEffects: true` skip this. @default 0 (off)
   */
  shadowCalls?: number;
  /**
   * After a promotion, watch the new version over at most this many of its calls: after each,
   * a sequential test compares its failures (wrong answers reported with `agent.feedback`
   * included) with the replaced version's last 100 calls and rolls it back as soon as it is
   * shown worse; at the end, a binomial test decides. See `sequentialRollbackTest`.
   * @default 40
   */
  watchCalls?: number;
  /**
   * The chance of rolling back a promoted version that is truly as good as the one it replaced
   * (the watch's false-alarm budget), between 0.0001 and 0.5. Lower rolls back fewer good
   * versions and misses more bad ones.
   * @default 0.02
   */
  falseRollbackRate?: number;
  /**
   * The rise in failure rate (absolute, at least a doubling is looked for) that the watch is
   * tuned to catch quickly. With the defaults, a version going from 5% to 30% failures is rolled
   * back in about 96% of promotions, after a median of 16 calls (`npm run bench decision`).
   * @default 0.15
   */
  rollbackFailureIncrease?: number;
  /** Spending limit of LLM tokens for improvements, per UTC day (kept in storage). */
  budget?: { maxTokensPerDay?: number };
  /**
   * How long one instance may hold a tool's improvement lease before another may take it, ms.
   * It must outlast one attempt's model call, so it must be more than `modelTimeoutMs`.
   * @default max(120_000, 2 × modelTimeoutMs)
   */
  leaseMs?: number;
  /** Recent successful calls turned into regression cases before a gate (needs `capture`). @default 10 */
  harvestCases?: number;
}

/** What the `approve` hook sees before a promotion. */
export interface PromotionProposal {
  toolName: string;
  /** The active version the proposal replaces. */
  fromVersion: number;
  /** The proposal (source, rationale, author). */
  proposal: RewriteProposal;
  /** The evaluation that triggered the improvement. */
  evaluation: Evaluation;
  /** The gate's report. */
  regression: RegressionReport;
  /** A unified diff from the active source to the proposal. */
  diff: string;
}

/** {@link ImprovementOptions} with defaults applied. */
export interface ResolvedImprovementOptions {
  readonly evaluateEvery: number;
  readonly evaluateOnAnomaly: boolean;
  readonly maxRewritesPerTool: number;
  readonly attemptsPerRewrite: number;
  readonly cooldownMs: number;
  readonly pinned: readonly string[];
  readonly mode: 'background' | 'inline';
  readonly shadowCalls: number;
  readonly watchCalls: number;
  readonly falseRollbackRate: number;
  readonly rollbackFailureIncrease: number;
  readonly maxTokensPerDay: number | undefined;
  readonly leaseMs: number;
  readonly harvestCases: number;
}

/**
 * Validates and freezes the improvement options. `modelTimeoutMs` is the agent's (resolved)
 * model deadline and whether the caller set it: an unset `leaseMs` derives from it, a set one
 * must exceed it.
 */
export function resolveImprovementOptions(
  value: unknown,
  modelTimeout: { readonly ms: number; readonly set: boolean } = {
    ms: DEFAULT_MODEL_TIMEOUT_MS,
    set: false,
  },
): ResolvedImprovementOptions {
  const options = value === undefined ? {} : (objectOption('improvement', value) as ImprovementOptions);
  const mode = options.mode ?? 'background';
  if (mode !== 'background' && mode !== 'inline') {
    throw new InvalidOptionError({
      field: 'improvement.mode',
      expected: '"background" or "inline"',
      value: mode,
    });
  }
  if ((options as { rollbackMargin?: unknown }).rollbackMargin !== undefined) {
    throw new InvalidOptionError({
      field: 'improvement.rollbackMargin',
      expected:
        'no value: the promotion watch is a sequential test since 0.2; set improvement.falseRollbackRate (default 0.02) or improvement.rollbackFailureIncrease (default 0.15) instead',
      value: (options as { rollbackMargin?: unknown }).rollbackMargin,
    });
  }
  const pinned = options.pinned ?? [];
  if (!Array.isArray(pinned) || pinned.some((name) => typeof name !== 'string')) {
    throw new InvalidOptionError({
      field: 'improvement.pinned',
      expected: 'an array of tool names',
      value: pinned,
    });
  }
  const budget = options.budget === undefined ? {} : objectOption('improvement.budget', options.budget);
  return Object.freeze({
    evaluateEvery: integerOption('improvement.evaluateEvery', options.evaluateEvery ?? 20, 1),
    evaluateOnAnomaly: booleanOption('improvement.evaluateOnAnomaly', options.evaluateOnAnomaly ?? true),
    maxRewritesPerTool: integerOption('improvement.maxRewritesPerTool', options.maxRewritesPerTool ?? 3, 0),
    attemptsPerRewrite: integerOption(
      'improvement.attemptsPerRewrite',
      options.attemptsPerRewrite ?? 3,
      1,
      20,
    ),
    cooldownMs: integerOption('improvement.cooldownMs', options.cooldownMs ?? 60_000, 0),
    pinned: Object.freeze([...pinned]),
    mode,
    shadowCalls: integerOption('improvement.shadowCalls', options.shadowCalls ?? 0, 0, 10_000),
    watchCalls: integerOption('improvement.watchCalls', options.watchCalls ?? 40, 1, 100_000),
    falseRollbackRate: numberOption(
      'improvement.falseRollbackRate',
      options.falseRollbackRate ?? 0.02,
      0.0001,
      0.5,
    ),
    rollbackFailureIncrease: numberOption(
      'improvement.rollbackFailureIncrease',
      options.rollbackFailureIncrease ?? 0.15,
      0.01,
      0.9,
    ),
    maxTokensPerDay:
      budget.maxTokensPerDay === undefined
        ? undefined
        : integerOption('improvement.budget.maxTokensPerDay', budget.maxTokensPerDay, 0),
    leaseMs: resolveLeaseMs(options.leaseMs, modelTimeout),
    harvestCases: integerOption('improvement.harvestCases', options.harvestCases ?? 10, 0),
  });
}

function resolveLeaseMs(
  value: unknown,
  modelTimeout: { readonly ms: number; readonly set: boolean },
): number {
  if (value === undefined) return Math.max(120_000, 2 * modelTimeout.ms);
  const leaseMs = integerOption('improvement.leaseMs', value, 1_000);
  // An unset modelTimeoutMs was derived from leaseMs, so only a set one can conflict.
  if (modelTimeout.set && leaseMs <= modelTimeout.ms) {
    throw new InvalidOptionError({
      field: 'improvement.leaseMs',
      expected: `more than modelTimeoutMs (${modelTimeout.ms}), so an attempt's model call ends before the lease does; raise improvement.leaseMs or lower modelTimeoutMs`,
      value: leaseMs,
    });
  }
  return leaseMs;
}

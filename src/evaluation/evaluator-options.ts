import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { integerOption, numberOption, objectOption } from '../core/options.ts';

/**
 * Which rules decide that a version needs a rewrite (see {@link EvaluatorOptions.policy}).
 * - `'sequential'`: tests with a stated error rate (a binomial test of the success rate, CUSUM
 *   change tests of failures and latency, a sign test of the latency limit).
 * - `'window'`: thresholds on the last `window` calls (score below `threshold`, success rate
 *   below `minSuccessRate`, or a window clearly worse than the one before): 0.1's default.
 * - `'article'`: the article's rule alone, score below `threshold`.
 */
export type DecisionPolicy = 'sequential' | 'window' | 'article';

/** How the consistency component is computed (see {@link EvaluatorOptions.consistency}). */
export type ConsistencyMode = 'spread' | 'percentile';

/** Weights of the three score components; each ≥ 0, together 1. */
export interface ScoreWeights {
  /** Weight of the success rate. @default 0.5 */
  successRate?: number;
  /** Weight of the latency component. @default 0.3 */
  latency?: number;
  /** Weight of the consistency component. @default 0.2 */
  consistency?: number;
}

/**
 * When a version counts as `DEGRADED`. Under the `'sequential'` policy: a change test of the
 * stream of calls (`failureIncrease`, `latencyFactor`, `minLatencyIncreaseMs`); under
 * `'window'`: its current window against the `window` calls of the same version just before it
 * (`minBaselineInvocations`, `successDrop`, `latencyFactor`, `minLatencyIncreaseMs`). Either
 * rule (failures, latency) is enough.
 */
export interface DegradationOptions {
  /**
   * `'sequential'` policy: the rise in failure rate (absolute) the failure change test is tuned
   * to find quickly: it weighs the recent calls under "the failure rate rose by this much (at
   * least doubled)" against "it stayed as it was". Smaller finds smaller changes, later.
   * @default 0.15
   */
  failureIncrease?: number;
  /**
   * The earlier window must hold at least this many calls to be compared with.
   * @default min(10, window)
   */
  minBaselineInvocations?: number;
  /** Flag when the success rate fell by at least this much (absolute, 0.2 = 20 points). @default 0.2 */
  successDrop?: number;
  /** Flag when the median latency grew to at least this factor of the earlier median. @default 2 */
  latencyFactor?: number;
  /**
   * …and by at least this many milliseconds, so a 1 ms tool that now takes 2 ms is not
   * "degraded" (sub-millisecond noise would otherwise trigger rewrites). Under the
   * `'sequential'` policy it is also the floor of the consistency component: latency spread
   * below it does not lower the score.
   * @default 100
   */
  minLatencyIncreaseMs?: number;
}

/**
 * Options of `Evaluator` (and of `scoreSummary`). The score's defaults reproduce the article's
 * scoring exactly: `0.5 · successRate + 0.3 · latency + 0.2 · consistency`; the article's rule
 * (rewrite below 0.6) is `policy: 'article'`.
 */
export interface EvaluatorOptions {
  /**
   * Which rules decide `needsRewrite`. The score (and its reasons) is computed and reported under
   * every policy; under `'sequential'`, `LOW_SCORE` is informational.
   * @default 'sequential'
   */
  policy?: DecisionPolicy;
  /**
   * `'sequential'` policy: the false-alarm budget, the share of 1000-call runs of a tool that
   * never changes (success rate at least 0.9, steady latency below `targetLatencyMs`) that may
   * raise any rewrite request when evaluated after every call. It sets the thresholds: the change
   * tests' CUSUM threshold h = 7 + ln(0.05 / falseAlarmRate) and each level test's significance
   * falseAlarmRate / 5. Lower trades slower detection for fewer needless rewrites (halving it
   * adds about 2–3 calls to the detection of a 2% → 20% failure jump); `npm run bench decision`
   * measures both. Between 0.0001 and 0.5.
   * @default 0.05
   */
  falseAlarmRate?: number;
  /**
   * `'sequential'` policy: how many of the version's most recent calls the change tests read
   * (the memory's window of recent calls, `statistics.recentCalls`, holds 100: more reads
   * storage). At least `window`.
   * @default max(100, window)
   */
  history?: number;
  /** Weights of the components. Missing fields take their default; the sum must be 1 (±1e-9). */
  weights?: ScoreWeights;
  /**
   * At or below this average latency the latency component is 1, ms.
   * @default 1000, or maxLatencyMs / 5 when only maxLatencyMs is set below 5000
   */
  targetLatencyMs?: number;
  /**
   * At or above this average latency the latency component is 0 (linear in between), ms.
   * @default max(5000, 5 × targetLatencyMs)
   */
  maxLatencyMs?: number;
  /** A score below this needs a rewrite (`LOW_SCORE`). @default 0.6 */
  threshold?: number;
  /**
   * A success rate below this needs a rewrite whatever the score (`LOW_SUCCESS`). The
   * article's weights alone let a fast, steady tool fail 80% of its calls before its score
   * falls below 0.6; 0.8 is where the article's own explanation starts to report failures.
   * @default 0.8
   */
  minSuccessRate?: number;
  /**
   * With fewer calls in the window the score is 1 and nothing is rewritten (`INSUFFICIENT_DATA`).
   * At most `window`.
   * @default min(3, window)
   */
  minInvocations?: number;
  /** How many of the version's most recent calls are scored. @default 20 */
  window?: number;
  /**
   * `'spread'` (the article): `max(0, 1 − (max − min) / (3 · avg))`; one slow call among twenty
   * can take it to 0. `'percentile'`: `max(0, 1 − (p95 − p50) / (3 · p50))`, the same shape on
   * robust statistics: the median ignores outliers, and the nearest-rank p95 of 20 calls is the
   * second-slowest, so a single outlier does not count (with fewer than 20 calls p95 is the
   * maximum, so use a window of at least 20).
   * @default 'spread'
   */
  consistency?: ConsistencyMode;
  /**
   * When a version counts as `DEGRADED` (which needs a rewrite). `false` turns the check off.
   * The evaluation source must have a `recent()` method for it (PerformanceMemory does).
   */
  degradation?: DegradationOptions | false;
  /** Clock for `evaluatedAt`, epoch ms. @default Date.now */
  clock?: () => number;
}

/** {@link DegradationOptions} with every default applied. */
export interface ResolvedDegradationOptions {
  readonly failureIncrease: number;
  readonly minBaselineInvocations: number;
  readonly successDrop: number;
  readonly latencyFactor: number;
  readonly minLatencyIncreaseMs: number;
}

/** {@link EvaluatorOptions} with every default applied (frozen). */
export interface ResolvedEvaluatorOptions {
  readonly policy: DecisionPolicy;
  readonly falseAlarmRate: number;
  readonly history: number;
  readonly weights: { readonly successRate: number; readonly latency: number; readonly consistency: number };
  readonly targetLatencyMs: number;
  readonly maxLatencyMs: number;
  readonly threshold: number;
  readonly minSuccessRate: number;
  readonly minInvocations: number;
  readonly window: number;
  readonly consistency: ConsistencyMode;
  readonly degradation: ResolvedDegradationOptions | false;
  readonly clock: () => number;
}

/**
 * The latency difference that matters to a user, ms: jitter below it never counts. It is the
 * default of `degradation.minLatencyIncreaseMs`, the consistency floor of the `'sequential'`
 * policy, the margin of a much slower call that triggers an evaluation (`callNeedsEvaluation`),
 * and the default slack of the regression gate (`latencyMarginMs`).
 */
export const LATENCY_FLOOR_MS = 100;

const WEIGHT_SUM_TOLERANCE = 1e-9;
/** `recent()` reads 2 · window records, and PerformanceMemory accepts limits up to 1e6. */
const MAX_WINDOW = 500_000;

/** Validates `options` and applies defaults once; throws `InvalidOptionError` naming the field. */
export function resolveEvaluatorOptions(options: EvaluatorOptions = {}): ResolvedEvaluatorOptions {
  objectOption('options', options);
  const weightsInput = options.weights === undefined ? {} : objectOption('weights', options.weights);
  const weights = Object.freeze({
    successRate: numberOption('weights.successRate', weightsInput.successRate ?? 0.5, 0, 1),
    latency: numberOption('weights.latency', weightsInput.latency ?? 0.3, 0, 1),
    consistency: numberOption('weights.consistency', weightsInput.consistency ?? 0.2, 0, 1),
  });
  const sum = weights.successRate + weights.latency + weights.consistency;
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) {
    throw new InvalidOptionError({
      field: 'weights',
      expected: `weights summing to 1 (successRate ${weights.successRate} + latency ${weights.latency} + consistency ${weights.consistency} = ${Number(sum.toPrecision(12))})`,
      value: options.weights,
    });
  }
  // Coupled options: an unset one derives from the set one, so an error only ever names options
  // the caller set (or says which default to change).
  const setTarget =
    options.targetLatencyMs === undefined
      ? undefined
      : numberOption('targetLatencyMs', options.targetLatencyMs, 0);
  const setMax =
    options.maxLatencyMs === undefined ? undefined : numberOption('maxLatencyMs', options.maxLatencyMs, 0);
  const targetLatencyMs = setTarget ?? (setMax !== undefined && setMax < 5000 ? setMax / 5 : 1000);
  const maxLatencyMs = setMax ?? Math.max(5000, 5 * targetLatencyMs);
  if (maxLatencyMs <= targetLatencyMs) {
    throw new InvalidOptionError({
      field: 'maxLatencyMs',
      expected: `a number greater than targetLatencyMs (${targetLatencyMs})`,
      value: maxLatencyMs,
    });
  }
  const window = integerOption('window', options.window ?? 20, 1, MAX_WINDOW);
  const minInvocations =
    options.minInvocations === undefined
      ? Math.min(3, window)
      : integerOption(
          'minInvocations',
          options.minInvocations,
          1,
          window,
          (field, expected, value) =>
            new InvalidOptionError({
              field,
              expected:
                options.window === undefined ? `${expected} (the default window; set window too)` : expected,
              value,
            }),
        );
  const consistency = options.consistency ?? 'spread';
  if (consistency !== 'spread' && consistency !== 'percentile') {
    throw new InvalidOptionError({
      field: 'consistency',
      expected: "'spread' or 'percentile'",
      value: consistency,
    });
  }
  const policy = options.policy ?? 'sequential';
  if (policy !== 'sequential' && policy !== 'window' && policy !== 'article') {
    throw new InvalidOptionError({
      field: 'policy',
      expected: "'sequential', 'window' or 'article'",
      value: policy,
    });
  }
  const history = integerOption(
    'history',
    options.history ?? Math.max(100, window),
    window,
    MAX_WINDOW,
    (field, expected, value) =>
      new InvalidOptionError({
        field,
        expected: `${expected} (at least window, ${window})`,
        value,
      }),
  );
  const clock = options.clock ?? Date.now;
  if (typeof clock !== 'function')
    throw new InvalidOptionError({ field: 'clock', expected: 'a function returning epoch ms', value: clock });
  return Object.freeze({
    policy,
    falseAlarmRate: numberOption('falseAlarmRate', options.falseAlarmRate ?? 0.05, 0.0001, 0.5),
    history,
    weights,
    targetLatencyMs,
    maxLatencyMs,
    threshold: numberOption('threshold', options.threshold ?? 0.6, 0, 1),
    minSuccessRate: numberOption('minSuccessRate', options.minSuccessRate ?? 0.8, 0, 1),
    minInvocations,
    window,
    consistency,
    degradation: resolveDegradation(options.degradation, window, options.window !== undefined),
    clock,
  });
}

function resolveDegradation(
  value: DegradationOptions | false | undefined,
  window: number,
  windowSet: boolean,
): ResolvedDegradationOptions | false {
  if (value === false) return false;
  const degradation = value === undefined ? {} : objectOption('degradation', value);
  return Object.freeze({
    failureIncrease: positive('degradation.failureIncrease', degradation.failureIncrease ?? 0.15, 0, 0.9),
    minBaselineInvocations: integerOption(
      'degradation.minBaselineInvocations',
      degradation.minBaselineInvocations ?? Math.min(10, window),
      1,
      window,
      (field, expected, received) =>
        new InvalidOptionError({
          field,
          expected: windowSet ? expected : `${expected} (the default window; set window too)`,
          value: received,
        }),
    ),
    successDrop: positive('degradation.successDrop', degradation.successDrop ?? 0.2, 0, 1),
    latencyFactor: positive('degradation.latencyFactor', degradation.latencyFactor ?? 2, 1),
    minLatencyIncreaseMs: numberOption(
      'degradation.minLatencyIncreaseMs',
      degradation.minLatencyIncreaseMs ?? LATENCY_FLOOR_MS,
      0,
    ),
  });
}

/** A finite number in (min, max]: a drop of 0 or a factor of 1 would flag every version. */
function positive(option: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `> ${min}` : `> ${min} and ≤ ${max}`;
    throw new InvalidOptionError({ field: option, expected: `a finite number ${range}`, value });
  }
  return value;
}

import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { booleanOption, integerOption, objectOption } from '../core/options.ts';

/** Options of `HardeningRewriter`. The defaults fit the sandbox's default 5 s deadline. */
export interface HardeningRewriterOptions {
  /** Tries of one request, and of one whole call, at most (1 to 10). @default 4 */
  readonly maxAttempts?: number;
  /** First back-off step in ms; it doubles on each retry (0 to 60 000). @default min(100, maxDelayMs) */
  readonly baseDelayMs?: number;
  /** Largest back-off step in ms (at least `baseDelayMs`). @default max(2000, baseDelayMs) */
  readonly maxDelayMs?: number;
  /**
   * Time into a call after which no retry or wait starts, in ms. Keep it below the sandbox's
   * `timeoutMs` (5 000 by default) so a call reports its last failure instead of being killed.
   * A `Retry-After` longer than what is left is not waited for.
   * @default 4000
   */
  readonly budgetMs?: number;
  /**
   * Per-attempt `fetch` timeout in ms, added for `SLOW`/`INCONSISTENT` tools. When not given it
   * is derived from the window: twice the median call latency, between 250 ms and half of
   * `budgetMs` (a quarter of `budgetMs` when there are no latencies).
   * @default derived from `summary.latencyMs.p50`
   */
  readonly attemptTimeoutMs?: number;
  /** Share one response between identical GET requests within a call (`SLOW`/`INCONSISTENT` only). @default true */
  readonly cacheGets?: boolean;
}

/** {@link HardeningRewriterOptions} with defaults applied. */
export interface ResolvedHardeningRewriterOptions {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly budgetMs: number;
  readonly attemptTimeoutMs: number | undefined;
  readonly cacheGets: boolean;
}

/**
 * Validates `options` and applies the defaults once, returning a frozen copy (the caller's
 * object is not touched). Throws `InvalidOptionError` naming the field and the received value.
 */
export function resolveHardeningRewriterOptions(
  options: HardeningRewriterOptions,
): ResolvedHardeningRewriterOptions {
  objectOption('options', options);
  // Each of the pair derives its default from the other when only one is set.
  const setMax =
    options.maxDelayMs === undefined
      ? undefined
      : integerOption('maxDelayMs', options.maxDelayMs, 0, 600_000);
  const baseDelayMs =
    options.baseDelayMs === undefined
      ? Math.min(100, setMax ?? 100)
      : integerOption('baseDelayMs', options.baseDelayMs, 0, 60_000);
  const maxDelayMs = setMax ?? Math.max(2_000, baseDelayMs);
  if (maxDelayMs < baseDelayMs)
    throw new InvalidOptionError({
      field: 'maxDelayMs',
      expected: `an integer ≥ baseDelayMs (${baseDelayMs})`,
      value: maxDelayMs,
    });
  return Object.freeze({
    maxAttempts:
      options.maxAttempts === undefined ? 4 : integerOption('maxAttempts', options.maxAttempts, 1, 10),
    baseDelayMs,
    maxDelayMs,
    budgetMs:
      options.budgetMs === undefined ? 4_000 : integerOption('budgetMs', options.budgetMs, 1, 600_000),
    attemptTimeoutMs:
      options.attemptTimeoutMs === undefined
        ? undefined
        : integerOption('attemptTimeoutMs', options.attemptTimeoutMs, 1, 600_000),
    cacheGets: options.cacheGets === undefined ? true : booleanOption('cacheGets', options.cacheGets),
  });
}

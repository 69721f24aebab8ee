import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { integerOption, numberOption, objectOption } from '../core/options.ts';
import { LATENCY_FLOOR_MS } from '../evaluation/evaluator-options.ts';
import type { Sandbox } from '../sandbox/sandbox.ts';
import type { SecretSource } from '../sandbox/sandbox-secrets.ts';
import type { ToolCapabilities } from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';

/**
 * The part of a {@link Sandbox} the runner uses: `QuickJsSandbox` fits. `capacity` (optional)
 * sizes the default `concurrency`.
 */
export type RegressionSandbox = Pick<Sandbox, 'runDetailed' | 'capacity'>;

/** The largest `concurrency` accepted (and the cap on a sandbox's `capacity` used as default). */
const maxConcurrency = 256;

/** Options of `RegressionRunner`. */
export interface RegressionRunnerOptions {
  /**
   * Where cases are kept and tool versions are read.
   * @default none: required
   */
  readonly storage: StorageAdapter;
  /**
   * Where candidate and baseline run. Never the host.
   * @default none: required
   */
  readonly sandbox: RegressionSandbox;
  /**
   * Runs per case and side in the first round; every run must pass. Between 1 and 100.
   * @default 3
   */
  readonly repeats?: number;
  /**
   * The most runs per case and side. When a comparative rule (latency, errors) is undecided
   * after `repeats`, every case runs again in rounds, doubling the repeats (3, 6, 12 with the
   * defaults) up to this; still undecided, the verdict is `inconclusive` (code `INCONCLUSIVE`)
   * and the current version is kept. Between `repeats` and 100.
   * @default 12, or `repeats` when that is larger
   */
  readonly maxRepeats?: number;
  /**
   * The error rate of each comparative rule, per direction, over the whole sequential
   * procedure: the chance of rejecting (SLOWER, ERROR_RATE_HIGHER) a candidate that is not
   * worse, and of accepting as not slower a candidate that is, are each at most `alpha`. Each
   * look at the data (after `repeats`, then after each doubling up to `maxRepeats`) tests at
   * `alpha` divided by the number of looks the schedule allows (Bonferroni: 3 looks, 0.0167 each,
   * with the defaults), since looking after every round would otherwise inflate it. The tests are
   * exact binomial tests (a sign test on latency, McNemar's exact test on failures), valid for
   * any number of runs. Above 0 and at most 0.5.
   * @default 0.05
   */
  readonly alpha?: number;
  /**
   * How much slower (relative) the candidate may be than the baseline, run by run: a paired run
   * (the candidate's and the baseline's run of the same case and repeat) counts against the
   * candidate when it took longer than `baseline·(1 + latencyMargin) + latencyMarginMs`, and
   * the gate rejects (SLOWER) when significantly more than half do. Not applied when the
   * candidate failed fewer paired runs than the baseline (retries cost time).
   * @default 0.5 (50% slower at most)
   */
  readonly latencyMargin?: number;
  /**
   * Absolute slack added to the latency margin, ms: the latency floor that matters to a user (the
   * evaluator's `degradation.minLatencyIncreaseMs` is the same 100 ms). Below it, a scheduling
   * stall on a busy machine — tens of milliseconds when other processes share the cores — is
   * not counted against a candidate, so a fast tool's gate is not left undecided by noise.
   * @default 100
   */
  readonly latencyMarginMs?: number;
  /**
   * Fraction of new manual and harvested cases held out from rewriters (every ⌈1/f⌉-th case),
   * between 0 and 0.9. Examples are never held out: the tool's author already showed them.
   * @default 0.2
   */
  readonly heldOutFraction?: number;
  /**
   * How many cases run at the same time, spread over the sandbox's workers, between 1 and 256.
   * Cases start in their stored order and the report lists them in that order whatever order
   * they finish in; within a case, candidate and baseline runs still alternate one after the
   * other. `1` runs the cases one after another.
   * @default the sandbox's `capacity` (a `QuickJsSandbox`'s `workers`: one call runs per worker
   *   at a time), or 1 for a sandbox that does not report one
   */
  readonly concurrency?: number;
  /**
   * Deadline of each sandbox run, ms (at most 600 000).
   * @default the sandbox's own
   */
  readonly timeoutMs?: number;
  /**
   * Supplies the values of the secrets a tool version names (`capabilities.secrets`) for its
   * runs.
   * @default none (a tool reading a secret fails)
   */
  readonly secrets?: SecretSource;
  /**
   * Narrows a version's capabilities for its runs (the agent holds tools the model created to
   * its current `creation` grant).
   * @default the stored capabilities
   */
  readonly capabilities?: (
    toolName: string,
    capabilities: ToolCapabilities,
  ) => ToolCapabilities | Promise<ToolCapabilities>;
}

/**
 * The tuning of a `RegressionRunner` with every default applied (its `options` field). The
 * collaborators (`storage`, `sandbox`, `secrets`, `capabilities`) are checked but not kept here.
 */
export interface ResolvedRegressionRunnerOptions {
  /** Runs per case and side in the first round. */
  readonly repeats: number;
  /** The most runs per case and side (rounds double the repeats up to it). */
  readonly maxRepeats: number;
  /** Overall error rate per comparative rule and direction. */
  readonly alpha: number;
  /** Relative latency margin of the candidate over the baseline. */
  readonly latencyMargin: number;
  /** Absolute latency slack, ms. */
  readonly latencyMarginMs: number;
  /** Fraction of new manual and harvested cases held out from rewriters. */
  readonly heldOutFraction: number;
  /** Deadline of each sandbox run, ms; `undefined` leaves the sandbox's own. */
  readonly timeoutMs: number | undefined;
  /** How many cases run at the same time. */
  readonly concurrency: number;
}

/**
 * Validates `options` and applies the defaults once, returning a frozen copy (the caller's
 * object is not touched). Throws `InvalidOptionError` naming the field and the received value.
 */
export function resolveRegressionRunnerOptions(
  options: RegressionRunnerOptions,
): ResolvedRegressionRunnerOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError({
      field: 'options',
      expected: 'an object { storage, sandbox }',
      value: options,
    });
  }
  if (typeof options.storage !== 'object' || options.storage === null) {
    throw new InvalidOptionError({
      field: 'storage',
      expected: 'a StorageAdapter, e.g. memoryStorage()',
      value: options.storage,
    });
  }
  if (typeof options.sandbox?.runDetailed !== 'function') {
    throw new InvalidOptionError({
      field: 'sandbox',
      expected: 'a QuickJsSandbox (or an object with runDetailed)',
      value: options.sandbox,
    });
  }
  if (options.secrets !== undefined && typeof options.secrets !== 'function') {
    objectOption('secrets', options.secrets);
  }
  if (options.capabilities !== undefined && typeof options.capabilities !== 'function') {
    throw new InvalidOptionError({
      field: 'capabilities',
      expected: 'a function (toolName, capabilities) => capabilities',
      value: options.capabilities,
    });
  }
  const repeats = integerOption('repeats', options.repeats ?? 3, 1, 100);
  const alpha = options.alpha ?? 0.05;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha <= 0 || alpha > 0.5) {
    throw new InvalidOptionError({
      field: 'alpha',
      expected: 'a number above 0 and at most 0.5',
      value: alpha,
    });
  }
  return Object.freeze({
    repeats,
    maxRepeats: integerOption('maxRepeats', options.maxRepeats ?? Math.max(12, repeats), repeats, 100),
    alpha,
    latencyMargin: numberOption('latencyMargin', options.latencyMargin ?? 0.5, 0),
    latencyMarginMs: numberOption('latencyMarginMs', options.latencyMarginMs ?? LATENCY_FLOOR_MS, 0),
    heldOutFraction: numberOption('heldOutFraction', options.heldOutFraction ?? 0.2, 0, 0.9),
    timeoutMs:
      options.timeoutMs === undefined ? undefined : integerOption('timeoutMs', options.timeoutMs, 1, 600_000),
    concurrency:
      options.concurrency === undefined
        ? defaultConcurrency(options.sandbox)
        : integerOption('concurrency', options.concurrency, 1, maxConcurrency),
  });
}

/**
 * One case in flight per call the sandbox runs at once: a case makes one sandbox call at a
 * time, so this keeps every worker busy without queueing cases behind each other.
 */
function defaultConcurrency(sandbox: RegressionSandbox): number {
  const capacity = sandbox.capacity;
  if (capacity === undefined) return 1;
  return Math.min(integerOption('sandbox.capacity', capacity, 1), maxConcurrency);
}

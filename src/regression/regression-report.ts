/** Why a gate rejected a candidate. Stable strings, the prefix of each entry of `reasons`. */
export type RegressionRejectionCode =
  | 'NO_TEST_CASES'
  | 'CASE_FAILED'
  | 'INVALID_CASE'
  | 'ERROR_RATE_HIGHER'
  | 'SLOWER';

/** The error of a failed sandbox run, as data. */
export interface RunErrorInfo {
  /** Sandbox error code (`TOOL_ERROR`, `TIMEOUT`, …) or `ERROR`. */
  code: string;
  /** The message (untrusted text from the tool). */
  message: string;
}

/** How one case went for the candidate (and the baseline, when there is one). */
export interface RegressionCaseResult {
  /** The stored case's id. */
  id: number;
  /** What the case checks. */
  description: string;
  /** Where the case came from. */
  origin: string;
  /** Whether the case is hidden from rewriters. */
  heldOut: boolean;
  /** True when every repeat of the candidate met the expectation (and the latency budget). */
  passed: boolean;
  /** Why it failed, or null. */
  reason: string | null;
  /** The candidate's median latency over the repeats, ms (execution time in the sandbox). */
  latencyMs: number;
  /** The candidate's first output, or null when every repeat failed. */
  output: unknown;
  /** The candidate's first error, when a repeat failed. */
  error?: RunErrorInfo;
  /** The baseline's first output, when a baseline ran and succeeded. */
  baselineOutput?: unknown;
  /** Whether every repeat of the baseline met the expectation. */
  baselinePassed?: boolean;
  /** The baseline's median latency, ms. */
  baselineLatencyMs?: number;
}

/** Latency and errors of one side (candidate or baseline) over all cases and repeats. */
export interface RegressionSideStats {
  /** The version that ran, or null for an unregistered candidate. */
  version: number | null;
  /** Median latency over every run, ms. */
  medianLatencyMs: number;
  /** Failed runs / runs. */
  errorRate: number;
  /** Number of runs. */
  runs: number;
  /** Number of failed runs (the tool threw, timed out, …). */
  errors: number;
}

/** The result of a regression gate run: whether the candidate may replace the baseline, and why. */
export interface RegressionReport {
  /** The tool. */
  toolName: string;
  /** True when the verdict is `promote`. */
  passed: boolean;
  /** `promote` only when there are cases, every case passes, and the candidate is not worse. */
  verdict: 'promote' | 'reject';
  /** Every rule that rejected the candidate, each prefixed with its {@link RegressionRejectionCode}. */
  reasons: string[];
  /** Per-case results, in case id order. */
  cases: RegressionCaseResult[];
  /** Passed cases / cases (0 when there are none). */
  passRate: number;
  /** The candidate's statistics. */
  candidate: RegressionSideStats;
  /** The baseline's statistics, or null when no baseline ran. */
  baseline: RegressionSideStats | null;
  /** How many times each case ran per side. */
  repeats: number;
  /** When the run started, epoch ms. */
  startedAt: number;
  /** How long the whole run took, ms. */
  durationMs: number;
}

/** Why a gate rejected a candidate. Stable strings, the prefix of each entry of `reasons`. */
export type RegressionRejectionCode =
  | 'NO_TEST_CASES'
  | 'CASE_FAILED'
  | 'INVALID_CASE'
  | 'ERROR_RATE_HIGHER'
  | 'SLOWER'
  | 'INCONCLUSIVE';

/** A comparative rule of the gate: the candidate's latency, or its failed runs, against the baseline's. */
export type GateRule = 'latency' | 'errors';

/**
 * What a comparative rule decided: `worse` (the rule rejects), `not-worse`, or `undecided`
 * (after the last look: the verdict is `inconclusive`).
 */
export type GateDecision = 'worse' | 'not-worse' | 'undecided';

/** What every rule's evidence says: the decision, its p-values, its level and where it was taken. */
export interface GateEvidenceBase {
  /** The rule. */
  rule: GateRule;
  /** What it decided. */
  decision: GateDecision;
  /** Paired runs the test counted (a candidate run and the baseline run of the same case and repeat). */
  pairs: number;
  /**
   * How likely data at least this unfavourable to the candidate would be if it were not worse
   * (exact binomial tail); `worse` when at most `alphaPerLook`.
   */
  pValueWorse: number;
  /**
   * How likely data at least this favourable would be if it were worse; `not-worse` when at most
   * `alphaPerLook`. `null` for a rule that accepts without a test (`errors`).
   */
  pValueNotWorse: number | null;
  /** The overall error rate per rule and direction (the runner's `alpha`). */
  alpha: number;
  /** The level of each look: `alpha / looks` (Bonferroni over the looks the schedule allows). */
  alphaPerLook: number;
  /** The look (1-based) of this decision: the last one, where the gate stopped. */
  look: number;
  /** Looks the schedule allows (`repeats`, doubling, up to `maxRepeats`). */
  looks: number;
  /** Repeats per case behind this decision. */
  repeats: number;
  /** The decision and its numbers in words, for people, events and the audit log. */
  summary: string;
}

/**
 * The latency rule's evidence: a sign test on the paired runs where both sides answered,
 * counting the pairs where the candidate took longer than `baseline·(1+latencyMargin)+latencyMarginMs`.
 */
export interface GateLatencyEvidence extends GateEvidenceBase {
  rule: 'latency';
  /** Pairs where the candidate exceeded the allowed latency. */
  exceeding: number;
  /** Pairs left out because a side failed (a failed run's latency is no clock). */
  notCompared: number;
  /** True when the rule was not applied: the candidate failed fewer paired runs than the baseline. */
  waived: boolean;
}

/** The error rule's evidence: McNemar's exact test on the discordant pairs. */
export interface GateErrorEvidence extends GateEvidenceBase {
  rule: 'errors';
  /** Pairs where only the candidate failed. */
  candidateOnly: number;
  /** Pairs where only the baseline failed. */
  baselineOnly: number;
  /** Pairs where both failed. */
  bothFailed: number;
}

/** One comparative rule's evidence in a {@link RegressionReport}. */
export type GateEvidence = GateLatencyEvidence | GateErrorEvidence;

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
  /**
   * `promote` only when there are cases, every case passes in every repeat, and the candidate is
   * shown not worse by every comparative rule; `reject` when a case failed or a rule shows it
   * worse; `inconclusive` when every case passed but a rule stayed undecided after `maxRepeats`
   * (keep the current version).
   */
  verdict: 'promote' | 'reject' | 'inconclusive';
  /**
   * Every rule that rejected the candidate or stayed undecided, each prefixed with its
   * {@link RegressionRejectionCode}.
   */
  reasons: string[];
  /**
   * The comparative rules' evidence (latency, then errors), each with its numbers and a
   * `summary` in words; empty without a baseline or without cases.
   */
  evidence: GateEvidence[];
  /** Per-case results, in case id order. */
  cases: RegressionCaseResult[];
  /** Passed cases / cases (0 when there are none). */
  passRate: number;
  /** The candidate's statistics. */
  candidate: RegressionSideStats;
  /** The baseline's statistics, or null when no baseline ran. */
  baseline: RegressionSideStats | null;
  /** How many times each case ran per side: `repeats`, more when a rule needed more looks. */
  repeats: number;
  /** When the run started, epoch ms. */
  startedAt: number;
  /** How long the whole run took, ms. */
  durationMs: number;
}

/**
 * The audit log's vocabulary: the entry types the library writes, the evidence each carries, and
 * the one reader of that evidence that the HTML report and `sia history` share.
 *
 * Evidence is JSON written by whichever version of the library (or a user) made the change, so
 * the readers take it field by field and never trust its shape: a missing or malformed field
 * reads as `null` (or `''`, `[]`), never as an exception.
 */
import type { AuditEntry, JsonValue } from './records.ts';

/** The audit entry types the registry writes. Stable strings. */
export const REGISTRY_AUDIT_TYPES = Object.freeze({
  created: 'tool:created',
  candidateAdded: 'tool:candidate-added',
  promoted: 'tool:promoted',
  rolledBack: 'tool:rolled-back',
  pinned: 'tool:pinned',
  unpinned: 'tool:unpinned',
  improvementsReset: 'tool:improvements-reset',
  disabled: 'tool:disabled',
  enabled: 'tool:enabled',
  deployed: 'tool:deployed',
} as const);

/**
 * Audit entry type written when a version starts needing a rewrite (`tool:degraded` event); its
 * evidence is the evaluation (reasons, evidence, statistics).
 */
export const DEGRADED_AUDIT_TYPE = 'tool:degraded';

/** Audit entry type written at the end of every improvement (its tokens feed the daily budget). */
export const IMPROVEMENT_AUDIT_TYPE = 'improvement:finished';

/**
 * The evidence of an `improvement:finished` entry, as the improvement loop writes it: how one
 * improvement of a tool version ended.
 */
export interface ImprovementEvidence {
  /**
   * `promoted`; `failed`; or `inconclusive`: no candidate was promoted and at least one passed
   * every case but the gate could not decide, within `maxRepeats`, that it is not worse
   * (`INCONCLUSIVE`), so the current version was kept.
   */
  outcome: 'promoted' | 'failed' | 'inconclusive';
  /** Rewrite attempts made. */
  attempts: number;
  /** Model tokens spent (counted against `improvement.maxTokensPerDay`). */
  tokens: number;
  /** A promotion: the version promoted. */
  toVersion?: number;
  /** A promotion: calls of the old version between the first failing evaluation and the promotion. */
  calls?: number;
  /** A promotion: ms between the first failing evaluation and the promotion. */
  ms?: number;
  /** A failure: why each attempt was turned down, e.g. `attempt 1 (gate): CASE_FAILED: …`. */
  reasons?: string[];
  /** A failure: one stable code per reason. */
  codes?: string[];
}

/** The regression gate's verdict on a promoted candidate, from the audit evidence. */
export interface GateSummary {
  /** `promote`, `reject` or `inconclusive` (a promotion normally carries `promote`). */
  verdict: string;
  /** Cases run. */
  cases: number;
  /** Cases the candidate passed. */
  passedCases: number;
  /** Rules that rejected it, if any. */
  reasons: string[];
  /**
   * The comparative rules' evidence in words (latency, errors: counts, p-values, level and
   * repeats), as the gate's report summarised it; empty when not recorded.
   */
  evidence: string[];
  /** The candidate's median latency over the gate's runs, ms; `null` when not recorded. */
  candidateMedianMs: number | null;
  /** The replaced version's median latency in the same runs, ms; `null` without a baseline. */
  baselineMedianMs: number | null;
  /** The candidate's failed runs / runs; `null` when not recorded. */
  candidateErrorRate: number | null;
  /** The baseline's failed runs / runs; `null` without a baseline. */
  baselineErrorRate: number | null;
}

/** What the shadow phase measured before a promotion, from the audit evidence. */
export interface ShadowSummary {
  /** Live inputs the candidate ran on, beside the active version. */
  calls: number;
  /** The candidate's failures among them. */
  candidateFailures: number;
  /** The active version's failures on the same inputs. */
  activeFailures: number;
  /** Median latencies, ms. */
  candidateMedianMs: number;
  activeMedianMs: number;
}

/** A change of a tool's active version (a promotion or a rollback), read from its audit entry. */
export interface AuditedVersionChange {
  /**
   * The action recorded: `promoted` (`ToolRegistry.promote`, the agent's promotions) or
   * `rolled-back` (`ToolRegistry.rollback`: the agent's automatic rollbacks and `sia rollback`,
   * which may also move to a newer version). See `direction` for which way it went.
   */
  kind: 'promoted' | 'rolled-back';
  /**
   * Which way the active version moved: `forward` to a higher version number, `backward` to a
   * lower one, whatever the action was called.
   */
  direction: 'forward' | 'backward';
  /** When, epoch ms. */
  at: number;
  /** The version that was active before. */
  fromVersion: number;
  /** The version active after. */
  toVersion: number;
  /** Who made the change (`agent` instance id, `cli`, `human:alice`, …). */
  actor: string;
  /** Why, as recorded. */
  reason: string;
  /** Unified diff from `fromVersion` to `toVersion`, as kept in the audit evidence; `''` when absent. */
  diff: string;
  /** The evaluation that triggered the change: its score and reason messages; `null` when absent. */
  evaluation: { score: number; reasons: string[] } | null;
  /** The regression gate's summary (promotions by the agent); `null` when absent. */
  gate: GateSummary | null;
  /** The shadow comparison (promotions after a shadow phase); `null` when absent. */
  shadow: ShadowSummary | null;
}

/** One finished improvement of the agent (`improvement:finished` in the audit log). */
export interface ImprovementOutcome {
  /** When it finished, epoch ms. */
  at: number;
  /** `promoted`, `failed`, or another outcome string as recorded. */
  outcome: string;
  /** The version that was being improved. */
  fromVersion: number | null;
  /** The version promoted, when it was. */
  toVersion: number | null;
  /** Rewrite attempts made. */
  attempts: number | null;
  /** Model tokens spent. */
  tokens: number | null;
  /** Why the attempts were turned down (failures). */
  reasons: string[];
}

/**
 * The {@link AuditedVersionChange} an audit entry records (a promotion or rollback that moved the
 * active version), read defensively from its evidence; `undefined` for every other entry.
 */
export function readVersionChange(entry: AuditEntry): AuditedVersionChange | undefined {
  const kind =
    entry.type === REGISTRY_AUDIT_TYPES.promoted
      ? 'promoted'
      : entry.type === REGISTRY_AUDIT_TYPES.rolledBack
        ? 'rolled-back'
        : undefined;
  if (
    kind === undefined ||
    entry.fromVersion === undefined ||
    entry.toVersion === undefined ||
    entry.fromVersion === entry.toVersion
  )
    return undefined;
  const evidence = asObject(entry.evidence);
  return {
    kind,
    direction: entry.toVersion > entry.fromVersion ? 'forward' : 'backward',
    at: entry.at,
    fromVersion: entry.fromVersion,
    toVersion: entry.toVersion,
    actor: entry.actor,
    reason: entry.reason,
    diff: asString(evidence?.diff) ?? '',
    evaluation: evaluationSummary(evidence?.evaluation),
    gate: gateSummary(evidence?.regression),
    shadow: shadowSummary(evidence?.shadow),
  };
}

/** The {@link ImprovementOutcome} of an `improvement:finished` entry; `undefined` for other entries. */
export function readImprovementOutcome(entry: AuditEntry): ImprovementOutcome | undefined {
  if (entry.type !== IMPROVEMENT_AUDIT_TYPE) return undefined;
  const evidence = asObject(entry.evidence);
  return {
    at: entry.at,
    outcome: asString(evidence?.outcome) ?? entry.reason,
    fromVersion: entry.fromVersion ?? null,
    toVersion: entry.toVersion ?? null,
    attempts: asNumber(evidence?.attempts),
    tokens: asNumber(evidence?.tokens),
    reasons: asStrings(evidence?.reasons),
  };
}

/**
 * How many calls the evaluation behind a promotion or rollback scored (its summary's
 * `invocations`), when the evidence records the whole evaluation (agents do); else `null`.
 */
export function readEvaluationCalls(entry: AuditEntry): number | null {
  const summary = asObject(asObject(asObject(entry.evidence)?.evaluation)?.summary);
  const calls = asNumber(summary?.invocations);
  return calls !== null && Number.isSafeInteger(calls) && calls >= 0 ? calls : null;
}

/** The tokens an `improvement:finished` entry spent (0 for any other entry or unreadable evidence). */
export function improvementTokens(entry: AuditEntry): number {
  return readImprovementOutcome(entry)?.tokens ?? 0;
}

function evaluationSummary(value: JsonValue | undefined): AuditedVersionChange['evaluation'] {
  const evaluation = asObject(value);
  const score = asNumber(evaluation?.score);
  if (evaluation === undefined || score === null) return null;
  const reasons = Array.isArray(evaluation.reasons) ? evaluation.reasons : [];
  return {
    score,
    reasons: reasons.flatMap((reason) => asString(asObject(reason)?.message) ?? asString(reason) ?? []),
  };
}

function gateSummary(value: JsonValue | undefined): GateSummary | null {
  const report = asObject(value);
  if (report === undefined) return null;
  const cases = Array.isArray(report.cases) ? report.cases : [];
  const candidate = asObject(report.candidate);
  const baseline = asObject(report.baseline);
  return {
    verdict: asString(report.verdict) ?? (report.passed === true ? 'promote' : 'reject'),
    cases: cases.length,
    passedCases: cases.filter((item) => asObject(item)?.passed === true).length,
    reasons: asStrings(report.reasons),
    evidence: Array.isArray(report.evidence)
      ? report.evidence.flatMap((item) => asString(asObject(item)?.summary) ?? [])
      : [],
    candidateMedianMs: asNumber(candidate?.medianLatencyMs),
    baselineMedianMs: asNumber(baseline?.medianLatencyMs),
    candidateErrorRate: asNumber(candidate?.errorRate),
    baselineErrorRate: asNumber(baseline?.errorRate),
  };
}

function shadowSummary(value: JsonValue | undefined): ShadowSummary | null {
  const shadow = asObject(value);
  const calls = asNumber(shadow?.calls);
  if (shadow === undefined || calls === null) return null;
  return {
    calls,
    candidateFailures: asNumber(shadow.candidateFailures) ?? 0,
    activeFailures: asNumber(shadow.activeFailures) ?? 0,
    candidateMedianMs: asNumber(shadow.candidateMedianMs) ?? 0,
    activeMedianMs: asNumber(shadow.activeMedianMs) ?? 0,
  };
}

function asObject(value: JsonValue | undefined): { [key: string]: JsonValue } | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
}

function asString(value: JsonValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function asNumber(value: JsonValue | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function asStrings(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

import type { DecisionEvidence, Evaluation } from '../evaluation/evaluation.ts';
import type { RegressionReport } from '../regression/regression-report.ts';
import type { ShadowResult } from '../regression/shadow-gate.ts';
import type { ToolKind, VersionAuthor } from '../storage/records.ts';

/** A version was scored. */
export interface ToolEvaluatedEvent {
  toolName: string;
  version: number;
  evaluation: Evaluation;
}

/**
 * A version's evaluation asked for a rewrite (it fails too often, degraded or got too slow): a
 * signal to alert on, for managed and host tools alike. Raised once when a version starts
 * needing a rewrite, and again only after an evaluation found it healthy in between (so one
 * episode is one event). A sandboxed tool then goes on to the improvement loop; a host tool
 * (the app's own function) is never rewritten: fixing it is the app's job. Also written to the
 * audit log (`tool:degraded`).
 */
export interface ToolDegradedEvent {
  toolName: string;
  /** The version that degraded (the active one). */
  version: number;
  /** How the tool runs: `host` tools are only measured. */
  kind: ToolKind;
  /** The version's label (the app's release name), for host tools that have one. */
  label?: string;
  /** The evaluation that asked for the rewrite: its `reasons` and `evidence` say why. */
  evaluation: Evaluation;
}

/** Work to improve a version began. */
export interface ImprovementStartedEvent {
  toolName: string;
  /** The version being improved (the active one). */
  version: number;
  evaluation: Evaluation;
  /** The rewriter's name. */
  rewriter: string;
  /**
   * How many improvements this tool has had, this one included (persistent). Only improvements
   * that produce a candidate are counted, so the number is final once one does.
   */
  rewrites: number;
}

/** Where in the pipeline an attempt was rejected. */
export type AttemptStage =
  | 'rewrite'
  | 'validate'
  | 'capabilities'
  | 'gate'
  | 'shadow'
  | 'approval'
  | 'promotion';

/** One attempt of an improvement was rejected; the reasons go into the next attempt. */
export interface ImprovementAttemptFailedEvent {
  toolName: string;
  version: number;
  /** 1-based attempt number. */
  attempt: number;
  stage: AttemptStage;
  /** Why, one entry per finding; each starts with its code. */
  reasons: string[];
  /**
   * One stable code per entry of `reasons`: `REWRITE_EMPTY`, `REWRITE_NO_CODE`,
   * `REWRITE_REFUSED`, `REWRITE_UNCHANGED`, `REWRITE_NOT_APPLICABLE`, `REWRITE_DECLINED`
   * (stage `rewrite`); a validator issue code (`validate`); a gate code such as `CASE_FAILED`
   * (`gate`), `INCONCLUSIVE` (`gate`: the candidate passed every case but could not be shown
   * not worse); `SHADOW_WORSE`; `APPROVAL_DECLINED`; `PROMOTION_CONFLICT`.
   */
  codes: string[];
  /** Who wrote the rejected proposal, when there was one. */
  author?: VersionAuthor;
}

/** The regression gate ran on a proposal. */
export interface RegressionCompletedEvent {
  toolName: string;
  /** The baseline version. */
  version: number;
  attempt: number;
  report: RegressionReport;
}

/** How long the loop took from the first failing evaluation to the promotion. */
export interface ImprovementLoopEvidence {
  /** Calls of the tool recorded by this agent between the first failing evaluation and the promotion. */
  calls: number;
  /** Milliseconds from the first failing evaluation to the promotion. */
  ms: number;
  /** Attempts used by the successful improvement. */
  attempts: number;
  /** LLM tokens spent by the successful improvement. */
  tokens: number;
}

/** A candidate became the active version. */
export interface ToolPromotedEvent {
  toolName: string;
  fromVersion: number;
  toVersion: number;
  /** The evaluation that triggered the improvement. */
  evaluation: Evaluation;
  /** The gate's report for the promoted source. */
  regression: RegressionReport;
  /** Who wrote the new version. */
  author: VersionAuthor;
  /** Why the rewriter thinks it is better. */
  rationale: string;
  /** Shadow comparison, when `shadowCalls` > 0. */
  shadow?: ShadowResult;
  loop: ImprovementLoopEvidence;
}

/** Every attempt was rejected (or nothing could be proposed); the current version stays. */
export interface ImprovementFailedEvent {
  toolName: string;
  version: number;
  /**
   * `inconclusive` when no attempt was rejected by an error and at least one candidate passed
   * every case but the gate could not decide it is not worse (a reason with code
   * `INCONCLUSIVE` says which rule and its numbers); `failed` otherwise.
   */
  outcome: 'failed' | 'inconclusive';
  /** Attempts made. */
  attempts: number;
  /** Why, newest last. */
  reasons: string[];
  /**
   * The codes of `reasons`, newest last: those of the rejected attempts, `LEASE_LOST`, and for
   * an error its code (`MODEL_TIMEOUT`, `MODEL_CALL_FAILED`, `REWRITERS_FAILED`, `ABORTED`, …).
   */
  codes: string[];
  /** The error, when the improvement failed on an error (model call, storage) rather than on rejections. */
  error?: unknown;
}

/** A promoted version did worse than the one it replaced and was rolled back. */
export interface ToolRolledBackEvent {
  toolName: string;
  fromVersion: number;
  toVersion: number;
  /** The promoted version's evaluation over its watch window. */
  evaluation: Evaluation;
  /** The score of the version it replaced, when it was promoted. */
  previousScore: number;
  /** The watch's test: its statistic, bound, sample and finding in words. */
  evidence: DecisionEvidence;
}

/** A promoted version's watch ended without showing it worse: it stays active. */
export interface ToolKeptEvent {
  toolName: string;
  /** The promoted version, kept. */
  version: number;
  /** The version it replaced. */
  previousVersion: number;
  /** The watch's test: its statistic, bound, sample and finding in words. */
  evidence: DecisionEvidence;
}

/** Why an improvement did not start. */
export type SkipReason =
  | 'pinned'
  | 'cap'
  | 'cooldown'
  | 'budget'
  | 'busy'
  | 'leased'
  | 'watching'
  | 'not-active'
  | 'watch-failed';

/** An evaluation asked for a rewrite, but a guard said no. */
export interface ImprovementSkippedEvent {
  toolName: string;
  version: number;
  reason: SkipReason;
  /** The guard's numbers, in words. */
  detail: string;
}

/** The events of the improvement loop ({@link ToolImprover}); each listener gets one payload object. */
export interface ImprovementEvents {
  'tool:evaluated': (event: ToolEvaluatedEvent) => void;
  'tool:degraded': (event: ToolDegradedEvent) => void;
  'improvement:started': (event: ImprovementStartedEvent) => void;
  'improvement:attempt-failed': (event: ImprovementAttemptFailedEvent) => void;
  'regression:completed': (event: RegressionCompletedEvent) => void;
  'tool:promoted': (event: ToolPromotedEvent) => void;
  'improvement:failed': (event: ImprovementFailedEvent) => void;
  'tool:rolled-back': (event: ToolRolledBackEvent) => void;
  'tool:kept': (event: ToolKeptEvent) => void;
  'improvement:skipped': (event: ImprovementSkippedEvent) => void;
}

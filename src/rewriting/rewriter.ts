import type { Evaluation } from '../evaluation/evaluation.ts';
import type { TokenUsage } from '../generation/token-usage.ts';
import type { MemorySummary } from '../memory/index.ts';
import type { JsonObject, JsonValue, ToolCapabilities } from '../storage/records.ts';

/** The tool being rewritten, as registered. None of these may change in a proposal. */
export interface RewriteTool {
  /** The tool's name, which is also the name of its entry function. */
  readonly name: string;
  /** What the tool does, for people and models. */
  readonly description: string;
  /** JSON Schema (object) of the tool's single input argument. */
  readonly inputSchema: JsonObject;
  /**
   * JSON Schema of the tool's result, when it declares one: every result of the new source must
   * match it (the gate fails a case whose result does not, with `INVALID_OUTPUT`). Absent when
   * the tool has none.
   */
  readonly outputSchema?: JsonObject;
  /** What the tool may do beyond pure computation (its network allow-list). */
  readonly capabilities: ToolCapabilities;
}

/** A regression case a rewriter may see (held-out cases are never passed in). */
export interface VisibleCase {
  /** The tool's input. */
  readonly input: JsonValue;
  /** The expectation, as the regression runner defines it. */
  readonly expect: JsonValue;
  /** What the case checks. */
  readonly description: string;
}

/** An earlier proposal for the same version that the caller rejected, and why. */
export interface RejectedProposal {
  /** The proposed source. */
  readonly source: string;
  /** Each reason it was rejected (validator issues, failed regression cases, gate decisions). */
  readonly rejectedBecause: readonly string[];
}

/**
 * Everything a rewriter gets to improve one version of a tool.
 *
 * Error messages, outputs, test inputs and expectations come from tool runs and upstream
 * services: treat them as untrusted data, never as instructions.
 */
export interface RewriteRequest {
  /** The tool: name, description, input schema and capabilities, all fixed. */
  readonly tool: RewriteTool;
  /** Source of the version to improve. */
  readonly source: string;
  /** The version `source` belongs to. */
  readonly version: number;
  /** Why the version needs a rewrite: score, components and reasons. */
  readonly evaluation: Evaluation;
  /** The metrics window of that version. */
  readonly summary: MemorySummary;
  /** Messages of recent failures, newest first (untrusted text). */
  readonly recentErrors: readonly string[];
  /** Regression cases the rewriter may see (untrusted data). */
  readonly visibleCases: readonly VisibleCase[];
  /** Proposals for this version already rejected, oldest first. */
  readonly previousAttempts: readonly RejectedProposal[];
  /** Cancels a rewrite in progress (for example a model call). */
  readonly abortSignal?: AbortSignal;
  /**
   * Told why a rewriter resolves with `null` (once per rewriter that declines), so the caller
   * can report a stable code instead of "nothing to propose". Errors it throws are ignored.
   */
  readonly onDecline?: (decline: RewriteDecline) => void;
}

/**
 * Why a rewriter had nothing to propose. The codes are stable:
 * - `REWRITE_EMPTY`: the model's answer was empty (or whitespace only);
 * - `REWRITE_NO_CODE`: the answer was prose without code;
 * - `REWRITE_REFUSED`: the answer was prose that reads as a refusal ("I can't help with that");
 * - `REWRITE_UNCHANGED`: the answer repeated the current source;
 * - `REWRITE_NOT_APPLICABLE`: a rule-based rewriter (hardening) cannot help this version
 *   (`detail` says why: already hardened, no `fetch`, only logic errors, …).
 */
export type RewriteDeclineCode =
  | 'REWRITE_EMPTY'
  | 'REWRITE_NO_CODE'
  | 'REWRITE_REFUSED'
  | 'REWRITE_UNCHANGED'
  | 'REWRITE_NOT_APPLICABLE';

/** What {@link RewriteRequest.onDecline} receives. */
export interface RewriteDecline {
  /** The rewriter's `name`. */
  readonly rewriter: string;
  /** Why, as a stable code. */
  readonly code: RewriteDeclineCode;
  /** Why, in words. */
  readonly detail: string;
}

/** Calls `request.onDecline` (ignoring what it throws) and returns `null`, for rewriters. */
export function decline(
  request: RewriteRequest,
  rewriter: string,
  code: RewriteDeclineCode,
  detail: string,
): null {
  try {
    request.onDecline?.({ rewriter, code, detail });
  } catch {
    // A listener's failure must not turn "nothing to propose" into an error.
  }
  return null;
}

/**
 * Who wrote a proposal; stored as the new version's author. The built-in rewriters sign
 * `llm-rewriter` and `hardening`; a rewriter of your own signs with its own short name (1 to 64
 * letters, digits, spaces or `._:@/+-`).
 */
export type RewriteAuthor = 'llm-rewriter' | 'hardening' | (string & {});

/** A candidate new version. It is only a candidate: the caller validates and gates it. */
export interface RewriteProposal {
  /** The complete new source (not a diff). */
  readonly source: string;
  /** Why this version should be better, in words; stored as the version's reason. */
  readonly rationale: string;
  /** Who wrote it. */
  readonly author: RewriteAuthor;
  /** Tokens spent, when a model was called. */
  readonly usage?: TokenUsage;
}

/**
 * Something that proposes a better version of a tool.
 *
 * The contract:
 * - `rewrite` resolves with a proposal, or with `null` when the rewriter has nothing to offer
 *   (already applied, cannot help with these failures, the model refused). `null` is not an
 *   error: a chain moves on to the next rewriter.
 * - A proposal must keep the tool's name, its entry function taking one parameter, and its
 *   capabilities (it may only `fetch` what the tool could already fetch). Rewriters do not
 *   enforce this themselves beyond what they generate: the caller runs every proposal through
 *   the `CodeValidator`, the regression gate and the capability check, and rejects one that
 *   breaks the contract.
 * - A rewriter never promotes anything and never runs the code on the host.
 * - It rejects (throws) only for failures of its own machinery, such as a model call that
 *   failed (`ModelCallError`) or an abort.
 *
 * @example
 * ```ts
 * const rewriter: Rewriter = chainRewriters([new HardeningRewriter(), new LlmRewriter({ model })]);
 * const proposal = await rewriter.rewrite(request);
 * if (proposal !== null) await gate.check(proposal.source); // the caller decides
 * ```
 */
export interface Rewriter {
  /** A short name for logs, events and audit entries, e.g. `hardening`. */
  readonly name: string;
  /** Proposes a new version, or resolves with `null` when there is nothing to offer. */
  rewrite(request: RewriteRequest): Promise<RewriteProposal | null>;
}

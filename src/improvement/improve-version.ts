import { errorInfo } from '../core/error-info.ts';
import type { Evaluation } from '../evaluation/evaluation.ts';
import { CodeValidator, formatIssue } from '../generation/code-validator.ts';
import { withDeadline } from '../generation/model-deadline.ts';
import type { GenerationValidator } from '../generation/tool-generator.ts';
import type { RegressionReport } from '../regression/regression-report.ts';
import type { HarvestSource, RegressionRunner } from '../regression/regression-runner.ts';
import type {
  RejectedProposal,
  RewriteDecline,
  RewriteProposal,
  RewriteRequest,
  Rewriter,
} from '../rewriting/rewriter.ts';
import type { ToolRecord, ToolVersion } from '../storage/records.ts';
import { AgentTracing } from '../telemetry/agent-tracing.ts';
import { SIA_SPAN_ATTRIBUTES as A, SIA_SPAN_NAMES } from '../telemetry/span-attributes.ts';
import type { AttemptStage } from './improvement-events.ts';

/** The gate `improveVersion` runs candidates through: {@link RegressionRunner} fits. */
export type ImprovementGate = Pick<RegressionRunner, 'run' | 'visibleCases'> &
  Partial<Pick<RegressionRunner, 'harvest'>>;

/** Where `improveVersion` reads the tool and the version to improve: `ToolRegistry` fits. */
export interface ImprovementToolSource {
  /** The tool's record. Throws when there is none. */
  tool(name: string): Promise<ToolRecord>;
  /** One version of the tool. Throws when there is none. */
  version(name: string, version: number): Promise<ToolVersion>;
}

/** A proposal that passed validation and the regression gate. */
export interface ImprovementCandidate {
  /** The rewriter's proposal (author, rationale, tokens). */
  readonly proposal: RewriteProposal;
  /** The validated source (what the gate ran, and what to store). */
  readonly source: string;
  /** The gate's report, verdict `promote`. */
  readonly report: RegressionReport;
  /** The 1-based attempt that produced it. */
  readonly attempt: number;
}

/** One rejected attempt, as `onAttemptFailed` and the result's `reasons` see it. */
export interface AttemptRejection {
  /** 1-based attempt number. */
  readonly attempt: number;
  /** Where it was turned down. */
  readonly stage: AttemptStage;
  /** Why, one entry per finding, each starting with its code. */
  readonly reasons: string[];
  /** One stable code per reason. */
  readonly codes: string[];
  /** The rejected proposal, when there was one. */
  readonly proposal?: RewriteProposal;
}

/** Options of {@link improveVersion}. */
export interface ImproveVersionOptions {
  /** The tool. */
  readonly toolName: string;
  /** The version to improve (normally the active one); the gate's baseline. */
  readonly version: number;
  /** Why it needs improving: the rewriter sees the evaluation, its summary and recent errors. */
  readonly evaluation: Evaluation;
  /** Proposes new sources. */
  readonly rewriter: Rewriter;
  /** Runs each validated proposal against the version's cases (and the version itself). */
  readonly gate: ImprovementGate;
  /** Reads the tool and the version. */
  readonly tools: ImprovementToolSource;
  /** Checks each proposal before the gate. @default new CodeValidator() */
  readonly validator?: GenerationValidator;
  /** Proposals tried before giving up. @default 3 */
  readonly attempts?: number;
  /**
   * Before the first attempt, turn up to `max` recent successful calls of `version` (with
   * captured inputs and outputs) into regression cases. Needs a gate with `harvest`.
   */
  readonly harvest?: { readonly from: HarvestSource; readonly max: number };
  /** Ends the work at once with `AbortedError` (code `ABORTED`), also during a model call or the gate. */
  readonly abortSignal?: AbortSignal;
  /**
   * Called before every attempt after the first; return a rejection to stop (for example
   * `LEASE_LOST` when another process took the tool over).
   */
  readonly beforeAttempt?: (
    attempt: number,
  ) => Promise<{ reason: string; code: string } | undefined> | { reason: string; code: string } | undefined;
  /** Called once, when the first proposal arrives (before it is validated): a candidate exists. */
  readonly onProposal?: (proposal: RewriteProposal) => Promise<void> | void;
  /** Called with each rejected attempt. */
  readonly onAttemptFailed?: (rejection: AttemptRejection) => void;
  /** Called with each gate report. */
  readonly onGateCompleted?: (attempt: number, report: RegressionReport) => void;
  /**
   * Traces each attempt's stages as spans under the active one: `sia.rewrite`, `sia.validate`
   * and `sia.gate` (names, codes and numbers only; see `SIA_SPAN_NAMES`).
   * @default new AgentTracing() (the global tracer; a no-op without an OpenTelemetry SDK)
   */
  readonly tracing?: AgentTracing;
}

/** The outcome of {@link improveVersion}. */
export type ImproveVersionResult =
  | {
      readonly ok: true;
      /** The first proposal that passed validation and the gate. */
      readonly candidate: ImprovementCandidate;
      /** Attempts made. */
      readonly attempts: number;
      /** Model tokens spent by every attempt. */
      readonly tokens: number;
      /** Why the earlier attempts were turned down, each prefixed `attempt N (stage): `. */
      readonly reasons: string[];
      /** One code per reason. */
      readonly codes: string[];
    }
  | {
      readonly ok: false;
      /** Attempts made. */
      readonly attempts: number;
      /** Model tokens spent. */
      readonly tokens: number;
      /** Why every attempt was turned down (or the error, as `error: CODE: message`). */
      readonly reasons: string[];
      /** One code per reason. */
      readonly codes: string[];
      /** Whether any rewriter proposed something (a declined improvement costs nothing). */
      readonly proposed: boolean;
      /**
       * Whether a gate said `inconclusive` for at least one attempt: a candidate passed every
       * case but could not be shown not worse within `maxRepeats` (code `INCONCLUSIVE`).
       */
      readonly inconclusive: boolean;
      /** The error that ended the work, if one did (a model timeout, `ABORTED`, a storage failure). */
      readonly error?: unknown;
    };

/**
 * One improvement of a tool version, without an agent: ask the rewriter for a better source,
 * validate it, and run it through the regression gate against the version, for up to `attempts`
 * proposals; each rejected proposal and its reasons go into the next request. Returns the first
 * candidate that passes, or why none did. Nothing is stored except harvested cases: promote the
 * candidate yourself (`registry.addCandidate` + `registry.promote`), for example in a CI job.
 * @example
 * const evaluation = await new Evaluator().evaluate(memory, 'convert_currency');
 * const result = await improveVersion({
 *   toolName: 'convert_currency', version: evaluation.version, evaluation,
 *   rewriter: new HardeningRewriter(), gate: runner, tools: registry,
 * });
 * const source = result.ok ? result.candidate.source : undefined; // or result.reasons: why not
 */
export async function improveVersion(options: ImproveVersionOptions): Promise<ImproveVersionResult> {
  const { toolName, version, evaluation, rewriter, gate, tools, abortSignal } = options;
  const validator = options.validator ?? new CodeValidator();
  const tracing = options.tracing ?? new AgentTracing();
  const maxAttempts = options.attempts ?? 3;
  const reasons: string[] = [];
  const codes: string[] = [];
  const previousAttempts: RejectedProposal[] = [];
  let tokens = 0;
  let attempts = 0;
  let proposed = false;
  let inconclusive = false;
  const reject = (rejection: AttemptRejection) => {
    reasons.push(
      ...rejection.reasons.map((reason) => `attempt ${rejection.attempt} (${rejection.stage}): ${reason}`),
    );
    codes.push(...rejection.codes);
    if (rejection.proposal) {
      previousAttempts.push({ source: rejection.proposal.source, rejectedBecause: rejection.reasons });
    }
    options.onAttemptFailed?.(rejection);
  };
  try {
    if (options.harvest && options.harvest.max > 0 && gate.harvest) {
      await gate.harvest(toolName, { from: options.harvest.from, max: options.harvest.max, version });
    }
    const [active, record, visible] = await Promise.all([
      tools.version(toolName, version),
      tools.tool(toolName),
      gate.visibleCases(toolName),
    ]);
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      attempts = attempt;
      if (attempt > 1 && options.beforeAttempt) {
        const stop = await options.beforeAttempt(attempt);
        if (stop) {
          reasons.push(`attempt ${attempt}: ${stop.reason}`);
          codes.push(stop.code);
          break;
        }
      }
      const declines: RewriteDecline[] = [];
      const request: RewriteRequest = {
        tool: {
          name: toolName,
          description: record.description,
          inputSchema: active.inputSchema,
          ...(active.outputSchema === undefined ? {} : { outputSchema: active.outputSchema }),
          capabilities: active.capabilities,
        },
        source: active.source,
        version,
        evaluation,
        summary: evaluation.summary,
        recentErrors: evaluation.summary.recentErrors,
        visibleCases: visible.map((testCase) => ({
          input: testCase.input,
          expect: testCase.expect,
          description: testCase.description,
        })),
        previousAttempts: [...previousAttempts],
        ...(abortSignal === undefined ? {} : { abortSignal }),
        onDecline: (decline) => declines.push(decline),
      };
      const proposal = await tracing.span(
        SIA_SPAN_NAMES.rewrite,
        toolName,
        { [A.toolVersion]: version, [A.attempt]: attempt, [A.rewriterName]: rewriter.name },
        async (span) => {
          const proposal = await withDeadline(() => rewriter.rewrite(request), {
            abortSignal,
            operation: 'the rewrite',
          });
          span.set({
            [A.rewriteOutcome]: proposal ? 'proposed' : 'declined',
            [A.tokens]: proposal?.usage?.totalTokens ?? 0,
            ...(proposal ? {} : { [A.improveReasons]: declines.map((decline) => decline.code) }),
          });
          return proposal;
        },
      );
      tokens += proposal?.usage?.totalTokens ?? 0;
      if (!proposal) {
        reject({
          attempt,
          stage: 'rewrite',
          reasons:
            declines.length > 0
              ? declines.map((decline) => `${decline.code}: ${decline.rewriter}: ${decline.detail}`)
              : [`REWRITE_DECLINED: the rewriter "${rewriter.name}" had nothing to propose`],
          codes: declines.length > 0 ? declines.map((decline) => decline.code) : ['REWRITE_DECLINED'],
        });
        break;
      }
      if (!proposed) {
        proposed = true;
        await options.onProposal?.(proposal);
      }
      const validation = tracing.spanSync(
        SIA_SPAN_NAMES.validate,
        toolName,
        { [A.attempt]: attempt },
        (span) => {
          const validation = validator.validate(proposal.source, { name: toolName });
          span.set({
            [A.validationIssues]: validation.ok ? 0 : validation.issues.length,
            ...(validation.ok ? {} : { [A.improveReasons]: validation.issues.map((issue) => issue.code) }),
          });
          return validation;
        },
      );
      if (!validation.ok) {
        reject({
          attempt,
          stage: 'validate',
          reasons: validation.issues.map((issue) => formatIssue(issue)),
          codes: validation.issues.map((issue) => issue.code),
          proposal,
        });
        continue;
      }
      const report = await tracing.span(
        SIA_SPAN_NAMES.gate,
        toolName,
        { [A.toolVersion]: version, [A.attempt]: attempt },
        async (span) => {
          const report = await gate.run(toolName, validation.source, {
            baselineVersion: version,
            ...(abortSignal === undefined ? {} : { signal: abortSignal }),
          });
          span.set({
            [A.gateVerdict]: report.verdict,
            [A.gateCases]: report.cases.length,
            [A.gateRepeats]: report.repeats,
            [A.improveReasons]: report.reasons.map(reasonCode),
          });
          return report;
        },
      );
      options.onGateCompleted?.(attempt, report);
      // Inconclusive is turned down like a rejection (the current version stays) and the next
      // attempt hears why: a rewriter may find a candidate that is clearly no slower.
      if (report.verdict === 'inconclusive') inconclusive = true;
      if (report.verdict !== 'promote') {
        reject({
          attempt,
          stage: 'gate',
          reasons: report.reasons,
          codes: report.reasons.map(reasonCode),
          proposal,
        });
        continue;
      }
      return {
        ok: true,
        candidate: { proposal, source: validation.source, report, attempt },
        attempts,
        tokens,
        reasons,
        codes,
      };
    }
    return { ok: false, attempts, tokens, reasons, codes, proposed, inconclusive };
  } catch (error) {
    const { code, message } = errorInfo(error);
    reasons.push(`error: ${code}: ${message}`);
    codes.push(code);
    return { ok: false, attempts, tokens, reasons, codes, proposed, inconclusive, error };
  }
}

/** The code a gate reason starts with (`CASE_FAILED: …`), else `GATE_REJECTED`. */
function reasonCode(reason: string): string {
  return /^([A-Z][A-Z0-9_]*):/.exec(reason)?.[1] ?? 'GATE_REJECTED';
}

import type { LanguageModel } from 'ai';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { Logger } from '../core/logger.ts';
import { integerOption, numberOption, objectOption } from '../core/options.ts';
import type { Evaluation } from '../evaluation/evaluation.ts';
import type { Evaluator } from '../evaluation/evaluator.ts';
import type { CodeValidator } from '../generation/code-validator.ts';
import { DEFAULT_MODEL_TIMEOUT_MS, modelTimeoutOption } from '../generation/model-deadline.ts';
import type { ToolGenerator } from '../generation/tool-generator.ts';
import type { PerformanceMemoryOptions } from '../memory/performance-memory-options.ts';
import type { RegressionReport } from '../regression/regression-report.ts';
import type { RegressionRunner, RegressionRunnerOptions } from '../regression/regression-runner.ts';
import type { RewriteProposal, Rewriter } from '../rewriting/rewriter.ts';
import type { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import type { StorageAdapter } from '../storage/types.ts';

/** How and when the agent improves its tools. */
export interface ImprovementOptions {
  /** Evaluate a tool's version after every N of its calls. @default 5 */
  evaluateEvery?: number;
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
   * After a promotion, score the new version separately over this many calls. The watch uses
   * the evaluator's settings with `window` = `watchCalls`; its `minInvocations` and
   * `degradation.minBaselineInvocations` are lowered to `watchCalls` when larger.
   * @default 20
   */
  watchCalls?: number;
  /** Roll back when the watched version scores lower than the replaced one by more than this. @default 0.1 */
  rollbackMargin?: number;
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

/** Options of {@link SelfImprovingAgent}. */
export interface SelfImprovingAgentOptions {
  /**
   * The AI SDK model used by `run()`, by the default generator and by the default LLM
   * rewriter. Optional when only `invoke()` and hand-written tools are used (then tools are
   * improved by the hardening rewriter alone).
   */
  model?: LanguageModel;
  /**
   * Where tools, versions, metrics and the audit log live. `close()` closes it only when the
   * agent created it or `closeStorage` is true. @default sqlJsStorage() (in memory)
   */
  storage?: StorageAdapter;
  /**
   * Whether `close()` also closes `storage` (a sql.js file is then written and its
   * `<path>.lock` removed). Set it when the storage is the agent's alone, as when it is
   * created inline (`storage: sqlJsStorage({ path }), closeStorage: true`). Leave it false
   * when the storage is shared (several agents, or the app keeps reading it after `close()`);
   * then close it yourself after the last user.
   * @default false for storage passed in (the agent closes the default storage it created)
   */
  closeStorage?: boolean;
  /** Where every tool runs. `close()` closes it only when the agent created it or `closeSandbox` is true. @default new QuickJsSandbox() */
  sandbox?: QuickJsSandbox;
  /**
   * Whether `close()` also closes `sandbox` (its worker threads). Like `closeStorage`.
   * @default false for a sandbox passed in (the agent closes the default sandbox it created)
   */
  closeSandbox?: boolean;
  /** Writes new tools for `request_new_tool`. @default new ToolGenerator({ model, sandbox }) when a model is given */
  generator?: ToolGenerator;
  /** Proposes better versions. @default chainRewriters([new HardeningRewriter(), new LlmRewriter({ model })]) (hardening only without a model) */
  rewriter?: Rewriter;
  /** Checks every generated or rewritten source before it is gated. @default new CodeValidator() */
  validator?: CodeValidator;
  /** Scores tool versions. @default new Evaluator() */
  evaluator?: Evaluator;
  /** The promotion gate, or options for the default one. @default new RegressionRunner({ storage, sandbox }) */
  regression?: RegressionRunner | Omit<RegressionRunnerOptions, 'storage' | 'sandbox'>;
  /** When and how tools are improved. */
  improvement?: ImprovementOptions;
  /** Human-in-the-loop: called before each promotion; `false` keeps the current version. */
  approve?: (proposal: PromotionProposal) => boolean | Promise<boolean>;
  /** Whether call inputs/outputs are stored (they become regression cases). @default off */
  capture?: PerformanceMemoryOptions['capture'];
  /** Batching, retention and buffering of the call records. */
  memory?: Omit<PerformanceMemoryOptions, 'storage' | 'capture' | 'logger'>;
  /** The system prompt of `run()`. @default a short prompt about using and requesting tools */
  system?: string;
  /** Names this agent in audit entries and leases. @default `agent:<pid>:<random>` */
  instanceId?: string;
  /** Receives warnings (failed improvements, listener errors). */
  logger?: Logger;
  /**
   * Deadline of every model call the agent makes (each step of `run()`, each call of the
   * default generator and of the default LLM rewriter), ms. A call past it is aborted and fails
   * with `ModelTimeoutError` (code `MODEL_TIMEOUT`), even when the provider ignores the abort.
   * A generator or rewriter passed in keeps its own setting.
   * @default min(120_000, improvement.leaseMs / 2)
   */
  modelTimeoutMs?: number;
  /**
   * The most `close()` waits for improvement work after aborting it, ms. Work that ignores the
   * abort (a storage call that hangs) is then left behind and `close()` goes on releasing.
   * @default 10_000
   */
  closeTimeoutMs?: number;
}

/** The agent's deadlines with defaults applied. */
export interface ResolvedAgentTimeouts {
  /** See {@link SelfImprovingAgentOptions.modelTimeoutMs}. */
  readonly modelTimeoutMs: number;
  /** See {@link SelfImprovingAgentOptions.closeTimeoutMs}. */
  readonly closeTimeoutMs: number;
}

/**
 * Validates `modelTimeoutMs` and `closeTimeoutMs`. An unset `modelTimeoutMs` derives from a set
 * `improvement.leaseMs` (half of it, at most 120 000) so the two never conflict.
 */
export function resolveAgentTimeouts(options: SelfImprovingAgentOptions): ResolvedAgentTimeouts {
  const leaseMs = (options.improvement as { leaseMs?: unknown } | undefined)?.leaseMs;
  const modelTimeoutMs =
    options.modelTimeoutMs !== undefined
      ? modelTimeoutOption('modelTimeoutMs', options.modelTimeoutMs)
      : typeof leaseMs === 'number' && Number.isFinite(leaseMs)
        ? Math.max(1, Math.min(DEFAULT_MODEL_TIMEOUT_MS, Math.floor(leaseMs / 2)))
        : DEFAULT_MODEL_TIMEOUT_MS;
  return Object.freeze({
    modelTimeoutMs,
    closeTimeoutMs: integerOption('closeTimeoutMs', options.closeTimeoutMs ?? 10_000, 0, 600_000),
  });
}

/** {@link ImprovementOptions} with defaults applied. */
export interface ResolvedImprovementOptions {
  readonly evaluateEvery: number;
  readonly maxRewritesPerTool: number;
  readonly attemptsPerRewrite: number;
  readonly cooldownMs: number;
  readonly pinned: readonly string[];
  readonly mode: 'background' | 'inline';
  readonly shadowCalls: number;
  readonly watchCalls: number;
  readonly rollbackMargin: number;
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
    throw new InvalidOptionError('improvement.mode', '"background" or "inline"', mode);
  }
  const pinned = options.pinned ?? [];
  if (!Array.isArray(pinned) || pinned.some((name) => typeof name !== 'string')) {
    throw new InvalidOptionError('improvement.pinned', 'an array of tool names', pinned);
  }
  const budget = options.budget === undefined ? {} : objectOption('improvement.budget', options.budget);
  return Object.freeze({
    evaluateEvery: integerOption('improvement.evaluateEvery', options.evaluateEvery ?? 5, 1),
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
    watchCalls: integerOption('improvement.watchCalls', options.watchCalls ?? 20, 1, 100_000),
    rollbackMargin: numberOption('improvement.rollbackMargin', options.rollbackMargin ?? 0.1, 0, 1),
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
    throw new InvalidOptionError(
      'improvement.leaseMs',
      `more than modelTimeoutMs (${modelTimeout.ms}), so an attempt's model call ends before the lease does; raise improvement.leaseMs or lower modelTimeoutMs`,
      leaseMs,
    );
  }
  return leaseMs;
}

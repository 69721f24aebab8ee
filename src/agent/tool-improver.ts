import type { Logger } from '../core/logger.ts';
import { median } from '../core/median.ts';
import type { TypedEmitter } from '../core/typed-emitter.ts';
import type { Evaluation } from '../evaluation/evaluation.ts';
import type { Evaluator } from '../evaluation/evaluator.ts';
import type { CodeValidator } from '../generation/code-validator.ts';
import { AbortedError } from '../generation/generation-errors.ts';
import { withDeadline } from '../generation/model-deadline.ts';
import type { PerformanceMemory } from '../memory/performance-memory.ts';
import { PromotionConflictError, ToolPinnedError } from '../registry/registry-errors.ts';
import { sourceDiff } from '../registry/source-diff.ts';
import type { ToolRegistry } from '../registry/tool-registry.ts';
import type { RegressionReport } from '../regression/regression-report.ts';
import type { RegressionRunner } from '../regression/regression-runner.ts';
import type {
  RejectedProposal,
  RewriteDecline,
  RewriteProposal,
  RewriteRequest,
  Rewriter,
} from '../rewriting/rewriter.ts';
import type { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { isSandboxError } from '../sandbox/sandbox-error.ts';
import { resolveSecretValues, type SecretSource } from '../sandbox/sandbox-secrets.ts';
import { IMPROVEMENT_AUDIT_TYPE } from '../storage/audit-evidence.ts';
import type { JsonObject, JsonValue, StorageAdapter, ToolCapabilities } from '../storage/types.ts';
import type { AgentEvents, AttemptStage, ShadowResult, SkipReason } from './agent-events.ts';
import type { PromotionProposal, ResolvedImprovementOptions } from './agent-options.ts';
import type { ToolCatalog } from './tool-catalog.ts';

/** What one live call looked like, for shadow comparison. */
export interface CallOutcome {
  readonly success: boolean;
  readonly latencyMs: number;
  /** A shadow call only: the first network target the candidate was refused (caught or not). */
  readonly denied?: string;
}

/** `promoted`, or where and why the candidate was turned down (one code per reason). */
type FinishOutcome = 'promoted' | { stage: AttemptStage; reasons: string[]; codes: string[] };

interface Candidate {
  readonly proposal: RewriteProposal;
  readonly source: string;
  readonly report: RegressionReport;
  readonly attempt: number;
}

interface Shadow {
  readonly baseVersion: number;
  readonly evaluation: Evaluation;
  readonly candidate: Candidate;
  readonly tokens: number;
  readonly active: CallOutcome[];
  readonly shadowed: CallOutcome[];
  started: number;
}

interface ToolState {
  /** Calls this agent recorded for the tool, every version. */
  calls: number;
  /** Calls of the active version since its last evaluation. */
  sinceEvaluation: number;
  improving: boolean;
  firstFailing: { calls: number; at: number } | null;
  watch: { version: number; previousVersion: number; previousScore: number; calls: number } | null;
  shadow: Shadow | null;
  /** When an improvement last ended without any candidate (not counted against the cap). */
  noCandidateAt: number | null;
}

/** Everything the improver works with; the agent builds it. */
export interface ToolImproverParts {
  readonly storage: StorageAdapter;
  readonly registry: ToolRegistry;
  readonly memory: PerformanceMemory;
  readonly evaluator: Evaluator;
  readonly watchEvaluator: Evaluator;
  readonly runner: RegressionRunner;
  readonly rewriter: Rewriter;
  readonly validator: CodeValidator;
  readonly sandbox: QuickJsSandbox;
  readonly catalog: ToolCatalog;
  readonly events: TypedEmitter<AgentEvents>;
  readonly options: ResolvedImprovementOptions;
  readonly approve: ((proposal: PromotionProposal) => boolean | Promise<boolean>) | undefined;
  readonly sideEffects: ReadonlySet<string>;
  readonly captureEnabled: boolean;
  readonly instanceId: string;
  readonly logger: Logger | undefined;
  /** The app's secrets, for shadow runs of tools that read some. */
  readonly secrets?: SecretSource;
  /** Narrows a version's capabilities for shadow runs (the agent's current creation grant). */
  readonly capabilities?: (toolName: string, capabilities: ToolCapabilities) => Promise<ToolCapabilities>;
}

/**
 * The closed loop for every tool: after each `evaluateEvery` calls of the active version it
 * scores that version; when a rewrite is needed (and no guard says no) it asks the rewriter,
 * validates, gates against the active version, optionally shadows and asks for approval, then
 * promotes with compare-and-swap, watches the new version and rolls it back if it does worse.
 * A failed attempt's reasons go into the next attempt. At most one improvement per tool runs at
 * a time in this process; a storage lease (when the storage offers one) extends that to every
 * process sharing the storage.
 */
export class ToolImprover {
  readonly #parts: ToolImproverParts;
  readonly #states = new Map<string, ToolState>();
  readonly #tasks = new Set<Promise<void>>();
  #tokensToday: { day: number; tokens: number } | undefined;
  #closed = false;
  /** Aborted by `close()`: cancels model calls, gates and approvals in flight. */
  readonly #abort = new AbortController();

  constructor(parts: ToolImproverParts) {
    this.#parts = parts;
  }

  /**
   * Called after every recorded call. Returns the improvement work it started, which `inline`
   * mode awaits and `background` mode leaves running (tracked for `idle()`).
   */
  afterCall(
    toolName: string,
    version: number,
    input: object,
    outcome: CallOutcome,
  ): Promise<void> | undefined {
    if (this.#closed) return undefined;
    const state = this.#state(toolName);
    state.calls += 1;
    const shadow = state.shadow;
    if (shadow && shadow.baseVersion === version && shadow.active.length < this.#parts.options.shadowCalls) {
      shadow.active.push(outcome);
      this.#track(this.#shadowCall(toolName, shadow, input));
    }
    if (state.watch && state.watch.version === version) {
      state.watch.calls += 1;
      if (state.watch.calls >= this.#parts.options.watchCalls) {
        const watch = state.watch;
        state.watch = null;
        return this.#track(this.#checkWatch(toolName, watch));
      }
      return undefined;
    }
    if (this.#parts.catalog.get(toolName)?.version.version !== version) return undefined;
    state.sinceEvaluation += 1;
    if (state.sinceEvaluation < this.#parts.options.evaluateEvery) return undefined;
    state.sinceEvaluation = 0;
    return this.#track(this.#evaluate(toolName, version));
  }

  /** Resolves when every improvement task started so far (and those they started) has settled. */
  async idle(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  /**
   * Stops starting new work and aborts the work in flight: a model call, a gate or an approval
   * that is waited for ends at once with `AbortedError` (code `ABORTED`); await `idle()`.
   */
  close(): void {
    this.#closed = true;
    this.#abort.abort(new AbortedError('the improvement work', new Error('the agent is closing')));
  }

  /** Waits for `work`, but no longer than until `close()` aborts it. */
  #untilClosed<T>(work: () => PromiseLike<T>, operation: string): Promise<T> {
    return withDeadline(work, { abortSignal: this.#abort.signal, operation });
  }

  #state(toolName: string): ToolState {
    let state = this.#states.get(toolName);
    if (!state) {
      state = {
        calls: 0,
        sinceEvaluation: 0,
        improving: false,
        firstFailing: null,
        watch: null,
        shadow: null,
        noCandidateAt: null,
      };
      this.#states.set(toolName, state);
    }
    return state;
  }

  #track(work: Promise<void>): Promise<void> {
    const task = work.catch((error: unknown) => {
      this.#parts.logger?.error?.('improvement work failed unexpectedly', { error: String(error) });
    });
    this.#tasks.add(task);
    void task.finally(() => this.#tasks.delete(task));
    return task;
  }

  async #evaluate(toolName: string, version: number): Promise<void> {
    const { evaluator, memory, events } = this.#parts;
    const evaluation = await evaluator.evaluate(memory, toolName, { version });
    events.emit('tool:evaluated', { toolName, version, evaluation });
    const state = this.#state(toolName);
    if (!evaluation.needsRewrite) {
      state.firstFailing = null;
      return;
    }
    state.firstFailing ??= { calls: state.calls, at: Date.now() };
    const skip = await this.#guard(toolName, version, state);
    if (skip) {
      events.emit('improvement:skipped', { toolName, version, reason: skip.reason, detail: skip.detail });
      return;
    }
    const lease = `improve:${toolName}`;
    const { storage, instanceId, options } = this.#parts;
    if (storage.acquireLease && !(await storage.acquireLease(lease, instanceId, options.leaseMs))) {
      events.emit('improvement:skipped', {
        toolName,
        version,
        reason: 'leased',
        detail: 'another instance is improving this tool',
      });
      return;
    }
    // The lease may have been released by an instance that just promoted: check again. Without
    // leases (one process) the guard's read above is current.
    const current = storage.acquireLease ? await storage.getTool(toolName) : undefined;
    if (current !== undefined && current?.activeVersion !== version) {
      await storage.releaseLease?.(lease, instanceId);
      await this.#parts.catalog.refresh(toolName);
      events.emit('improvement:skipped', {
        toolName,
        version,
        reason: 'not-active',
        detail: `version ${current?.activeVersion ?? '(none)'} became active while waiting for the lease`,
      });
      return;
    }
    state.improving = true;
    let handedOver = false;
    try {
      handedOver = await this.#improve(toolName, version, evaluation);
    } finally {
      if (!handedOver) {
        state.improving = false;
        await storage.releaseLease?.(lease, instanceId);
      }
    }
  }

  async #guard(
    toolName: string,
    version: number,
    state: ToolState,
  ): Promise<{ reason: SkipReason; detail: string } | null> {
    const { options, storage, catalog } = this.#parts;
    if (state.improving) return { reason: 'busy', detail: 'an improvement of this tool is already running' };
    if (state.watch)
      return { reason: 'watching', detail: `version ${state.watch.version} is still being watched` };
    if (catalog.get(toolName)?.version.version !== version) {
      return { reason: 'not-active', detail: `version ${version} is no longer the active version` };
    }
    const record = await storage.getTool(toolName);
    if (!record) return { reason: 'not-active', detail: 'the tool no longer exists' };
    if (record.activeVersion !== version) {
      // Another process promoted or rolled back and its notice has not arrived yet.
      await catalog.refresh(toolName);
      return {
        reason: 'not-active',
        detail: `version ${record.activeVersion} is active now, not ${version}`,
      };
    }
    if (record.pinned || options.pinned.includes(toolName)) {
      return { reason: 'pinned', detail: `"${toolName}" is pinned` };
    }
    if (record.counters.rewrites >= options.maxRewritesPerTool) {
      // Only then read the resets a person made (sia improvements reset), from the audit log.
      const used = await this.#parts.registry.improvementCount(toolName);
      if (used >= options.maxRewritesPerTool) {
        return {
          reason: 'cap',
          detail: `${used} improvements with a candidate already (maxRewritesPerTool ${options.maxRewritesPerTool}); reset with registry.resetImprovements("${toolName}") or sia improvements reset ${toolName}`,
        };
      }
    }
    if (state.noCandidateAt !== null && Date.now() - state.noCandidateAt < options.cooldownMs) {
      return {
        reason: 'cooldown',
        detail: `the last improvement ${Date.now() - state.noCandidateAt} ms ago found nothing to propose (cooldownMs ${options.cooldownMs})`,
      };
    }
    const last = record.counters.lastRewriteAt;
    if (last !== null && Date.now() - last < options.cooldownMs) {
      return {
        reason: 'cooldown',
        detail: `last improvement ${Date.now() - last} ms ago (cooldownMs ${options.cooldownMs})`,
      };
    }
    if (options.maxTokensPerDay !== undefined) {
      const spent = await this.#spentToday();
      if (spent >= options.maxTokensPerDay) {
        return {
          reason: 'budget',
          detail: `${spent} tokens spent today (maxTokensPerDay ${options.maxTokensPerDay})`,
        };
      }
    }
    return null;
  }

  /** Runs the attempts; returns true when a shadow phase took over the improvement. */
  async #improve(toolName: string, version: number, evaluation: Evaluation): Promise<boolean> {
    const { storage, registry, runner, rewriter, validator, events, options, memory } = this.#parts;
    const before = (await storage.getTool(toolName))?.counters.rewrites ?? 0;
    events.emit('improvement:started', {
      toolName,
      version,
      evaluation,
      rewriter: rewriter.name,
      rewrites: before + 1,
    });
    const reasons: string[] = [];
    const codes: string[] = [];
    let tokens = 0;
    let attempts = 0;
    // The cap (maxRewritesPerTool) and the stored cooldown count improvements that produced a
    // candidate: one where every rewriter declined costs nothing but a short in-memory cooldown.
    let counted = false;
    const countCandidate = async () => {
      if (counted) return;
      counted = true;
      await storage.recordRewrite(toolName, Date.now());
    };
    try {
      if (this.#parts.captureEnabled && options.harvestCases > 0) {
        await runner.harvest(toolName, { from: memory, max: options.harvestCases, version });
      }
      const [active, record, visible] = await Promise.all([
        registry.version(toolName, version),
        registry.tool(toolName),
        runner.visibleCases(toolName),
      ]);
      const previousAttempts: RejectedProposal[] = [];
      const reject = (
        attempt: number,
        stage: AttemptStage,
        why: string[],
        whyCodes: string[],
        proposal?: RewriteProposal,
      ) => {
        reasons.push(...why.map((reason) => `attempt ${attempt} (${stage}): ${reason}`));
        codes.push(...whyCodes);
        if (proposal) previousAttempts.push({ source: proposal.source, rejectedBecause: why });
        events.emit('improvement:attempt-failed', {
          toolName,
          version,
          attempt,
          stage,
          reasons: why,
          codes: whyCodes,
          ...(proposal ? { author: proposal.author } : {}),
        });
      };
      for (let attempt = 1; attempt <= options.attemptsPerRewrite; attempt += 1) {
        attempts = attempt;
        // Renew the lease before each further attempt; stop if another instance took it over.
        if (
          attempt > 1 &&
          storage.acquireLease &&
          !(await storage.acquireLease(`improve:${toolName}`, this.#parts.instanceId, options.leaseMs))
        ) {
          reasons.push(`attempt ${attempt}: the improvement lease expired and another instance holds it`);
          codes.push('LEASE_LOST');
          break;
        }
        const declines: RewriteDecline[] = [];
        const request: RewriteRequest = {
          tool: {
            name: toolName,
            description: record.description,
            inputSchema: active.inputSchema,
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
          abortSignal: this.#abort.signal,
          onDecline: (decline) => declines.push(decline),
        };
        const proposal = await this.#untilClosed(() => rewriter.rewrite(request), 'the rewrite');
        tokens += proposal?.usage?.totalTokens ?? 0;
        if (!proposal) {
          const why =
            declines.length > 0
              ? declines.map((decline) => `${decline.code}: ${decline.rewriter}: ${decline.detail}`)
              : [`REWRITE_DECLINED: the rewriter "${rewriter.name}" had nothing to propose`];
          const whyCodes =
            declines.length > 0 ? declines.map((decline) => decline.code) : ['REWRITE_DECLINED'];
          reject(attempt, 'rewrite', why, whyCodes);
          break;
        }
        await countCandidate();
        const validation = validator.validate(proposal.source, { name: toolName });
        if (!validation.ok) {
          reject(
            attempt,
            'validate',
            validation.issues.map(
              (issue) => `${issue.code}${issue.line ? ` (line ${issue.line})` : ''}: ${issue.message}`,
            ),
            validation.issues.map((issue) => issue.code),
            proposal,
          );
          continue;
        }
        const report = await runner.run(toolName, validation.source, {
          baselineVersion: version,
          signal: this.#abort.signal,
        });
        events.emit('regression:completed', { toolName, version, attempt, report });
        if (report.verdict !== 'promote') {
          reject(attempt, 'gate', report.reasons, report.reasons.map(reasonCode), proposal);
          continue;
        }
        const candidate: Candidate = { proposal, source: validation.source, report, attempt };
        if (options.shadowCalls > 0 && !this.#parts.sideEffects.has(toolName)) {
          this.#state(toolName).shadow = {
            baseVersion: version,
            evaluation,
            candidate,
            tokens,
            active: [],
            shadowed: [],
            started: Date.now(),
          };
          return true;
        }
        const outcome = await this.#finish(toolName, version, evaluation, candidate, tokens, undefined);
        if (outcome === 'promoted') return false;
        reject(attempt, outcome.stage, outcome.reasons, outcome.codes, proposal);
        break;
      }
      if (!counted) this.#state(toolName).noCandidateAt = Date.now();
      await this.#failed(toolName, version, attempts, reasons, tokens, codes);
    } catch (error) {
      if (!counted) this.#state(toolName).noCandidateAt = Date.now();
      const code = errorCode(error);
      reasons.push(`error: ${code}: ${error instanceof Error ? error.message : String(error)}`);
      codes.push(code);
      await this.#failed(toolName, version, attempts, reasons, tokens, codes, error);
    }
    return false;
  }

  async #failed(
    toolName: string,
    version: number,
    attempts: number,
    reasons: string[],
    tokens: number,
    codes: string[],
    error?: unknown,
  ): Promise<void> {
    this.#parts.events.emit('improvement:failed', {
      toolName,
      version,
      attempts,
      reasons,
      codes,
      ...(error === undefined ? {} : { error }),
    });
    this.#parts.logger?.warn?.(`improvement of "${toolName}" v${version} failed`, { reasons });
    await this.#audit(toolName, version, { outcome: 'failed', attempts, tokens, reasons, codes });
  }

  /** Approval, candidate version, compare-and-swap promotion, then the watch. */
  async #finish(
    toolName: string,
    version: number,
    evaluation: Evaluation,
    candidate: Candidate,
    tokens: number,
    shadow: ShadowResult | undefined,
  ): Promise<FinishOutcome> {
    const { registry, catalog, events, approve, instanceId } = this.#parts;
    const active = await registry.version(toolName, version);
    if (approve) {
      const approved = await this.#untilClosed(
        async () =>
          approve({
            toolName,
            fromVersion: version,
            proposal: candidate.proposal,
            evaluation,
            regression: candidate.report,
            diff: sourceDiff(
              toolName,
              { label: `v${version}`, source: active.source },
              { label: 'candidate', source: candidate.source },
            ),
          }),
        'the approval',
      );
      if (approved !== true) {
        return {
          stage: 'approval',
          reasons: ['APPROVAL_DECLINED: the approve hook declined the promotion'],
          codes: ['APPROVAL_DECLINED'],
        };
      }
    }
    const state = this.#state(toolName);
    const loop = {
      calls: state.firstFailing ? state.calls - state.firstFailing.calls : 0,
      ms: state.firstFailing ? Date.now() - state.firstFailing.at : 0,
      attempts: candidate.attempt,
      tokens,
    };
    const added = await registry.addCandidate(toolName, {
      source: candidate.source,
      parentVersion: version,
      reason: candidate.proposal.rationale,
      author: candidate.proposal.author,
      actor: instanceId,
    });
    try {
      await registry.promote(toolName, added.version, {
        expectedActive: version,
        reason: `${evaluation.reasons.map((reason) => reason.code).join(', ') || 'improvement'}: gate passed (${candidate.report.cases.length} cases)`,
        actor: instanceId,
        evidence: toJson({
          evaluation,
          regression: candidate.report,
          shadow: shadow ?? null,
          loop,
        }) as JsonObject,
      });
    } catch (error) {
      // A conflict, or a pin that landed after the checks above (refused inside the swap's own
      // transaction): nothing was promoted.
      if (PromotionConflictError.isInstance(error) || ToolPinnedError.isInstance(error)) {
        await catalog.refresh(toolName);
        return { stage: 'promotion', reasons: [`${error.code}: ${error.message}`], codes: [error.code] };
      }
      // The outcome may be unknown (the store failed around COMMIT): the swap and its audit entry
      // are one transaction, so the active version tells. Promoted: go on as promoted.
      if ((await registry.tool(toolName).catch(() => undefined))?.activeVersion !== added.version)
        throw error;
    }
    // Committed: from here on the events and the watch must follow, whatever fails next.
    const description = catalog.get(toolName)?.description ?? (await registry.tool(toolName)).description;
    catalog.set(description, added);
    state.firstFailing = null;
    state.sinceEvaluation = 0;
    state.watch = {
      version: added.version,
      previousVersion: version,
      previousScore: evaluation.score,
      calls: 0,
    };
    events.emit('tool:promoted', {
      toolName,
      fromVersion: version,
      toVersion: added.version,
      evaluation,
      regression: candidate.report,
      author: candidate.proposal.author,
      rationale: candidate.proposal.rationale,
      ...(shadow ? { shadow } : {}),
      loop,
    });
    try {
      await this.#audit(toolName, version, { outcome: 'promoted', toVersion: added.version, ...loop });
    } catch (error) {
      // The promotion (with its own audit entry) stands; only this summary entry is missing.
      this.#parts.logger?.warn?.(`recording the improvement of "${toolName}" failed`, {
        error: String(error),
      });
    }
    return 'promoted';
  }

  async #shadowCall(toolName: string, shadow: Shadow, input: object): Promise<void> {
    const { sandbox, options, storage, instanceId } = this.#parts;
    const active = this.#parts.catalog.get(toolName)?.version;
    const started = performance.now();
    let success = true;
    let denied: string | undefined;
    let startupMs = 0;
    try {
      const stored: ToolCapabilities = active?.capabilities ?? { network: [] };
      const granted = this.#parts.capabilities ? await this.#parts.capabilities(toolName, stored) : stored;
      const result = await sandbox.runDetailed(
        {
          source: shadow.candidate.source,
          entry: toolName,
          network: { allow: granted.network },
          ...((granted.secrets?.length ?? 0) > 0
            ? { secrets: await resolveSecretValues(granted.secrets, this.#parts.secrets) }
            : {}),
        },
        input,
      );
      startupMs = result.startupMs;
      // A candidate that was refused a capability failed this call even if it caught the error.
      if (result.denials.length > 0) {
        success = false;
        denied = result.denials[0]?.target;
      }
    } catch (error) {
      success = false;
      denied = (error as { denials?: readonly { target: string }[] }).denials?.[0]?.target;
      startupMs = isSandboxError(error) ? error.startupMs : 0;
    }
    shadow.shadowed.push({
      success,
      // The candidate's first shadow call builds its QuickJS instance: start-up, not latency.
      latencyMs: Math.max(0, performance.now() - started - startupMs),
      ...(denied === undefined ? {} : { denied }),
    });
    if (shadow.shadowed.length < options.shadowCalls) return;
    const state = this.#state(toolName);
    if (state.shadow !== shadow) return;
    state.shadow = null;
    const result: ShadowResult = {
      calls: shadow.shadowed.length,
      candidateFailures: shadow.shadowed.filter((call) => !call.success).length,
      activeFailures: shadow.active.filter((call) => !call.success).length,
      candidateMedianMs: median(shadow.shadowed.map((call) => call.latencyMs)),
      activeMedianMs: median(shadow.active.map((call) => call.latencyMs)),
    };
    const { baseVersion, evaluation, candidate, tokens } = shadow;
    try {
      let outcome: FinishOutcome;
      if (result.candidateFailures > result.activeFailures) {
        const denied = deniedTargets(shadow.shadowed);
        outcome = {
          stage: 'shadow',
          reasons: [
            `SHADOW_WORSE: in shadow on ${result.calls} live inputs the candidate failed ${result.candidateFailures} times, the active version ${result.activeFailures}`,
            ...denied,
          ],
          codes: ['SHADOW_WORSE', ...denied.map(() => 'CAPABILITY_DENIED')],
        };
      } else {
        outcome = await this.#finish(toolName, baseVersion, evaluation, candidate, tokens, result);
      }
      if (outcome !== 'promoted') {
        this.#parts.events.emit('improvement:attempt-failed', {
          toolName,
          version: baseVersion,
          attempt: candidate.attempt,
          stage: outcome.stage,
          reasons: outcome.reasons,
          codes: outcome.codes,
          author: candidate.proposal.author,
        });
        await this.#failed(toolName, baseVersion, candidate.attempt, outcome.reasons, tokens, outcome.codes);
      }
    } catch (error) {
      const code = errorCode(error);
      await this.#failed(
        toolName,
        baseVersion,
        candidate.attempt,
        [`${code}: ${String(error)}`],
        tokens,
        [code],
        error,
      );
    } finally {
      state.improving = false;
      await storage.releaseLease?.(`improve:${toolName}`, instanceId);
    }
  }

  async #checkWatch(
    toolName: string,
    watch: { version: number; previousVersion: number; previousScore: number; calls: number },
  ): Promise<void> {
    const { watchEvaluator, memory, events, registry, catalog, options, storage, instanceId } = this.#parts;
    const evaluation = await watchEvaluator.evaluate(memory, toolName, { version: watch.version });
    events.emit('tool:evaluated', { toolName, version: watch.version, evaluation });
    if (evaluation.score >= watch.previousScore - options.rollbackMargin) return;
    const record = await storage.getTool(toolName);
    if (!record || record.pinned || options.pinned.includes(toolName)) {
      events.emit('improvement:skipped', {
        toolName,
        version: watch.version,
        reason: 'pinned',
        detail: 'the promoted version did worse, but the tool is pinned: not rolled back',
      });
      return;
    }
    try {
      await registry.rollback(toolName, {
        to: watch.previousVersion,
        expectedActive: watch.version,
        reason: `version ${watch.version} scored ${evaluation.score.toFixed(3)} over ${evaluation.summary.invocations} calls, below the replaced version's ${watch.previousScore.toFixed(3)} by more than ${options.rollbackMargin}`,
        actor: instanceId,
        evidence: toJson({ evaluation, previousScore: watch.previousScore }) as JsonObject,
      });
    } catch (error) {
      if (PromotionConflictError.isInstance(error)) {
        await catalog.refresh(toolName);
        return;
      }
      if (ToolPinnedError.isInstance(error)) {
        // Pinned after the check above: the store refused the rollback in its own transaction.
        events.emit('improvement:skipped', {
          toolName,
          version: watch.version,
          reason: 'pinned',
          detail: 'the promoted version did worse, but the tool is pinned: not rolled back',
        });
        return;
      }
      // As for a promotion: the active version tells whether the rollback committed. If not, the
      // version is still active and stays watched, so the check runs again.
      if ((await registry.tool(toolName).catch(() => undefined))?.activeVersion !== watch.previousVersion) {
        this.#state(toolName).watch ??= { ...watch, calls: 0 };
        throw error;
      }
    }
    // Committed: serve the previous version; a failed read leaves it to the next catalog refresh.
    const previous = await registry.version(toolName, watch.previousVersion).catch(() => undefined);
    if (previous) catalog.set(record.description, previous);
    this.#state(toolName).sinceEvaluation = 0;
    events.emit('tool:rolled-back', {
      toolName,
      fromVersion: watch.version,
      toVersion: watch.previousVersion,
      evaluation,
      previousScore: watch.previousScore,
      rollbackMargin: options.rollbackMargin,
    });
  }

  async #audit(toolName: string, version: number, evidence: Record<string, unknown>): Promise<void> {
    const tokens = typeof evidence.tokens === 'number' ? evidence.tokens : 0;
    const spent = await this.#spentToday();
    this.#tokensToday = { day: utcDay(), tokens: spent + tokens };
    await this.#parts.storage.appendAudit({
      type: IMPROVEMENT_AUDIT_TYPE,
      toolName,
      actor: this.#parts.instanceId,
      reason: String(evidence.outcome),
      fromVersion: version,
      ...(typeof evidence.toVersion === 'number' ? { toVersion: evidence.toVersion } : {}),
      evidence: toJson(evidence),
    });
  }

  /** Tokens spent on improvements since UTC midnight, read once from the audit log, then counted. */
  async #spentToday(): Promise<number> {
    const day = utcDay();
    if (this.#tokensToday?.day === day) return this.#tokensToday.tokens;
    const entries = await this.#parts.storage.listAudit({ type: IMPROVEMENT_AUDIT_TYPE, since: day });
    const tokens = entries.reduce((sum, entry) => {
      const value = (entry.evidence as { tokens?: unknown } | null)?.tokens;
      return sum + (typeof value === 'number' ? value : 0);
    }, 0);
    this.#tokensToday = { day, tokens };
    return tokens;
  }
}

/** The stable code of an error: a SiaError's `code`, else `ERROR`. */
function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'ERROR';
}

/** The code a gate reason starts with (`CASE_FAILED: …`), else `GATE_REJECTED`. */
function reasonCode(reason: string): string {
  return /^([A-Z][A-Z0-9_]*):/.exec(reason)?.[1] ?? 'GATE_REJECTED';
}

function utcDay(): number {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
}

/** A JSON copy (drops `undefined`, turns errors into strings) for audit evidence. */
function toJson(value: unknown): JsonValue {
  return JSON.parse(
    JSON.stringify(value, (_key, item: unknown) =>
      item instanceof Error ? `${item.name}: ${item.message}` : item,
    ) ?? 'null',
  ) as JsonValue;
}

/** One CAPABILITY_DENIED reason naming the hosts shadow calls were refused, or none. */
function deniedTargets(calls: readonly CallOutcome[]): string[] {
  const targets = [...new Set(calls.flatMap((call) => (call.denied === undefined ? [] : [call.denied])))];
  if (targets.length === 0) return [];
  return [
    `CAPABILITY_DENIED: in shadow the candidate was denied network access to ${targets.map((target) => JSON.stringify(target)).join(', ')}`,
  ];
}

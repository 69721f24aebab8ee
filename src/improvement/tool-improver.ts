import { errorInfo } from '../core/error-info.ts';
import type { Logger } from '../core/logger.ts';
import type { TypedEmitter } from '../core/typed-emitter.ts';
import type { Evaluation } from '../evaluation/evaluation.ts';
import { callNeedsEvaluation, type LatencyTracker } from '../evaluation/evaluation-trigger.ts';
import type { EvaluationSource, Evaluator } from '../evaluation/evaluator.ts';
import { AbortedError } from '../generation/generation-errors.ts';
import { withDeadline } from '../generation/model-deadline.ts';
import type { GenerationValidator } from '../generation/tool-generator.ts';
import { PromotionConflictError, ToolPinnedError } from '../registry/registry-errors.ts';
import { sourceDiff } from '../registry/source-diff.ts';
import type { ToolRegistry } from '../registry/tool-registry.ts';
import type { HarvestSource } from '../regression/regression-runner.ts';
import type { CallOutcome, ShadowResult, ShadowVerdict } from '../regression/shadow-gate.ts';
import type { Rewriter } from '../rewriting/rewriter.ts';
import type { ToolCatalog } from '../runtime/tool-catalog.ts';
import type { ToolRuntime } from '../runtime/tool-runtime.ts';
import type { ImprovementEvidence } from '../storage/audit-evidence.ts';
import type { JsonObject, ToolRecord, ToolVersion } from '../storage/records.ts';
import { AgentTracing, type TracedSpan } from '../telemetry/agent-tracing.ts';
import { SIA_SPAN_ATTRIBUTES as A, SIA_SPAN_NAMES } from '../telemetry/span-attributes.ts';
import {
  type AttemptRejection,
  type ImprovementCandidate,
  type ImprovementGate,
  improveVersion,
} from './improve-version.ts';
import type { ImprovementBudget } from './improvement-budget.ts';
import type { AttemptStage, ImprovementEvents } from './improvement-events.ts';
import type { ImprovementLease } from './improvement-lease.ts';
import type { PromotionProposal, ResolvedImprovementOptions } from './improvement-options.ts';
import {
  checkLocalGuards,
  checkStoredGuards,
  type ImprovementSkip,
  needsImprovementCount,
} from './improvement-policy.ts';
import { type PromotionWatch, rollbackBaseline } from './promotion-watch.ts';
import { ShadowPhase, type ShadowRun } from './shadow-phase.ts';
import { toJson } from './to-json.ts';

/** `promoted`, or where and why the candidate was turned down (one code per reason). */
type FinishOutcome = 'promoted' | { stage: AttemptStage; reasons: string[]; codes: string[] };

/** What this process tracks per tool. */
interface ToolState {
  /** Calls this agent recorded for the tool, every version. */
  calls: number;
  /** Calls of the active version since its last evaluation. */
  sinceEvaluation: number;
  improving: boolean;
  firstFailing: { calls: number; at: number } | null;
  /** When an improvement last ended without any candidate (not counted against the cap). */
  noCandidateAt: number | null;
  /** The active version's usual latency, for `evaluateOnAnomaly`. */
  latency: LatencyTracker;
  /** The version `tool:degraded` was raised for, until an evaluation finds the tool healthy. */
  degraded: number | null;
}

/** Everything the improver works with, each part typed by the role it plays; the agent builds it. */
export interface ToolImproverParts {
  /** Tools, versions, counters and the audit log: every write of the loop goes through it. */
  readonly registry: Pick<
    ToolRegistry,
    | 'find'
    | 'tool'
    | 'version'
    | 'addCandidate'
    | 'promote'
    | 'improvementCount'
    | 'recordRewrite'
    | 'recordImprovement'
    | 'recordDegraded'
  >;
  /** Where the calls are (evaluation, harvesting). */
  readonly memory: EvaluationSource & HarvestSource;
  /** Decides whether the active version needs a rewrite. */
  readonly evaluator: Pick<Evaluator, 'evaluate'>;
  /** The regression gate. */
  readonly gate: ImprovementGate;
  /** Proposes new sources. */
  readonly rewriter: Rewriter;
  /** Checks proposals before the gate. */
  readonly validator: GenerationValidator;
  /** Runs candidates in shadow (sandboxed, with the app's grant and secrets, recording nothing). */
  readonly runtime: Pick<ToolRuntime, 'run'>;
  /**
   * The versions being served (sandboxed tools, updated on promotion) and the host tools' active
   * versions (measured and evaluated, never rewritten).
   */
  readonly catalog: Pick<ToolCatalog, 'get' | 'set' | 'refresh' | 'host' | 'servedVersion' | 'isDisabled'>;
  /** Where the loop's events go. */
  readonly events: Pick<TypedEmitter<ImprovementEvents>, 'emit'>;
  /** The per-tool lease (one improver per tool across processes). */
  readonly lease: ImprovementLease;
  /** The daily token budget. */
  readonly budget: ImprovementBudget;
  /** Watches promotions and rolls them back. */
  readonly watch: PromotionWatch;
  /** The improvement settings. */
  readonly options: ResolvedImprovementOptions;
  /** The app's approval hook, asked before every promotion. */
  readonly approve: ((proposal: PromotionProposal) => boolean | Promise<boolean>) | undefined;
  /** Tools never run in shadow (they have side effects). */
  readonly sideEffects: ReadonlySet<string>;
  /** Whether calls are captured with inputs and outputs (needed for harvesting cases). */
  readonly captureEnabled: boolean;
  /** The actor of this loop's changes in the audit log. */
  readonly instanceId: string;
  /** Where unexpected failures are reported. */
  readonly logger: Logger | undefined;
  /**
   * Traces evaluations (`sia.evaluate`), improvement attempts (`sia.improve`) with their stages,
   * and promotions (`sia.promote`) under the active span.
   * @default new AgentTracing() (the global tracer; a no-op without an OpenTelemetry SDK)
   */
  readonly tracing?: AgentTracing;
}

/** The open spans of an improvement handed over to its shadow phase. */
interface ShadowSpans {
  readonly improve: TracedSpan;
  readonly shadow: TracedSpan;
}

/**
 * The closed loop for every tool, composed of named parts: after each `evaluateEvery` calls of
 * the active version it scores that version; when a rewrite is needed and the
 * {@link checkLocalGuards policy} allows it, it takes the tool's {@link ImprovementLease lease},
 * runs {@link improveVersion} (rewrite → validate → gate), optionally runs the candidate in
 * shadow ({@link shadowGate}), asks for approval, promotes with compare-and-swap through the
 * registry, and hands the new version to the {@link PromotionWatch}. At most one improvement per
 * tool runs at a time in this process; the lease extends that to every process sharing storage.
 */
export class ToolImprover {
  readonly #parts: ToolImproverParts;
  readonly #states = new Map<string, ToolState>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #shadow: ShadowPhase;
  readonly #tracing: AgentTracing;
  /** Improvements waiting for their shadow verdict, per tool: their spans end with it (or `close()`). */
  readonly #shadowSpans = new Map<string, ShadowSpans>();
  #closed = false;
  /** Aborted by `close()`: cancels model calls, gates and approvals in flight. */
  readonly #abort = new AbortController();

  constructor(parts: ToolImproverParts) {
    this.#parts = parts;
    this.#tracing = parts.tracing ?? new AgentTracing();
    this.#shadow = new ShadowPhase({
      runtime: parts.runtime,
      catalog: parts.catalog,
      calls: parts.options.shadowCalls,
    });
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
    const { options, watch } = this.#parts;
    const state = this.#state(toolName);
    state.calls += 1;
    const shadowed = this.#shadow.observe(toolName, version, input, outcome);
    if (shadowed) {
      this.#track(
        shadowed.then((done) => (done ? this.#afterShadow(toolName, done.run, done.verdict) : undefined)),
      );
    }
    const watched = watch.count(toolName, version);
    if (watched === 'counted') return undefined;
    if (watched !== undefined) return this.#track(this.#checkWatch(toolName, watched));
    if (!this.#evaluable(toolName, version)) return undefined;
    state.sinceEvaluation += 1;
    const anomaly = callNeedsEvaluation(state.latency, outcome.success, outcome.latencyMs);
    if (state.sinceEvaluation < options.evaluateEvery && !(options.evaluateOnAnomaly && anomaly)) {
      return undefined;
    }
    return this.#scheduleEvaluation(toolName, version);
  }

  /**
   * Called after the app reported a wrong answer of `version` (`agent.feedback`): with
   * `evaluateOnAnomaly`, evaluates the active version now (the wrong answer is in its window) and
   * restarts the count, or, while the version is watched, checks the watch now. Returns the work,
   * which `inline` mode awaits.
   */
  afterFeedback(toolName: string, version: number): Promise<void> | undefined {
    if (this.#closed || !this.#evaluable(toolName, version)) return undefined;
    // Without evaluateOnAnomaly the verdict waits for the cadence like any call.
    if (!this.#parts.options.evaluateOnAnomaly) return undefined;
    // A watched version: the wrong answer is the watch's evidence, tested now.
    const watched = this.#parts.watch.claim(toolName, version);
    if (watched === 'counted') return undefined;
    if (watched !== undefined) return this.#track(this.#checkWatch(toolName, watched));
    return this.#scheduleEvaluation(toolName, version);
  }

  /**
   * Whether calls of `version` are evaluated: not while the tool is disabled (nothing about it
   * changes then); for a sandboxed tool only the version served; for a host tool the version the
   * call ran (the app's code of that release: another process may have deployed a newer one).
   */
  #evaluable(toolName: string, version: number): boolean {
    const { catalog } = this.#parts;
    if (catalog.isDisabled(toolName)) return false;
    return catalog.host(toolName) !== undefined || catalog.servedVersion(toolName) === version;
  }

  /**
   * Evaluates the version now (inline) or on the next turn of the event loop (background), and
   * restarts the count of calls since the last evaluation.
   */
  #scheduleEvaluation(toolName: string, version: number): Promise<void> {
    this.#state(toolName).sinceEvaluation = 0;
    if (this.#parts.options.mode === 'inline') return this.#track(this.#evaluate(toolName, version));
    // Background: start after this turn of the event loop, so the caller's next call reaches
    // the sandbox first and the evaluation runs while that call executes (off its latency).
    return this.#track(
      new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
        this.#closed ? undefined : this.#evaluate(toolName, version),
      ),
    );
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
    // A shadow phase never ends once calls stop: its spans end here.
    for (const { improve, shadow } of this.#shadowSpans.values()) {
      shadow.fail('ABORTED');
      shadow.end();
      improve.set({ [A.improveOutcome]: 'aborted' });
      improve.end();
    }
    this.#shadowSpans.clear();
  }

  #state(toolName: string): ToolState {
    let state = this.#states.get(toolName);
    if (!state) {
      state = {
        calls: 0,
        sinceEvaluation: 0,
        improving: false,
        firstFailing: null,
        noCandidateAt: null,
        latency: { usualMs: null },
        degraded: null,
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

  #skip(toolName: string, version: number, skip: ImprovementSkip, span?: TracedSpan): void {
    span?.set({ [A.improveOutcome]: 'skipped', [A.improveReasons]: [skip.reason] });
    this.#parts.events.emit('improvement:skipped', {
      toolName,
      version,
      reason: skip.reason,
      detail: skip.detail,
    });
  }

  async #checkWatch(toolName: string, watch: Parameters<PromotionWatch['check']>[1]): Promise<void> {
    if ((await this.#parts.watch.check(toolName, watch)) === 'rolled-back') {
      this.#state(toolName).sinceEvaluation = 0;
    }
  }

  async #evaluate(toolName: string, version: number): Promise<void> {
    const { evaluator, memory, events } = this.#parts;
    const evaluation = await this.#tracing.evaluate(toolName, version, () =>
      evaluator.evaluate(memory, toolName, { version }),
    );
    events.emit('tool:evaluated', { toolName, version, evaluation });
    const state = this.#state(toolName);
    // Disabled while the evaluation ran: no alert, no rewrite.
    if (this.#parts.catalog.isDisabled(toolName)) return;
    if (!evaluation.needsRewrite) {
      state.firstFailing = null;
      state.degraded = null;
      return;
    }
    const host = this.#parts.catalog.host(toolName);
    if (state.degraded !== version) {
      state.degraded = version;
      await this.#degraded(toolName, version, evaluation, host);
    }
    // A host tool is the app's own function: measured and evaluated, never rewritten.
    if (host !== undefined) return;
    state.firstFailing ??= { calls: state.calls, at: Date.now() };
    // One span per improvement attempt, from the guards to its outcome; a shadow phase keeps it open.
    const span = this.#tracing.start(SIA_SPAN_NAMES.improve, toolName, {
      [A.toolVersion]: version,
      [A.fromVersion]: version,
      [A.evaluationReasons]: evaluation.reasons.map((reason) => reason.code),
    });
    let open = false;
    try {
      open = await span.with(() => this.#attempt(toolName, version, evaluation, state, span));
    } catch (error) {
      span.fail(errorInfo(error).code);
      throw error;
    } finally {
      if (!open) span.end();
    }
  }

  /** Guards, lease, then the improvement; returns true when a shadow phase took over `span`. */
  async #attempt(
    toolName: string,
    version: number,
    evaluation: Evaluation,
    state: ToolState,
    span: TracedSpan,
  ): Promise<boolean> {
    const { lease, catalog } = this.#parts;
    const guarded = await this.#guard(toolName, version, state);
    if ('skip' in guarded) {
      this.#skip(toolName, version, guarded.skip, span);
      return false;
    }
    if (!(await lease.acquire(toolName))) {
      this.#skip(
        toolName,
        version,
        { reason: 'leased', detail: 'another instance is improving this tool' },
        span,
      );
      return false;
    }
    // The lease may have been released by an instance that just promoted: check again. Without
    // shared leases (one process) the guard's read above is current.
    const current = lease.shared ? await this.#parts.registry.find(toolName) : guarded.record;
    if (current !== undefined && current.activeVersion !== version) {
      await lease.release(toolName);
      await catalog.refresh(toolName);
      this.#skip(
        toolName,
        version,
        {
          reason: 'not-active',
          detail: `version ${current.activeVersion} became active while waiting for the lease`,
        },
        span,
      );
      return false;
    }
    state.improving = true;
    let handedOver = false;
    try {
      handedOver = await this.#improve(toolName, version, evaluation, current?.counters.rewrites ?? 0, span);
    } finally {
      if (!handedOver) {
        state.improving = false;
        await lease.release(toolName);
      }
    }
    return handedOver;
  }

  /** Raises `tool:degraded` and writes its audit entry (a failed write is logged, never thrown). */
  async #degraded(
    toolName: string,
    version: number,
    evaluation: Evaluation,
    host: ToolVersion | undefined,
  ): Promise<void> {
    this.#parts.events.emit('tool:degraded', {
      toolName,
      version,
      kind: host === undefined ? 'sandboxed' : 'host',
      ...(host?.label === undefined ? {} : { label: host.label }),
      evaluation,
    });
    try {
      await this.#parts.registry.recordDegraded(toolName, {
        version,
        evaluation: toJson(evaluation) as JsonObject,
        reason:
          evaluation.reasons.map((reason) => reason.message).join('; ') ||
          'the evaluation asked for a rewrite',
        actor: this.#parts.instanceId,
      });
    } catch (error) {
      this.#parts.logger?.warn?.('could not record a degraded tool in the audit log', {
        toolName,
        error: errorInfo(error).message,
      });
    }
  }

  /**
   * The policy's guards, with the facts they need read from storage only when they are needed.
   * Passed: the tool's record as the guards read it.
   */
  async #guard(
    toolName: string,
    version: number,
    state: ToolState,
  ): Promise<{ skip: ImprovementSkip } | { record: ToolRecord | undefined }> {
    const { options, registry, catalog, budget, watch } = this.#parts;
    const local = checkLocalGuards(version, {
      improving: state.improving,
      watchingVersion: watch.get(toolName)?.version ?? null,
      servedVersion: catalog.get(toolName)?.version.version,
      noCandidateAt: state.noCandidateAt,
    });
    if (local) return { skip: local };
    const record = await registry.find(toolName);
    // Another process promoted or rolled back and its notice has not arrived yet.
    if (record && record.activeVersion !== version) await catalog.refresh(toolName);
    const facts = {
      record,
      ...(needsImprovementCount(record, options)
        ? { improvementsUsed: await registry.improvementCount(toolName) }
        : {}),
      ...(options.maxTokensPerDay !== undefined ? { tokensSpentToday: await budget.spentToday() } : {}),
    };
    const skip = checkStoredGuards(toolName, version, facts, state, options, Date.now());
    return skip ? { skip } : { record };
  }

  /**
   * Runs the attempts (`before`: the tool's improvements so far); returns true when a shadow
   * phase took over the improvement.
   */
  async #improve(
    toolName: string,
    version: number,
    evaluation: Evaluation,
    before: number,
    span: TracedSpan,
  ): Promise<boolean> {
    const { registry, gate, rewriter, validator, events, options, memory, lease } = this.#parts;
    events.emit('improvement:started', {
      toolName,
      version,
      evaluation,
      rewriter: rewriter.name,
      rewrites: before + 1,
    });
    const attemptFailed = (rejection: AttemptRejection) => this.#attemptFailed(toolName, version, rejection);
    const result = await improveVersion({
      toolName,
      version,
      evaluation,
      rewriter,
      gate,
      tools: registry,
      validator,
      attempts: options.attemptsPerRewrite,
      ...(this.#parts.captureEnabled && options.harvestCases > 0
        ? { harvest: { from: memory, max: options.harvestCases } }
        : {}),
      abortSignal: this.#abort.signal,
      // Renew the lease before each further attempt; stop if another instance took it over.
      beforeAttempt: async () =>
        (await lease.renew(toolName))
          ? undefined
          : { reason: 'the improvement lease expired and another instance holds it', code: 'LEASE_LOST' },
      // The cap (maxRewritesPerTool) and the stored cooldown count improvements that produced a
      // candidate: one where every rewriter declined costs nothing but a short in-memory cooldown.
      onProposal: async () => {
        await registry.recordRewrite(toolName, Date.now());
      },
      onAttemptFailed: attemptFailed,
      onGateCompleted: (attempt, report) =>
        events.emit('regression:completed', { toolName, version, attempt, report }),
      tracing: this.#tracing,
    });
    const state = this.#state(toolName);
    if (!result.ok) {
      if (!result.proposed) state.noCandidateAt = Date.now();
      await this.#failed(
        toolName,
        version,
        result.attempts,
        result.reasons,
        result.tokens,
        result.codes,
        result.error,
        result.inconclusive && result.error === undefined,
        span,
      );
      return false;
    }
    const { candidate } = result;
    const reasons = [...result.reasons];
    const codes = [...result.codes];
    try {
      if (options.shadowCalls > 0 && !this.#parts.sideEffects.has(toolName)) {
        span.set({ [A.attempt]: result.attempts, [A.tokens]: result.tokens });
        const shadow = this.#tracing.start(
          SIA_SPAN_NAMES.shadow,
          toolName,
          { [A.toolVersion]: version, [A.shadowCalls]: options.shadowCalls },
          span.context,
        );
        this.#shadowSpans.set(toolName, { improve: span, shadow });
        this.#shadow.start(toolName, { baseVersion: version, evaluation, candidate, tokens: result.tokens });
        return true;
      }
      const outcome = await this.#finish(
        toolName,
        version,
        evaluation,
        candidate,
        result.tokens,
        undefined,
        span,
      );
      if (outcome === 'promoted') return false;
      const rejection = { attempt: candidate.attempt, ...outcome, proposal: candidate.proposal };
      attemptFailed(rejection);
      reasons.push(
        ...outcome.reasons.map((reason) => `attempt ${candidate.attempt} (${outcome.stage}): ${reason}`),
      );
      codes.push(...outcome.codes);
      span.set({ [A.improveStage]: outcome.stage });
      await this.#failed(
        toolName,
        version,
        result.attempts,
        reasons,
        result.tokens,
        codes,
        undefined,
        false,
        span,
      );
    } catch (error) {
      const { code, message } = errorInfo(error);
      reasons.push(`error: ${code}: ${message}`);
      codes.push(code);
      await this.#failed(
        toolName,
        version,
        result.attempts,
        reasons,
        result.tokens,
        codes,
        error,
        false,
        span,
      );
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
    inconclusive = false,
    span?: TracedSpan,
  ): Promise<void> {
    const outcome = inconclusive ? 'inconclusive' : 'failed';
    span?.set({
      [A.improveOutcome]: inconclusive ? 'inconclusive' : 'rejected',
      [A.improveReasons]: codes,
      [A.attempt]: attempts,
      [A.tokens]: tokens,
    });
    if (error !== undefined) span?.fail(errorInfo(error).code);
    this.#parts.events.emit('improvement:failed', {
      toolName,
      version,
      outcome,
      attempts,
      reasons,
      codes,
      ...(error === undefined ? {} : { error }),
    });
    this.#parts.logger?.warn?.(
      inconclusive
        ? `improvement of "${toolName}" v${version} was inconclusive: v${version} is kept`
        : `improvement of "${toolName}" v${version} failed`,
      { reasons },
    );
    await this.#record(
      toolName,
      version,
      { outcome, attempts, tokens, reasons, codes },
      inconclusive
        ? `inconclusive: no candidate was shown worse than v${version}, but the regression gate could not show one not worse within its repeats (INCONCLUSIVE), so v${version} is kept`
        : undefined,
    );
  }

  /** The `improvement:finished` audit entry, its tokens counted against the daily budget first. */
  async #record(
    toolName: string,
    version: number,
    evidence: ImprovementEvidence,
    reason?: string,
  ): Promise<void> {
    await this.#parts.budget.spend(evidence.tokens);
    await this.#parts.registry.recordImprovement(toolName, {
      fromVersion: version,
      evidence,
      actor: this.#parts.instanceId,
      ...(reason === undefined ? {} : { reason }),
    });
  }

  /** Waits for `work`, but no longer than until `close()` aborts it. */
  #untilClosed<T>(work: () => PromiseLike<T>, operation: string): Promise<T> {
    return withDeadline(work, { abortSignal: this.#abort.signal, operation });
  }

  /** Approval, candidate version, compare-and-swap promotion, then the watch. */
  async #finish(
    toolName: string,
    version: number,
    evaluation: Evaluation,
    candidate: ImprovementCandidate,
    tokens: number,
    shadow: ShadowResult | undefined,
    span: TracedSpan | undefined,
  ): Promise<FinishOutcome> {
    const { registry, approve } = this.#parts;
    const active = await registry.version(toolName, version);
    if (approve) {
      const approved = await this.#tracing.span(
        SIA_SPAN_NAMES.approve,
        toolName,
        { [A.fromVersion]: version },
        async (approveSpan) => {
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
          approveSpan.set({ [A.approved]: approved === true });
          return approved;
        },
      );
      if (approved !== true) {
        return {
          stage: 'approval',
          reasons: ['APPROVAL_DECLINED: the approve hook declined the promotion'],
          codes: ['APPROVAL_DECLINED'],
        };
      }
    }
    const outcome = await this.#tracing.span(
      SIA_SPAN_NAMES.promote,
      toolName,
      { [A.fromVersion]: version, [A.gateCases]: candidate.report.cases.length },
      (promoteSpan) => this.#promote(toolName, version, evaluation, candidate, tokens, shadow, promoteSpan),
    );
    if (outcome === 'promoted') span?.set({ [A.improveOutcome]: 'promoted' });
    return outcome;
  }

  /** Candidate version, compare-and-swap promotion, the watch, `tool:promoted` (inside `span`). */
  async #promote(
    toolName: string,
    version: number,
    evaluation: Evaluation,
    candidate: ImprovementCandidate,
    tokens: number,
    shadow: ShadowResult | undefined,
    span: TracedSpan,
  ): Promise<FinishOutcome> {
    const { registry, catalog, events, instanceId, memory } = this.#parts;
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
    span.set({ [A.toVersion]: added.version });
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
        span.set({ [A.decisionOutcome]: PromotionConflictError.isInstance(error) ? 'conflict' : 'pinned' });
        await catalog.refresh(toolName);
        return { stage: 'promotion', reasons: [`${error.code}: ${error.message}`], codes: [error.code] };
      }
      // The outcome may be unknown (the store failed around COMMIT): the swap and its audit entry
      // are one transaction, so the active version tells. Promoted: go on as promoted.
      if ((await registry.tool(toolName).catch(() => undefined))?.activeVersion !== added.version)
        throw error;
    }
    // Committed: from here on the events and the watch must follow, whatever fails next.
    span.set({ [A.decisionOutcome]: 'promoted' });
    const description = catalog.get(toolName)?.description ?? (await registry.tool(toolName)).description;
    catalog.set(description, added);
    state.firstFailing = null;
    state.sinceEvaluation = 0;
    this.#parts.watch.start(toolName, {
      version: added.version,
      previousVersion: version,
      previousScore: evaluation.score,
      baseline: await rollbackBaseline(memory, toolName, version).catch(() => ({
        calls: evaluation.summary.invocations,
        failures: evaluation.summary.failures,
      })),
    });
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
      await this.#record(toolName, version, { outcome: 'promoted', toVersion: added.version, ...loop });
    } catch (error) {
      // The promotion (with its own audit entry) stands; only this summary entry is missing.
      this.#parts.logger?.warn?.(`recording the improvement of "${toolName}" failed`, {
        error: String(error),
      });
    }
    return 'promoted';
  }

  /** `improvement:attempt-failed` for one rejected attempt of the improvement of `version`. */
  #attemptFailed(toolName: string, version: number, rejection: AttemptRejection): void {
    this.#parts.events.emit('improvement:attempt-failed', {
      toolName,
      version,
      attempt: rejection.attempt,
      stage: rejection.stage,
      reasons: rejection.reasons,
      codes: rejection.codes,
      ...(rejection.proposal ? { author: rejection.proposal.author } : {}),
    });
  }

  /** The shadow gate decided: promote (approval, compare-and-swap) or record the rejection. */
  async #afterShadow(toolName: string, run: ShadowRun, verdict: ShadowVerdict): Promise<void> {
    const spans = this.#shadowSpans.get(toolName);
    this.#shadowSpans.delete(toolName);
    spans?.shadow.set({
      [A.shadowVerdict]: verdict.verdict,
      ...(verdict.verdict === 'reject' ? { [A.improveReasons]: verdict.codes } : {}),
    });
    spans?.shadow.end();
    const improve = spans?.improve;
    // The approval and the promotion belong to the improvement, not to the call that ended the phase.
    const work = () => this.#settleShadow(toolName, run, verdict, improve);
    try {
      await (improve ? improve.with(work) : work());
    } finally {
      improve?.end();
    }
  }

  async #settleShadow(
    toolName: string,
    run: ShadowRun,
    verdict: ShadowVerdict,
    improve: TracedSpan | undefined,
  ): Promise<void> {
    const { baseVersion, evaluation, candidate, tokens } = run;
    try {
      const outcome: FinishOutcome =
        verdict.verdict === 'reject'
          ? { stage: 'shadow', reasons: verdict.reasons, codes: verdict.codes }
          : await this.#finish(toolName, baseVersion, evaluation, candidate, tokens, verdict.result, improve);
      if (outcome !== 'promoted') {
        this.#attemptFailed(toolName, baseVersion, {
          attempt: candidate.attempt,
          ...outcome,
          proposal: candidate.proposal,
        });
        improve?.set({ [A.improveStage]: outcome.stage });
        await this.#failed(
          toolName,
          baseVersion,
          candidate.attempt,
          outcome.reasons,
          tokens,
          outcome.codes,
          undefined,
          false,
          improve,
        );
      }
    } catch (error) {
      const { code } = errorInfo(error);
      await this.#failed(
        toolName,
        baseVersion,
        candidate.attempt,
        [`${code}: ${String(error)}`],
        tokens,
        [code],
        error,
        false,
        improve,
      );
    } finally {
      this.#state(toolName).improving = false;
      await this.#parts.lease.release(toolName);
    }
  }
}

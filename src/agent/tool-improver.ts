import type { Logger } from '../core/logger.ts';
import { median } from '../core/median.ts';
import type { TypedEmitter } from '../core/typed-emitter.ts';
import type { Evaluation } from '../evaluation/evaluation.ts';
import type { Evaluator } from '../evaluation/evaluator.ts';
import type { CodeValidator } from '../generation/code-validator.ts';
import type { PerformanceMemory } from '../memory/performance-memory.ts';
import { PromotionConflictError } from '../registry/registry-errors.ts';
import { sourceDiff } from '../registry/source-diff.ts';
import type { ToolRegistry } from '../registry/tool-registry.ts';
import type { RegressionReport } from '../regression/regression-report.ts';
import type { RegressionRunner } from '../regression/regression-runner.ts';
import type { RejectedProposal, RewriteProposal, Rewriter } from '../rewriting/rewriter.ts';
import type { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { resolveSecretValues, type SecretSource } from '../sandbox/sandbox-secrets.ts';
import type { JsonObject, JsonValue, StorageAdapter, ToolCapabilities } from '../storage/types.ts';
import type { AgentEvents, AttemptStage, ShadowResult, SkipReason } from './agent-events.ts';
import type { PromotionProposal, ResolvedImprovementOptions } from './agent-options.ts';
import type { ToolCatalog } from './tool-catalog.ts';

/** Audit entry type written at the end of every improvement (its tokens feed the daily budget). */
export const IMPROVEMENT_AUDIT_TYPE = 'improvement:finished';

/** What one live call looked like, for shadow comparison. */
export interface CallOutcome {
  readonly success: boolean;
  readonly latencyMs: number;
}

/** `promoted`, or where and why the candidate was turned down. */
type FinishOutcome = 'promoted' | { stage: AttemptStage; reasons: string[] };

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

  /** Stops starting new work; running work finishes (await `idle()`). */
  close(): void {
    this.#closed = true;
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
      return {
        reason: 'cap',
        detail: `${record.counters.rewrites} improvements already (maxRewritesPerTool ${options.maxRewritesPerTool})`,
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
    const counters = await storage.recordRewrite(toolName, Date.now());
    events.emit('improvement:started', {
      toolName,
      version,
      evaluation,
      rewriter: rewriter.name,
      rewrites: counters.rewrites,
    });
    const reasons: string[] = [];
    let tokens = 0;
    let attempts = 0;
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
      const reject = (attempt: number, stage: AttemptStage, why: string[], proposal?: RewriteProposal) => {
        reasons.push(...why.map((reason) => `attempt ${attempt} (${stage}): ${reason}`));
        if (proposal) previousAttempts.push({ source: proposal.source, rejectedBecause: why });
        events.emit('improvement:attempt-failed', {
          toolName,
          version,
          attempt,
          stage,
          reasons: why,
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
          break;
        }
        const proposal = await rewriter.rewrite({
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
        });
        tokens += proposal?.usage?.totalTokens ?? 0;
        if (!proposal) {
          reject(attempt, 'rewrite', [`the rewriter "${rewriter.name}" had nothing to propose`]);
          break;
        }
        const validation = validator.validate(proposal.source, { name: toolName });
        if (!validation.ok) {
          reject(
            attempt,
            'validate',
            validation.issues.map(
              (issue) => `${issue.code}${issue.line ? ` (line ${issue.line})` : ''}: ${issue.message}`,
            ),
            proposal,
          );
          continue;
        }
        const report = await runner.run(toolName, validation.source, { baselineVersion: version });
        events.emit('regression:completed', { toolName, version, attempt, report });
        if (report.verdict !== 'promote') {
          reject(attempt, 'gate', report.reasons, proposal);
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
        reject(attempt, outcome.stage, outcome.reasons, proposal);
        break;
      }
      await this.#failed(toolName, version, attempts, reasons, tokens);
    } catch (error) {
      reasons.push(`error: ${error instanceof Error ? error.message : String(error)}`);
      await this.#failed(toolName, version, attempts, reasons, tokens, error);
    }
    return false;
  }

  async #failed(
    toolName: string,
    version: number,
    attempts: number,
    reasons: string[],
    tokens: number,
    error?: unknown,
  ): Promise<void> {
    this.#parts.events.emit('improvement:failed', {
      toolName,
      version,
      attempts,
      reasons,
      ...(error === undefined ? {} : { error }),
    });
    this.#parts.logger?.warn?.(`improvement of "${toolName}" v${version} failed`, { reasons });
    await this.#audit(toolName, version, { outcome: 'failed', attempts, tokens, reasons });
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
      const approved = await approve({
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
      });
      if (approved !== true)
        return { stage: 'approval', reasons: ['the approve hook declined the promotion'] };
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
      if (!PromotionConflictError.isInstance(error)) throw error;
      await catalog.refresh(toolName);
      return { stage: 'promotion', reasons: [error.message] };
    }
    catalog.set((await registry.tool(toolName)).description, added);
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
    await this.#audit(toolName, version, { outcome: 'promoted', toVersion: added.version, ...loop });
    return 'promoted';
  }

  async #shadowCall(toolName: string, shadow: Shadow, input: object): Promise<void> {
    const { sandbox, options, storage, instanceId } = this.#parts;
    const active = this.#parts.catalog.get(toolName)?.version;
    const started = performance.now();
    let success = true;
    try {
      const stored: ToolCapabilities = active?.capabilities ?? { network: [] };
      const granted = this.#parts.capabilities ? await this.#parts.capabilities(toolName, stored) : stored;
      await sandbox.run(
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
    } catch {
      success = false;
    }
    shadow.shadowed.push({ success, latencyMs: performance.now() - started });
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
        outcome = {
          stage: 'shadow',
          reasons: [
            `in shadow on ${result.calls} live inputs the candidate failed ${result.candidateFailures} times, the active version ${result.activeFailures}`,
          ],
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
          author: candidate.proposal.author,
        });
        await this.#failed(toolName, baseVersion, candidate.attempt, outcome.reasons, tokens);
      }
    } catch (error) {
      await this.#failed(toolName, baseVersion, candidate.attempt, [String(error)], tokens, error);
    } finally {
      state.improving = false;
      await storage.releaseLease?.(`improve:${toolName}`, instanceId);
    }
  }

  async #checkWatch(
    toolName: string,
    watch: { version: number; previousVersion: number; previousScore: number },
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
      if (!PromotionConflictError.isInstance(error)) throw error;
      await catalog.refresh(toolName);
      return;
    }
    catalog.set(record.description, await registry.version(toolName, watch.previousVersion));
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

import type { TypedEmitter } from '../core/typed-emitter.ts';
import { type EvaluationSource, type Evaluator, judgedCalls } from '../evaluation/evaluator.ts';
import {
  type EvaluatorOptions,
  type ResolvedEvaluatorOptions,
  resolveEvaluatorOptions,
} from '../evaluation/evaluator-options.ts';
import {
  type RollbackBaseline,
  type RollbackDecision,
  sequentialRollbackTest,
} from '../evaluation/rollback-test.ts';
import { PromotionConflictError, ToolPinnedError } from '../registry/registry-errors.ts';
import type { ToolRegistry } from '../registry/tool-registry.ts';
import type { ToolCatalog } from '../runtime/tool-catalog.ts';
import type { AggregatableInvocation } from '../storage/aggregate-invocations.ts';
import type { JsonObject } from '../storage/records.ts';
import { AgentTracing, decisionAttributes } from '../telemetry/agent-tracing.ts';
import { SIA_SPAN_ATTRIBUTES as A, SIA_SPAN_NAMES } from '../telemetry/span-attributes.ts';
import type { ImprovementEvents } from './improvement-events.ts';
import type { ResolvedImprovementOptions } from './improvement-options.ts';
import { toJson } from './to-json.ts';

/** A promoted version under watch. */
export interface Watch {
  /** The promoted version. */
  readonly version: number;
  /** The version it replaced (the rollback target). */
  readonly previousVersion: number;
  /** The replaced version's score when the promotion was decided. */
  readonly previousScore: number;
  /** The replaced version's recent calls, the comparison's baseline. */
  readonly baseline: RollbackBaseline;
  /** Calls of the promoted version counted so far. */
  calls: number;
  /** Whether a check runs now (a later call checks again when it ends). */
  checking: boolean;
  /** Keeps or rollbacks of this watch that failed so far (see {@link MAX_SETTLE_ATTEMPTS}). */
  settleFailures: number;
}

/** How many times a failed keep or rollback (storage) is tried, one call apart, before the watch is dropped. */
export const MAX_SETTLE_ATTEMPTS = 10;

/** What {@link PromotionWatch.check} did. */
export type WatchOutcome = 'watching' | 'kept' | 'rolled-back' | 'pinned' | 'conflict';

/** What the watch works with; the improvement loop builds it. */
export interface PromotionWatchParts {
  /** Scores the promoted version when the watch ends (for `tool:evaluated` and the rollback's evidence). */
  readonly evaluator: Pick<Evaluator, 'evaluate'>;
  /** Where the calls are. */
  readonly memory: EvaluationSource;
  /** Rolls back with compare-and-swap. */
  readonly registry: Pick<ToolRegistry, 'find' | 'rollback' | 'version' | 'tool' | 'storage'>;
  /** Serves the previous version again after a rollback. */
  readonly catalog: Pick<ToolCatalog, 'set' | 'refresh'>;
  /** Where `tool:evaluated`, `tool:kept`, `tool:rolled-back` and `improvement:skipped` go. */
  readonly events: Pick<TypedEmitter<ImprovementEvents>, 'emit'>;
  /** `watchCalls`, `falseRollbackRate`, `rollbackFailureIncrease`, `pinned`. */
  readonly options: Pick<
    ResolvedImprovementOptions,
    'watchCalls' | 'falseRollbackRate' | 'rollbackFailureIncrease' | 'pinned'
  >;
  /** The actor of rollbacks in the audit log. */
  readonly actor: string;
  /**
   * Traces each decision as `sia.keep <tool>` or `sia.rollback <tool>` (with its evidence's
   * numbers and the final evaluation's `sia.evaluate`) under the active span: the call that
   * triggered it.
   * @default new AgentTracing() (the global tracer; a no-op without an OpenTelemetry SDK)
   */
  readonly tracing?: AgentTracing;
}

/**
 * Watches each promoted version over at most `watchCalls` calls with a sequential test against
 * the version it replaced ({@link sequentialRollbackTest}): after each call it rolls the version
 * back (with compare-and-swap, so a change made meanwhile wins) as soon as its failures show it
 * worse, and keeps it when the watch ends without that. Wrong answers reported with
 * `agent.feedback` count as failures. A pinned tool is never rolled back.
 */
export class PromotionWatch {
  readonly #parts: PromotionWatchParts;
  readonly #watches = new Map<string, Watch>();
  readonly #tracing: AgentTracing;

  constructor(parts: PromotionWatchParts) {
    this.#parts = parts;
    this.#tracing = parts.tracing ?? new AgentTracing();
  }

  /** Starts watching `watch.version` of the tool (replacing any earlier watch of it). */
  start(toolName: string, watch: Omit<Watch, 'calls' | 'checking' | 'settleFailures'>): void {
    this.#watches.set(toolName, { ...watch, calls: 0, checking: false, settleFailures: 0 });
  }

  /** The tool's watch, if one runs. */
  get(toolName: string): Watch | undefined {
    return this.#watches.get(toolName);
  }

  /**
   * Counts one call. Returns `undefined` when the call is not of a watched version (the caller
   * evaluates it as usual), `'counted'` while a check of the watch is already running, and the
   * watch when it should be checked now (pass it to {@link PromotionWatch.check}).
   */
  count(toolName: string, version: number): Watch | 'counted' | undefined {
    const watch = this.#watches.get(toolName);
    if (!watch || watch.version !== version) return undefined;
    watch.calls += 1;
    return this.claim(toolName, version);
  }

  /**
   * The watch of `version`, to be checked now (pass it to {@link PromotionWatch.check}), when no
   * check of it runs; `'counted'` while one runs (it checks again when it ends); `undefined`
   * when `version` is not watched. Counts no call: a wrong answer reported with
   * `agent.feedback` claims the watch this way.
   */
  claim(toolName: string, version: number): Watch | 'counted' | undefined {
    const watch = this.#watches.get(toolName);
    if (!watch || watch.version !== version) return undefined;
    if (watch.checking) return 'counted';
    watch.checking = true;
    return watch;
  }

  /**
   * Tests the watched version's calls so far: keeps watching, keeps it (the watch ends), or
   * rolls it back.
   */
  async check(toolName: string, watch: Watch): Promise<WatchOutcome> {
    const { memory, options } = this.#parts;
    try {
      let decision: RollbackDecision;
      let checkedAt: number;
      do {
        checkedAt = watch.calls;
        const calls = await watchedCalls(memory, toolName, watch.version, options.watchCalls);
        decision = sequentialRollbackTest(calls, watch.baseline, {
          failureIncrease: options.rollbackFailureIncrease,
          falseRollbackRate: options.falseRollbackRate,
          maxCalls: options.watchCalls,
        });
        // Calls counted while this check read: check again, so the watch's last call is judged.
      } while (decision.outcome === 'continue' && watch.calls > checkedAt);
      if (decision.outcome === 'continue') return 'watching';
      // The watch stays registered until the outcome is settled: meanwhile the version is not
      // evaluated for a rewrite, and a rollback that failed is tried again on the next call.
      let outcome: WatchOutcome;
      try {
        outcome = await this.#tracing.span(
          decision.outcome === 'keep' ? SIA_SPAN_NAMES.keep : SIA_SPAN_NAMES.rollback,
          toolName,
          {
            [A.toolVersion]: watch.version,
            // As in the audit log: a keep confirms previous → watched, a rollback goes watched → previous.
            [A.fromVersion]: decision.outcome === 'keep' ? watch.previousVersion : watch.version,
            [A.toVersion]: decision.outcome === 'keep' ? watch.version : watch.previousVersion,
            [A.baselineCalls]: watch.baseline.calls,
            [A.baselineFailures]: watch.baseline.failures,
            ...decisionAttributes(decision.evidence),
          },
          async (span) => {
            const outcome =
              decision.outcome === 'keep'
                ? await this.#keep(toolName, watch, decision)
                : await this.#rollBack(toolName, watch, decision);
            span.set({ [A.decisionOutcome]: outcome });
            return outcome;
          },
        );
      } catch (error) {
        this.#settleFailed(toolName, watch, decision, error);
        throw error;
      }
      if (this.#watches.get(toolName) === watch) this.#watches.delete(toolName);
      return outcome;
    } finally {
      watch.checking = false;
    }
  }

  async #keep(toolName: string, watch: Watch, decision: RollbackDecision): Promise<WatchOutcome> {
    const { evaluator, memory, events, registry, actor } = this.#parts;
    const evaluation = await this.#tracing.evaluate(toolName, watch.version, () =>
      evaluator.evaluate(memory, toolName, { version: watch.version }),
    );
    events.emit('tool:evaluated', { toolName, version: watch.version, evaluation });
    // The decision to keep is recorded like the one to roll back (one entry, nothing else changes).
    await registry.storage.appendAudit({
      type: 'tool:kept',
      toolName,
      actor,
      reason: `version ${watch.version} kept after its watch: ${decision.evidence.summary}`,
      fromVersion: watch.previousVersion,
      toVersion: watch.version,
      evidence: toJson({ decision: decision.evidence, evaluation, baseline: watch.baseline }) as JsonObject,
    });
    events.emit('tool:kept', {
      toolName,
      version: watch.version,
      previousVersion: watch.previousVersion,
      evidence: decision.evidence,
    });
    return 'kept';
  }

  async #rollBack(toolName: string, watch: Watch, decision: RollbackDecision): Promise<WatchOutcome> {
    const { evaluator, memory, events, registry, catalog, options, actor } = this.#parts;
    const evaluation = await this.#tracing.evaluate(toolName, watch.version, () =>
      evaluator.evaluate(memory, toolName, { version: watch.version }),
    );
    events.emit('tool:evaluated', { toolName, version: watch.version, evaluation });
    const record = await registry.find(toolName);
    if (!record || record.pinned || options.pinned.includes(toolName)) {
      this.#skipPinned(toolName, watch);
      return 'pinned';
    }
    try {
      await registry.rollback(toolName, {
        to: watch.previousVersion,
        expectedActive: watch.version,
        reason: `version ${watch.version} did worse than version ${watch.previousVersion}: ${decision.evidence.summary}`,
        actor,
        evidence: toJson({
          decision: decision.evidence,
          evaluation,
          previousScore: watch.previousScore,
          baseline: watch.baseline,
        }) as JsonObject,
      });
    } catch (error) {
      if (PromotionConflictError.isInstance(error)) {
        await catalog.refresh(toolName);
        return 'conflict';
      }
      if (ToolPinnedError.isInstance(error)) {
        // Pinned after the check above: the store refused the rollback in its own transaction.
        this.#skipPinned(toolName, watch);
        return 'pinned';
      }
      // The active version tells whether the rollback committed. If not, the version is still
      // active and stays watched, so the next call checks (and rolls back) again.
      if ((await registry.tool(toolName).catch(() => undefined))?.activeVersion !== watch.previousVersion) {
        throw error;
      }
    }
    // Committed: serve the previous version; a failed read leaves it to the next catalog refresh.
    const previous = await registry.version(toolName, watch.previousVersion).catch(() => undefined);
    if (previous) catalog.set(record.description, previous);
    events.emit('tool:rolled-back', {
      toolName,
      fromVersion: watch.version,
      toVersion: watch.previousVersion,
      evaluation,
      previousScore: watch.previousScore,
      evidence: decision.evidence,
    });
    return 'rolled-back';
  }

  /**
   * A keep or rollback that failed (storage): tried again on the next call, at most
   * {@link MAX_SETTLE_ATTEMPTS} times; then the watch is dropped and said so, so the version is
   * evaluated (and may be rewritten) as usual instead of being watched for ever.
   */
  #settleFailed(toolName: string, watch: Watch, decision: RollbackDecision, error: unknown): void {
    watch.settleFailures += 1;
    if (watch.settleFailures < MAX_SETTLE_ATTEMPTS) return;
    if (this.#watches.get(toolName) === watch) this.#watches.delete(toolName);
    const message = error instanceof Error ? error.message : String(error);
    this.#parts.events.emit('improvement:skipped', {
      toolName,
      version: watch.version,
      reason: 'watch-failed',
      detail: `the watch could not ${decision.outcome === 'keep' ? 'record keeping' : 'roll back'} version ${watch.version} in ${watch.settleFailures} attempts (${message.length > 200 ? `${message.slice(0, 199)}…` : message}); it stays active and is evaluated as usual`,
    });
  }

  #skipPinned(toolName: string, watch: Watch): void {
    this.#parts.events.emit('improvement:skipped', {
      toolName,
      version: watch.version,
      reason: 'pinned',
      detail: 'the promoted version did worse, but the tool is pinned: not rolled back',
    });
  }
}

/**
 * The watch evaluator's options: the loop evaluator's settings (its `options` when it has them,
 * as `Evaluator` does; the defaults otherwise) over a window of `watchCalls`. Thresholds larger
 * than that window are lowered to it (they could never be met otherwise).
 */
export function watchEvaluatorOptions(evaluator: object, watchCalls: number): EvaluatorOptions {
  const own = (evaluator as { options?: unknown }).options;
  const options =
    typeof own === 'object' && own !== null && 'weights' in own
      ? (own as ResolvedEvaluatorOptions)
      : resolveEvaluatorOptions({});
  return {
    ...options,
    window: watchCalls,
    minInvocations: Math.min(options.minInvocations, watchCalls),
    degradation:
      options.degradation === false
        ? false
        : {
            ...options.degradation,
            minBaselineInvocations: Math.min(options.degradation.minBaselineInvocations, watchCalls),
          },
  };
}

/**
 * The watched version's calls, newest first, at most `limit`, with wrong answers
 * (`agent.feedback`) as failures; from `calls()` (or `recent()`) when the source has it, else
 * from a summary's counts.
 */
async function watchedCalls(
  memory: EvaluationSource,
  toolName: string,
  version: number,
  limit: number,
): Promise<readonly AggregatableInvocation[]> {
  const judged = await judgedCalls(memory, toolName, { version, limit });
  if (judged !== undefined) return judged;
  const summary = await memory.summary(toolName, { version, window: limit });
  return Array.from({ length: summary.invocations }, (_, index) => ({
    startedAt: 0,
    latencyMs: 0,
    success: index >= summary.failures,
  }));
}

/**
 * The replaced version's recent calls (at most `limit`, 100 by default), as the watch's
 * baseline, read when the promotion happens.
 */
export async function rollbackBaseline(
  memory: EvaluationSource,
  toolName: string,
  version: number,
  limit = 100,
): Promise<RollbackBaseline> {
  const calls = await watchedCalls(memory, toolName, version, limit);
  return { calls: calls.length, failures: calls.filter((call) => !call.success).length };
}

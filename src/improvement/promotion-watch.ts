import type { TypedEmitter } from '../core/typed-emitter.ts';
import type { EvaluationSource, Evaluator } from '../evaluation/evaluator.ts';
import {
  type EvaluatorOptions,
  type ResolvedEvaluatorOptions,
  resolveEvaluatorOptions,
} from '../evaluation/evaluator-options.ts';
import { PromotionConflictError, ToolPinnedError } from '../registry/registry-errors.ts';
import type { ToolRegistry } from '../registry/tool-registry.ts';
import type { ToolCatalog } from '../runtime/tool-catalog.ts';
import type { JsonObject } from '../storage/records.ts';
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
  /** Calls of the promoted version counted so far. */
  calls: number;
}

/** What {@link PromotionWatch.check} did. */
export type WatchOutcome = 'kept' | 'rolled-back' | 'pinned' | 'conflict';

/** What the watch works with; the improvement loop builds it. */
export interface PromotionWatchParts {
  /** Scores the promoted version over its watch window. */
  readonly evaluator: Pick<Evaluator, 'evaluate'>;
  /** Where the calls are. */
  readonly memory: EvaluationSource;
  /** Rolls back with compare-and-swap. */
  readonly registry: Pick<ToolRegistry, 'find' | 'rollback' | 'version' | 'tool'>;
  /** Serves the previous version again after a rollback. */
  readonly catalog: Pick<ToolCatalog, 'set' | 'refresh'>;
  /** Where `tool:evaluated`, `tool:rolled-back` and `improvement:skipped` go. */
  readonly events: Pick<TypedEmitter<ImprovementEvents>, 'emit'>;
  /** `watchCalls`, `rollbackMargin`, `pinned`. */
  readonly options: Pick<ResolvedImprovementOptions, 'watchCalls' | 'rollbackMargin' | 'pinned'>;
  /** The actor of rollbacks in the audit log. */
  readonly actor: string;
}

/**
 * Watches each promoted version over its next `watchCalls` calls and rolls it back (with
 * compare-and-swap, so a change made meanwhile wins) when it scores lower than the version it
 * replaced by more than `rollbackMargin`. A pinned tool is never rolled back.
 */
export class PromotionWatch {
  readonly #parts: PromotionWatchParts;
  readonly #watches = new Map<string, Watch>();

  constructor(parts: PromotionWatchParts) {
    this.#parts = parts;
  }

  /** Starts watching `watch.version` of the tool (replacing any earlier watch of it). */
  start(toolName: string, watch: Omit<Watch, 'calls'>): void {
    this.#watches.set(toolName, { ...watch, calls: 0 });
  }

  /** The tool's watch, if one runs. */
  get(toolName: string): Watch | undefined {
    return this.#watches.get(toolName);
  }

  /**
   * Counts one call. Returns `undefined` when the call is not of a watched version (the caller
   * evaluates it as usual), `'counted'` while the watch goes on, and the finished watch when
   * this call completed it (it is no longer watched: pass it to {@link PromotionWatch.check}).
   */
  count(toolName: string, version: number): Watch | 'counted' | undefined {
    const watch = this.#watches.get(toolName);
    if (!watch || watch.version !== version) return undefined;
    watch.calls += 1;
    if (watch.calls < this.#parts.options.watchCalls) return 'counted';
    this.#watches.delete(toolName);
    return watch;
  }

  /** Scores a finished watch and rolls the version back when it did worse. */
  async check(toolName: string, watch: Watch): Promise<WatchOutcome> {
    const { evaluator, memory, events, registry, catalog, options, actor } = this.#parts;
    const evaluation = await evaluator.evaluate(memory, toolName, { version: watch.version });
    events.emit('tool:evaluated', { toolName, version: watch.version, evaluation });
    if (evaluation.score >= watch.previousScore - options.rollbackMargin) return 'kept';
    const record = await registry.find(toolName);
    if (!record || record.pinned || options.pinned.includes(toolName)) {
      this.#skipPinned(toolName, watch);
      return 'pinned';
    }
    try {
      await registry.rollback(toolName, {
        to: watch.previousVersion,
        expectedActive: watch.version,
        reason: `version ${watch.version} scored ${evaluation.score.toFixed(3)} over ${evaluation.summary.invocations} calls, below the replaced version's ${watch.previousScore.toFixed(3)} by more than ${options.rollbackMargin}`,
        actor,
        evidence: toJson({ evaluation, previousScore: watch.previousScore }) as JsonObject,
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
      // active and stays watched, so the check runs again.
      if ((await registry.tool(toolName).catch(() => undefined))?.activeVersion !== watch.previousVersion) {
        if (!this.#watches.has(toolName)) this.#watches.set(toolName, { ...watch, calls: 0 });
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
      rollbackMargin: options.rollbackMargin,
    });
    return 'rolled-back';
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

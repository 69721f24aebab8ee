import type { Evaluation } from '../evaluation/evaluation.ts';
import { type CallOutcome, type ShadowVerdict, shadowGate } from '../regression/shadow-gate.ts';
import type { ToolCatalog } from '../runtime/tool-catalog.ts';
import type { ToolRuntime } from '../runtime/tool-runtime.ts';
import type { ImprovementCandidate } from './improve-version.ts';

/** A candidate that passed the regression gate, waiting for its shadow verdict. */
export interface ShadowRun {
  /** The active version it would replace. */
  readonly baseVersion: number;
  /** The evaluation that started the improvement. */
  readonly evaluation: Evaluation;
  /** The gated candidate. */
  readonly candidate: ImprovementCandidate;
  /** Model tokens the improvement spent so far. */
  readonly tokens: number;
}

/** What the shadow phase works with; the improvement loop builds it. */
export interface ShadowPhaseParts {
  /** Runs the candidate in the sandbox with the app's grant and secrets, recording nothing. */
  readonly runtime: Pick<ToolRuntime, 'run'>;
  /** The served version, whose capabilities and output schema the candidate gets. */
  readonly catalog: Pick<ToolCatalog, 'get'>;
  /** Live inputs per candidate. */
  readonly calls: number;
}

interface Phase {
  readonly run: ShadowRun;
  readonly active: CallOutcome[];
  readonly shadowed: CallOutcome[];
}

/**
 * The shadow phase of an improvement: a candidate that passed the gate runs beside the active
 * version on the next `calls` live inputs (its results are never returned to anyone), with the
 * served version's capabilities; a refused network target counts as a failure even when the
 * candidate caught it. When the last shadow call ends, {@link shadowGate} decides.
 */
export class ShadowPhase {
  readonly #parts: ShadowPhaseParts;
  readonly #phases = new Map<string, Phase>();

  constructor(parts: ShadowPhaseParts) {
    this.#parts = parts;
  }

  /** Starts shadowing `run.candidate` for the tool. */
  start(toolName: string, run: ShadowRun): void {
    this.#phases.set(toolName, { run, active: [], shadowed: [] });
  }

  /**
   * Counts one live call of the tool. When it is a call of the shadowed version and the phase
   * still needs inputs, runs the candidate on the same input and returns that work: it resolves
   * with the verdict when this was the last shadow call, else with `undefined`.
   */
  observe(
    toolName: string,
    version: number,
    input: object,
    outcome: CallOutcome,
  ): Promise<{ run: ShadowRun; verdict: ShadowVerdict } | undefined> | undefined {
    const phase = this.#phases.get(toolName);
    if (!phase || phase.run.baseVersion !== version || phase.active.length >= this.#parts.calls)
      return undefined;
    phase.active.push(outcome);
    return this.#shadowCall(toolName, phase, input);
  }

  async #shadowCall(
    toolName: string,
    phase: Phase,
    input: object,
  ): Promise<{ run: ShadowRun; verdict: ShadowVerdict } | undefined> {
    const served = this.#parts.catalog.get(toolName);
    const capabilities = served?.version.capabilities ?? { network: [] };
    const outcome = await this.#parts.runtime.run(toolName, input, {
      source: phase.run.candidate.source,
      capabilities,
      // The candidate keeps the served version's output schema: a result it refuses is a failure.
      outputSchema: served?.outputSchema,
    });
    // A candidate that was refused a capability failed this call even if it caught the error.
    const denied = outcome.denials[0]?.target;
    const success = outcome.failure === undefined && outcome.denials.length === 0;
    phase.shadowed.push({
      success,
      // The candidate's first shadow call builds its QuickJS instance: start-up, not latency.
      latencyMs: outcome.latencyMs,
      ...(denied === undefined ? {} : { denied }),
    });
    if (phase.shadowed.length < this.#parts.calls || this.#phases.get(toolName) !== phase) return undefined;
    this.#phases.delete(toolName);
    return { run: phase.run, verdict: shadowGate(phase.active, phase.shadowed) };
  }
}

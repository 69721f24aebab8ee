import type { ToolRecord } from '../storage/records.ts';
import type { SkipReason } from './improvement-events.ts';
import type { ResolvedImprovementOptions } from './improvement-options.ts';

/** Why an improvement must not start now, in words, with its {@link SkipReason}. */
export interface ImprovementSkip {
  readonly reason: SkipReason;
  readonly detail: string;
}

/** What this process knows about a tool without reading storage. */
export interface LocalToolState {
  /** An improvement of the tool runs in this process. */
  readonly improving: boolean;
  /** The promoted version still being watched, or `null`. */
  readonly watchingVersion: number | null;
  /** The version this process serves now (`undefined` when it does not serve the tool). */
  readonly servedVersion: number | undefined;
  /** When an improvement last ended without any candidate (not counted against the cap). */
  readonly noCandidateAt: number | null;
}

/** What storage says about a tool, read after the local checks passed. */
export interface StoredToolFacts {
  /** The tool's record; `undefined` when it no longer exists. */
  readonly record: ToolRecord | undefined;
  /**
   * Improvements that count against the cap, since the last reset; read only when
   * {@link needsImprovementCount} says so (otherwise `undefined`).
   */
  readonly improvementsUsed?: number;
  /** Tokens spent on improvements today; read only when a daily budget is set. */
  readonly tokensSpentToday?: number;
}

/** The options the policy reads. */
export type ImprovementPolicyOptions = Pick<
  ResolvedImprovementOptions,
  'pinned' | 'maxRewritesPerTool' | 'cooldownMs' | 'maxTokensPerDay'
>;

/**
 * The guards checked before an improvement of `version`, from what this process knows alone
 * (no storage read): one improvement of a tool at a time, none while a promotion is watched,
 * and only of the version being served. Pure.
 */
export function checkLocalGuards(version: number, state: LocalToolState): ImprovementSkip | null {
  if (state.improving) return { reason: 'busy', detail: 'an improvement of this tool is already running' };
  if (state.watchingVersion !== null) {
    return { reason: 'watching', detail: `version ${state.watchingVersion} is still being watched` };
  }
  if (state.servedVersion !== version) {
    return { reason: 'not-active', detail: `version ${version} is no longer the active version` };
  }
  return null;
}

/**
 * Whether the cap check needs the count of improvements since the last reset (a read of the
 * audit log): only once the stored counter alone reaches the cap.
 */
export function needsImprovementCount(
  record: ToolRecord | undefined,
  options: ImprovementPolicyOptions,
): boolean {
  return record !== undefined && record.counters.rewrites >= options.maxRewritesPerTool;
}

/**
 * The guards checked against storage, in order: the tool still exists with `version` active,
 * it is not pinned (in storage or by `improvement.pinned`), the cap of improvements is not
 * reached, the cool-down since the last improvement (or the last one that found nothing) is
 * over, and the daily token budget is not spent. Pure: `now` is the clock.
 */
export function checkStoredGuards(
  toolName: string,
  version: number,
  facts: StoredToolFacts,
  state: Pick<LocalToolState, 'noCandidateAt'>,
  options: ImprovementPolicyOptions,
  now: number,
): ImprovementSkip | null {
  const { record } = facts;
  if (!record) return { reason: 'not-active', detail: 'the tool no longer exists' };
  if (record.activeVersion !== version) {
    return { reason: 'not-active', detail: `version ${record.activeVersion} is active now, not ${version}` };
  }
  if (record.pinned || options.pinned.includes(toolName)) {
    return { reason: 'pinned', detail: `"${toolName}" is pinned` };
  }
  const used = facts.improvementsUsed;
  if (used !== undefined && used >= options.maxRewritesPerTool) {
    return {
      reason: 'cap',
      detail: `${used} improvements with a candidate already (maxRewritesPerTool ${options.maxRewritesPerTool}); reset with registry.resetImprovements("${toolName}") or sia improvements reset ${toolName}`,
    };
  }
  if (state.noCandidateAt !== null && now - state.noCandidateAt < options.cooldownMs) {
    return {
      reason: 'cooldown',
      detail: `the last improvement ${now - state.noCandidateAt} ms ago found nothing to propose (cooldownMs ${options.cooldownMs})`,
    };
  }
  const last = record.counters.lastRewriteAt;
  if (last !== null && now - last < options.cooldownMs) {
    return {
      reason: 'cooldown',
      detail: `last improvement ${now - last} ms ago (cooldownMs ${options.cooldownMs})`,
    };
  }
  const spent = facts.tokensSpentToday;
  if (options.maxTokensPerDay !== undefined && spent !== undefined && spent >= options.maxTokensPerDay) {
    return {
      reason: 'budget',
      detail: `${spent} tokens spent today (maxTokensPerDay ${options.maxTokensPerDay})`,
    };
  }
  return null;
}

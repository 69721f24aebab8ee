import { InvalidValueError, type InvalidValueInit } from '../core/invalid-value-error.ts';
import { SiaError } from '../core/sia-error.ts';

const promotionConflictMarker = Symbol.for('self-improving-agent.error.PromotionConflictError');
const toolPinnedMarker = Symbol.for('self-improving-agent.error.ToolPinnedError');
const invalidToolMarker = Symbol.for('self-improving-agent.error.InvalidToolError');
const rollbackUnavailableMarker = Symbol.for('self-improving-agent.error.RollbackUnavailableError');

/**
 * Thrown by `promote` and `rollback` when the active version is no longer the one the caller
 * based its decision on: another process (or call) changed it first. Nothing was changed.
 * Re-read the active version, re-evaluate, and try again if it still makes sense.
 */
export class PromotionConflictError extends SiaError {
  readonly [promotionConflictMarker] = true;
  /** The tool. */
  readonly toolName: string;
  /** The active version the caller expected. */
  readonly expectedActive: number;
  /** The active version actually found. */
  readonly actualActive: number;
  /** The version the caller wanted to make active. */
  readonly requested: number;

  constructor({
    toolName,
    expectedActive,
    actualActive,
    requested,
  }: {
    readonly toolName: string;
    readonly expectedActive: number;
    readonly actualActive: number;
    readonly requested: number;
  }) {
    super({
      code: 'PROMOTION_CONFLICT',
      message: `Cannot make version ${requested} of "${toolName}" active: expected version ${expectedActive} to be active, but version ${actualActive} is (someone else changed it first). Nothing was changed; re-read the active version and decide again.`,
    });
    this.name = 'PromotionConflictError';
    this.toolName = toolName;
    this.expectedActive = expectedActive;
    this.actualActive = actualActive;
    this.requested = requested;
  }

  /** True when `error` is a {@link PromotionConflictError} (from any copy of the package). */
  static override isInstance(error: unknown): error is PromotionConflictError {
    return SiaError.hasMarker(error, promotionConflictMarker);
  }
}

/**
 * Thrown when an automatic change (promotion or rollback) is attempted on a pinned tool.
 * Unpin the tool, or make the change as a person (`automatic: false`).
 */
export class ToolPinnedError extends SiaError {
  readonly [toolPinnedMarker] = true;
  /** The pinned tool. */
  readonly toolName: string;
  /** What was attempted: `promote` or `rollback`. */
  readonly operation: 'promote' | 'rollback';

  constructor(toolName: string, operation: 'promote' | 'rollback') {
    super({
      code: 'TOOL_PINNED',
      message: `Tool "${toolName}" is pinned, so it cannot be changed automatically (${operation}). Unpin it with registry.unpin("${toolName}"), or pass { automatic: false } for a change made by a person.`,
    });
    this.name = 'ToolPinnedError';
    this.toolName = toolName;
    this.operation = operation;
  }

  /** True when `error` is a {@link ToolPinnedError} (from any copy of the package). */
  static override isInstance(error: unknown): error is ToolPinnedError {
    return SiaError.hasMarker(error, toolPinnedMarker);
  }
}

/**
 * Thrown when a tool definition or a registry argument is invalid. Names the field by its path
 * (`examples[2].input`), what was expected and what was received. Nothing was written.
 */
export class InvalidToolError extends InvalidValueError {
  readonly [invalidToolMarker] = true;

  constructor({ field, expected, value, cause }: InvalidValueInit) {
    super({
      code: 'INVALID_TOOL',
      field,
      expected,
      value,
      cause,
      label: 'Invalid',
      remedy: `Fix "${field}"; nothing was written.`,
    });
    this.name = 'InvalidToolError';
  }

  /** True when `error` is an {@link InvalidToolError} (from any copy of the package). */
  static override isInstance(error: unknown): error is InvalidToolError {
    return SiaError.hasMarker(error, invalidToolMarker);
  }
}

/** Thrown by `rollback` when there is no earlier version to go back to. */
export class RollbackUnavailableError extends SiaError {
  readonly [rollbackUnavailableMarker] = true;
  /** The tool. */
  readonly toolName: string;

  constructor(toolName: string, detail: string) {
    super({
      code: 'ROLLBACK_UNAVAILABLE',
      message: `Cannot roll back "${toolName}": ${detail}. Choose the version explicitly: registry.rollback("${toolName}", { to: <version>, … }).`,
    });
    this.name = 'RollbackUnavailableError';
    this.toolName = toolName;
  }

  /** True when `error` is a {@link RollbackUnavailableError} (from any copy of the package). */
  static override isInstance(error: unknown): error is RollbackUnavailableError {
    return SiaError.hasMarker(error, rollbackUnavailableMarker);
  }
}

import { InvalidValueError, type InvalidValueInit } from '../core/invalid-value-error.ts';
import { SiaError } from '../core/sia-error.ts';
import type { ToolKind } from '../storage/records.ts';

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

const toolKindMismatchMarker = Symbol.for('self-improving-agent.error.ToolKindMismatchError');
const storageCapabilityMissingMarker = Symbol.for('self-improving-agent.error.StorageCapabilityMissingError');

/**
 * Thrown when a tool of one kind is asked for what only the other kind can do: registering a
 * host tool under the name of a sandboxed one (`registry.registerHostTool`), or adding a
 * rewritten source to a host tool (`registry.addCandidate`: host versions have no source and
 * are never rewritten). Nothing was written.
 */
export class ToolKindMismatchError extends SiaError {
  readonly [toolKindMismatchMarker] = true;
  /** The tool. */
  readonly toolName: string;
  /** The kind the stored tool has. */
  readonly kind: ToolKind;
  /** What was attempted: `register-host-tool` or `add-candidate`. */
  readonly operation: 'register-host-tool' | 'add-candidate';

  constructor({
    toolName,
    kind,
    operation,
  }: {
    readonly toolName: string;
    readonly kind: ToolKind;
    readonly operation: 'register-host-tool' | 'add-candidate';
  }) {
    super({
      code: 'TOOL_KIND_MISMATCH',
      message:
        operation === 'register-host-tool'
          ? `Cannot register "${toolName}" as a host tool: the name is taken by a ${kind} tool (its versions are sandboxed source). Pick another name for the host tool. Nothing was written.`
          : `Cannot add a candidate version to "${toolName}": it is a ${kind} tool (the app's own function, measured only), so it has no source to rewrite. Ship a new release of the app's function instead; it is registered under its version label. Nothing was written.`,
    });
    this.name = 'ToolKindMismatchError';
    this.toolName = toolName;
    this.kind = kind;
    this.operation = operation;
  }

  /** True when `error` is a {@link ToolKindMismatchError} (from any copy of the package). */
  static override isInstance(error: unknown): error is ToolKindMismatchError {
    return SiaError.hasMarker(error, toolKindMismatchMarker);
  }
}

/**
 * Thrown when a change needs an optional storage method the storage adapter does not have, e.g.
 * `setDisabled` (adapters written for an older contract). Nothing was written.
 */
export class StorageCapabilityMissingError extends SiaError {
  readonly [storageCapabilityMissingMarker] = true;
  /** The adapter's `name`. */
  readonly storage: string;
  /** The missing method, e.g. `setDisabled`. */
  readonly capability: string;

  constructor({ storage, capability }: { readonly storage: string; readonly capability: string }) {
    super({
      code: 'STORAGE_CAPABILITY_MISSING',
      message: `The storage "${storage}" has no ${capability}(), which this change needs. Use a built-in adapter (memoryStorage, sqlJsStorage, nodeSqliteStorage, postgresStorage) or add ${capability} to the adapter (runStorageContract checks it). Nothing was written.`,
    });
    this.name = 'StorageCapabilityMissingError';
    this.storage = storage;
    this.capability = capability;
  }

  /** True when `error` is a {@link StorageCapabilityMissingError} (from any copy of the package). */
  static override isInstance(error: unknown): error is StorageCapabilityMissingError {
    return SiaError.hasMarker(error, storageCapabilityMissingMarker);
  }
}

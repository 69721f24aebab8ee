const baseMarker = Symbol.for('self-improving-agent.error');

/** Options accepted by {@link SiaError} and its subclasses. */
export interface SiaErrorOptions {
  /** Stable, machine-readable code, e.g. `TIMEOUT` or `STORAGE_LOCKED`. */
  code: string;
  /** Human-readable message. It should say what happened and what to do next. */
  message: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/**
 * Base class of every error this library throws.
 *
 * Check errors with the static `isInstance` methods rather than `instanceof`: they use
 * a marker symbol registered with `Symbol.for`, so they also work when two copies of the
 * package end up in one `node_modules` tree.
 *
 * @example
 * ```ts
 * try {
 *   await sandbox.run({ source, entry: 'add' }, { a: 1, b: 2 });
 * } catch (error) {
 *   if (SiaError.isInstance(error)) report(error.code);
 * }
 * ```
 */
export class SiaError extends Error {
  /** Stable, machine-readable code. */
  readonly code: string;
  readonly [baseMarker] = true;

  constructor({ code, message, cause }: SiaErrorOptions) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SiaError';
    this.code = code;
  }

  /** True when `error` is an error thrown by this library (from any copy of the package). */
  static isInstance(error: unknown): error is SiaError {
    return SiaError.hasMarker(error, baseMarker);
  }

  /**
   * True when `error` carries `marker`. Subclasses pass their own `Symbol.for(...)` marker
   * to implement their `isInstance`.
   */
  protected static hasMarker(error: unknown, marker: symbol): boolean {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}

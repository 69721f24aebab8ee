import { InvalidValueError, type InvalidValueInit } from './invalid-value-error.ts';
import { SiaError } from './sia-error.ts';

const marker = Symbol.for('self-improving-agent.error.InvalidOptionError');

/**
 * Thrown at construction (or call) time when an option or argument is invalid. Names the option
 * by its path (e.g. `network.timeoutMs`) in `field`, what was expected and what was received.
 */
export class InvalidOptionError extends InvalidValueError {
  readonly [marker] = true;

  constructor({ field, expected, value, cause }: InvalidValueInit) {
    super({
      code: 'INVALID_OPTION',
      field,
      expected,
      value,
      label: 'Invalid option',
      remedy: `Fix the value passed as "${field}".`,
      cause,
    });
    this.name = 'InvalidOptionError';
  }

  /**
   * Path of the offending option, e.g. `batch.maxRecords`.
   * @deprecated Use `field`, the name every invalid-value error shares.
   */
  get option(): string {
    return this.field;
  }

  /** True when `error` is an {@link InvalidOptionError} (from any copy of the package). */
  static override isInstance(error: unknown): error is InvalidOptionError {
    return SiaError.hasMarker(error, marker);
  }
}

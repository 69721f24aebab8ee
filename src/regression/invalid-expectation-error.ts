import { describeValue } from '../core/invalid-option-error.ts';
import { SiaError } from '../core/sia-error.ts';

const marker = Symbol.for('self-improving-agent.error.InvalidExpectationError');

/**
 * Thrown by `parseExpectation` (and so by `addCase`) when a regression case's expectation is
 * not valid. Names the field path (e.g. `expect.approx.relTol`), what is allowed, and the value.
 */
export class InvalidExpectationError extends SiaError {
  readonly [marker] = true;
  /** Path of the offending field, e.g. `expect.schema`. */
  readonly field: string;
  /** The value that was received. */
  readonly value: unknown;

  constructor(field: string, expected: string, value: unknown) {
    super({
      code: 'INVALID_EXPECTATION',
      message: `Invalid expectation "${field}": expected ${expected}, received ${describeValue(value)}. An expectation is an object with one or more of type, schema, equals, approx and matchesBaseline (all must hold); fix "${field}".`,
    });
    this.name = 'InvalidExpectationError';
    this.field = field;
    this.value = value;
  }

  /** True when `error` is an {@link InvalidExpectationError} (from any copy of the package). */
  static override isInstance(error: unknown): error is InvalidExpectationError {
    return SiaError.hasMarker(error, marker);
  }
}

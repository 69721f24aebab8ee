import { describeValue } from '../core/invalid-option-error.ts';
import { SiaError } from '../core/sia-error.ts';

const invalidCaseMarker = Symbol.for('self-improving-agent.error.InvalidTestCaseError');

/**
 * Thrown when a regression case is invalid: its input is not a JSON object, it has no
 * expectation, or an option is malformed. Names the field and the value; nothing was written.
 */
export class InvalidTestCaseError extends SiaError {
  readonly [invalidCaseMarker] = true;
  /** Path of the offending field, e.g. `case.input`. */
  readonly field: string;
  /** The value that was received. */
  readonly value: unknown;

  constructor(field: string, expected: string, value: unknown) {
    super({
      code: 'INVALID_TEST_CASE',
      message: `Invalid test case field "${field}": expected ${expected}, received ${describeValue(value)}. Fix the case; nothing was written.`,
    });
    this.name = 'InvalidTestCaseError';
    this.field = field;
    this.value = value;
  }

  /** True when `error` is an {@link InvalidTestCaseError} (from any copy of the package). */
  static override isInstance(error: unknown): error is InvalidTestCaseError {
    return SiaError.hasMarker(error, invalidCaseMarker);
  }
}

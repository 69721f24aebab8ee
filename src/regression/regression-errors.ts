import { InvalidValueError, type InvalidValueInit } from '../core/invalid-value-error.ts';
import { SiaError } from '../core/sia-error.ts';

const invalidCaseMarker = Symbol.for('self-improving-agent.error.InvalidTestCaseError');
const invalidExpectationMarker = Symbol.for('self-improving-agent.error.InvalidExpectationError');

/**
 * Thrown when a regression case is invalid: its input is not a JSON object, it has no
 * expectation, or an option is malformed. Names the field and the value; nothing was written.
 */
export class InvalidTestCaseError extends InvalidValueError {
  readonly [invalidCaseMarker] = true;

  constructor({ field, expected, value, cause }: InvalidValueInit) {
    super({
      code: 'INVALID_TEST_CASE',
      field,
      expected,
      value,
      label: 'Invalid test case field',
      remedy: 'Fix the case; nothing was written.',
      cause,
    });
    this.name = 'InvalidTestCaseError';
  }

  /** True when `error` is an {@link InvalidTestCaseError} (from any copy of the package). */
  static override isInstance(error: unknown): error is InvalidTestCaseError {
    return SiaError.hasMarker(error, invalidCaseMarker);
  }
}

/**
 * Thrown by `parseExpectation` (and so by `addCase`) when a regression case's expectation is
 * not valid. Names the field path (e.g. `expect.approx.relTol`), what is allowed, and the value.
 */
export class InvalidExpectationError extends InvalidValueError {
  readonly [invalidExpectationMarker] = true;

  constructor({ field, expected, value, cause }: InvalidValueInit) {
    super({
      code: 'INVALID_EXPECTATION',
      field,
      expected,
      value,
      label: 'Invalid expectation',
      remedy: `An expectation is an object with one or more of type, schema, equals, approx and matchesBaseline (all must hold); fix "${field}".`,
      cause,
    });
    this.name = 'InvalidExpectationError';
  }

  /** True when `error` is an {@link InvalidExpectationError} (from any copy of the package). */
  static override isInstance(error: unknown): error is InvalidExpectationError {
    return SiaError.hasMarker(error, invalidExpectationMarker);
  }
}

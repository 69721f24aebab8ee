import { InvalidValueError, type InvalidValueInit } from '../core/invalid-value-error.ts';
import { SiaError } from '../core/sia-error.ts';

const invalidFeedbackMarker = Symbol.for('self-improving-agent.error.InvalidFeedbackError');
const unknownCallMarker = Symbol.for('self-improving-agent.error.UnknownCallError');

/**
 * Thrown by `agent.feedback()` for a field that is missing or invalid: `field` names it
 * (`correct`, `callId`, `input.items[2]`, …), `expected` says what it must be. Nothing was
 * counted or written. App text that may quote a secret (`note`, `expected`, `input`) is never
 * repeated in the error: `value` then only says what kind of value it was.
 */
export class InvalidFeedbackError extends InvalidValueError {
  readonly [invalidFeedbackMarker] = true;

  constructor({ field, expected, value, cause }: InvalidValueInit) {
    super({
      code: 'INVALID_FEEDBACK',
      field,
      expected,
      value,
      label: 'Invalid feedback field',
      remedy: `Fix "${field}" and call feedback() again; nothing was recorded.`,
      cause,
    });
    this.name = 'InvalidFeedbackError';
  }

  /** True when `error` is an {@link InvalidFeedbackError} (from any copy of the package). */
  static override isInstance(error: unknown): error is InvalidFeedbackError {
    return SiaError.hasMarker(error, invalidFeedbackMarker);
  }
}

/**
 * Thrown by `agent.feedback({ callId, … })` when the call id names a tool or a version the
 * registry does not have (a call id from another store, or a forged one). Nothing was counted or
 * written. Pass `{ toolName, version, input, correct }` instead to give feedback by input.
 */
export class UnknownCallError extends SiaError {
  readonly [unknownCallMarker] = true;
  /** The call id given. */
  readonly callId: string;

  constructor(callId: string, problem: string) {
    super({
      code: 'UNKNOWN_CALL',
      message: `No call ${JSON.stringify(callId)} is known: ${problem}. Nothing was recorded; give feedback by input instead: agent.feedback({ toolName, version, input, correct, expected }).`,
    });
    this.name = 'UnknownCallError';
    this.callId = callId;
  }

  /** True when `error` is an {@link UnknownCallError} (from any copy of the package). */
  static override isInstance(error: unknown): error is UnknownCallError {
    return SiaError.hasMarker(error, unknownCallMarker);
  }
}

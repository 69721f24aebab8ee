import { SiaError } from './sia-error.ts';

const marker = Symbol.for('self-improving-agent.error.InvalidValueError');

/**
 * What the invalid-value errors are constructed with: `new InvalidOptionError({ field,
 * expected, value })`, and the same for `InvalidToolError`, `InvalidTestCaseError`,
 * `InvalidExpectationError` and `StorageInputError`.
 */
export interface InvalidValueInit {
  /** Path of the offending value, e.g. `batch.maxRecords` or `examples[2].input`. */
  readonly field: string;
  /** What was expected, as a phrase: `an integer ≥ 1`. */
  readonly expected: string;
  /** The value that was received. */
  readonly value: unknown;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/** Options of the {@link InvalidValueError} constructor (used by its subclasses). */
export interface InvalidValueErrorOptions {
  /** The subclass's stable code, e.g. `INVALID_OPTION`. */
  readonly code: string;
  /** Path of the offending value, e.g. `batch.maxRecords` or `examples[2].input`. */
  readonly field: string;
  /** What was expected, as a phrase: `an integer ≥ 1`. */
  readonly expected: string;
  /** The value that was received. */
  readonly value: unknown;
  /** How the message opens, before the quoted field: `Invalid option`. */
  readonly label: string;
  /** What to do next, the message's last sentence: `Fix the value passed as "window".` */
  readonly remedy: string;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/**
 * Base class of the errors thrown for one invalid value (an option, a test case field, an
 * expectation, a tool definition field, a storage input): it names the field by its path, what
 * was expected and what was received, and says what to do. Nothing was written or started.
 *
 * Branch on the subclass (`InvalidOptionError.isInstance`, …) or on `code` when the kind
 * matters, or on `InvalidValueError.isInstance` to catch them all.
 *
 * @example
 * ```ts
 * function problemOf(error: unknown): string | undefined {
 *   return InvalidValueError.isInstance(error) ? `${error.field}: expected ${error.expected}` : undefined;
 * }
 * ```
 */
export class InvalidValueError extends SiaError {
  readonly [marker] = true;
  /** Path of the offending value, e.g. `batch.maxRecords`. */
  readonly field: string;
  /** What was expected, as a phrase, e.g. `an integer ≥ 1`. */
  readonly expected: string;
  /** The value that was received. */
  readonly value: unknown;

  constructor({ code, field, expected, value, label, remedy, cause }: InvalidValueErrorOptions) {
    super({
      code,
      message: `${label} "${field}": expected ${expected}, received ${describeValue(value)}. ${remedy}`,
      cause,
    });
    this.name = 'InvalidValueError';
    this.field = field;
    this.expected = expected;
    this.value = value;
  }

  /** True when `error` is an {@link InvalidValueError} of any kind (from any copy of the package). */
  static override isInstance(error: unknown): error is InvalidValueError {
    return SiaError.hasMarker(error, marker);
  }
}

/** A short, safe rendering of any value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return 'an object';
  }
}

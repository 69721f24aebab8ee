import { InvalidOptionError } from './invalid-option-error.ts';
import type { InvalidValueError } from './invalid-value-error.ts';

/**
 * Small validators used by every options handler (and, with their own error, by the storage
 * input checks), so every failure names the field path, what was expected and the value.
 */

/**
 * Builds the error a validator throws for an invalid value from its field path, the expectation
 * and the received value: the constructor arguments every {@link InvalidValueError} subclass takes.
 */
export type InvalidValueFactory = (field: string, expected: string, value: unknown) => Error;

const invalidOption: InvalidValueFactory = (field, expected, value) =>
  new InvalidOptionError({ field, expected, value });

/** Returns `value` if it is an integer in [min, max], else throws (an {@link InvalidOptionError} by default). */
export function integerOption(
  option: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  fail: InvalidValueFactory = invalidOption,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `between ${min} and ${max}`;
    throw fail(option, `an integer ${range}`, value);
  }
  return value;
}

/** Returns `value` if it is a finite number in [min, max], else throws (an {@link InvalidOptionError} by default). */
export function numberOption(
  option: string,
  value: unknown,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
  fail: InvalidValueFactory = invalidOption,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range =
      max !== Number.POSITIVE_INFINITY
        ? ` between ${min} and ${max}`
        : min === Number.NEGATIVE_INFINITY
          ? ''
          : ` ≥ ${min}`;
    throw fail(option, `a finite number${range}`, value);
  }
  return value;
}

/** Returns `value` if it is a non-empty string, else throws (an {@link InvalidOptionError} by default). */
export function stringOption(
  option: string,
  value: unknown,
  fail: InvalidValueFactory = invalidOption,
): string {
  if (typeof value !== 'string' || value.length === 0) throw fail(option, 'a non-empty string', value);
  return value;
}

/** Returns `value` if it is a boolean, else throws (an {@link InvalidOptionError} by default). */
export function booleanOption(
  option: string,
  value: unknown,
  fail: InvalidValueFactory = invalidOption,
): boolean {
  if (typeof value !== 'boolean') throw fail(option, 'true or false', value);
  return value;
}

/**
 * Returns a copy of `value` if it is an array of non-empty strings (`names`: tool names, …),
 * else throws an {@link InvalidOptionError} naming the option, or the entry (`include[2]`).
 */
export function stringArrayOption(option: string, value: unknown, names = 'names'): string[] {
  if (!Array.isArray(value)) throw invalidOption(option, `an array of ${names}`, value);
  return value.map((item: unknown, index) => {
    if (typeof item !== 'string' || item === '')
      throw invalidOption(`${option}[${index}]`, `one of the ${names} (a non-empty string)`, item);
    return item;
  });
}

/** Returns `value` if it is a plain object (not null, not an array), else throws {@link InvalidOptionError}. */
export function objectOption(option: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidOptionError({ field: option, expected: 'an object', value });
  return value as Record<string, unknown>;
}

import { InvalidOptionError } from './invalid-option-error.ts';

/**
 * Small validators used by every options handler, so each module checks its options the same
 * way and every failure names the option path and the received value.
 */

/** Returns `value` if it is an integer in [min, max], else throws {@link InvalidOptionError}. */
export function integerOption(
  option: string,
  value: unknown,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `between ${min} and ${max}`;
    throw new InvalidOptionError(option, `an integer ${range}`, value);
  }
  return value;
}

/** Returns `value` if it is a finite number in [min, max], else throws {@link InvalidOptionError}. */
export function numberOption(
  option: string,
  value: unknown,
  min: number,
  max = Number.POSITIVE_INFINITY,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Number.POSITIVE_INFINITY ? `≥ ${min}` : `between ${min} and ${max}`;
    throw new InvalidOptionError(option, `a finite number ${range}`, value);
  }
  return value;
}

/** Returns `value` if it is a non-empty string, else throws {@link InvalidOptionError}. */
export function stringOption(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new InvalidOptionError(option, 'a non-empty string', value);
  return value;
}

/** Returns `value` if it is a boolean, else throws {@link InvalidOptionError}. */
export function booleanOption(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, 'true or false', value);
  return value;
}

/** Throws {@link InvalidOptionError} unless `value` is a plain object (or undefined when optional). */
export function objectOption(option: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidOptionError(option, 'an object', value);
  return value as Record<string, unknown>;
}

import { SiaError } from './sia-error.ts';

const marker = Symbol.for('self-improving-agent.error.InvalidOptionError');

/**
 * Thrown at construction (or call) time when an option is invalid. Names the option by its
 * path (e.g. `network.timeoutMs`), what was expected and what was received.
 */
export class InvalidOptionError extends SiaError {
  readonly [marker] = true;
  /** Path of the offending option, e.g. `batch.maxRecords`. */
  readonly option: string;
  /** The value that was received. */
  readonly value: unknown;

  constructor(option: string, expected: string, value: unknown) {
    super({
      code: 'INVALID_OPTION',
      message: `Invalid option "${option}": expected ${expected}, received ${describeValue(value)}. Fix the value passed as "${option}".`,
    });
    this.name = 'InvalidOptionError';
    this.option = option;
    this.value = value;
  }

  /** True when `error` is an {@link InvalidOptionError} (from any copy of the package). */
  static override isInstance(error: unknown): error is InvalidOptionError {
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

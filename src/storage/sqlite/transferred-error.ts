import { InvalidOptionError } from '../../core/invalid-option-error.ts';
import { SiaError } from '../../core/sia-error.ts';
import * as storageErrors from '../storage-errors.ts';

/**
 * An error as it crosses a thread boundary: structured clone keeps neither an error's class nor
 * its marker symbols, so both travel by name.
 */
export interface TransferredError {
  /** The error's `name`, which picks the class it is rebuilt as. */
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Own enumerable fields (`code`, `field`, `path`, …), each cloneable or stringified. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** `Symbol.for` keys of the marker symbols the error carries (what `isInstance` checks). */
  readonly markers: readonly string[];
  readonly cause: TransferredError | undefined;
}

/** The classes an adapter running in another thread may throw (every storage error), by `name`. */
const prototypes = new Map<string, object>(
  [SiaError, InvalidOptionError, ...Object.values(storageErrors)].map((type) => [type.name, type.prototype]),
);

const MAX_CAUSE_DEPTH = 4;

/** Describes `error` so {@link fromTransferredError} can rebuild it in another thread. */
export function toTransferredError(error: unknown, depth = 0): TransferredError {
  if (!(error instanceof Error)) {
    return {
      name: 'Error',
      message: String(error),
      stack: undefined,
      fields: {},
      markers: [],
      cause: undefined,
    };
  }
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'message' || key === 'stack' || key === 'cause') continue;
    try {
      fields[key] = structuredClone(value);
    } catch {
      fields[key] = String(value);
    }
  }
  const markers: string[] = [];
  for (const symbol of Object.getOwnPropertySymbols(error)) {
    const key = Symbol.keyFor(symbol);
    if (key !== undefined && (error as unknown as Record<symbol, unknown>)[symbol] === true)
      markers.push(key);
  }
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    fields,
    markers,
    cause:
      error.cause === undefined || depth >= MAX_CAUSE_DEPTH
        ? undefined
        : toTransferredError(error.cause, depth + 1),
  };
}

/**
 * Rebuilds an error described by {@link toTransferredError}: of its class when this module knows
 * it (so `instanceof` holds), with its fields and markers (so every `isInstance` holds), its
 * message, stack and cause.
 */
export function fromTransferredError(transferred: TransferredError): Error {
  const prototype =
    prototypes.get(transferred.name) ??
    (transferred.markers.length > 0 ? SiaError.prototype : Error.prototype);
  const error = Object.create(prototype) as Error;
  Object.defineProperty(error, 'message', {
    value: transferred.message,
    writable: true,
    configurable: true,
  });
  Object.defineProperty(error, 'stack', { value: transferred.stack, writable: true, configurable: true });
  if (transferred.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: fromTransferredError(transferred.cause),
      writable: true,
      configurable: true,
    });
  }
  Object.assign(error, transferred.fields);
  for (const key of transferred.markers)
    (error as unknown as Record<symbol, unknown>)[Symbol.for(key)] = true;
  return error;
}

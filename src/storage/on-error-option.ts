import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { Logger } from '../core/logger.ts';
import { objectOption } from '../core/options.ts';

/**
 * The `onError` option of the adapters that report failures off the caller's path (background
 * writes, dropped idle connections), with its fallback through the `logger` option: checks
 * both, then returns the caller's `onError`, or `viaLogger(logger)` when none is given.
 */
export function onErrorOption<Report extends (error: unknown, ...details: never[]) => void>(
  onError: Report | undefined,
  logger: Logger | undefined,
  viaLogger: (logger: Logger | undefined) => Report,
): Report {
  if (onError !== undefined && typeof onError !== 'function')
    throw new InvalidOptionError({ field: 'onError', expected: 'a function', value: onError });
  if (logger !== undefined) objectOption('logger', logger);
  return onError ?? viaLogger(logger);
}

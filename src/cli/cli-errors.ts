import { SiaError } from '../core/sia-error.ts';

const usageMarker = Symbol.for('self-improving-agent.error.CliUsageError');
const failureMarker = Symbol.for('self-improving-agent.error.CliFailure');

/**
 * The command line was wrong: an unknown command or flag, a missing or malformed argument.
 * `sia` prints the message and a pointer to `--help`, and exits with code 2.
 */
export class CliUsageError extends SiaError {
  readonly [usageMarker] = true;
  /** The command whose help to point at, e.g. `tests add`; undefined for the top level. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super({ code: 'CLI_USAGE', message });
    this.name = 'CliUsageError';
    this.command = command;
  }

  /** True when `error` is a {@link CliUsageError} (from any copy of the package). */
  static override isInstance(error: unknown): error is CliUsageError {
    return SiaError.hasMarker(error, usageMarker);
  }
}

/**
 * A command could not do its job for a reason the user can fix (no database at that path, an
 * invalid export folder, …). `sia` prints the one-line message, no stack, and exits with code 1.
 */
export class CliFailure extends SiaError {
  readonly [failureMarker] = true;

  constructor(message: string, cause?: unknown) {
    super({ code: 'CLI_FAILURE', message, cause });
    this.name = 'CliFailure';
  }

  /** True when `error` is a {@link CliFailure} (from any copy of the package). */
  static override isInstance(error: unknown): error is CliFailure {
    return SiaError.hasMarker(error, failureMarker);
  }
}

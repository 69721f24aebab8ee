import { SiaError } from '../core/sia-error.ts';
import type { SandboxDenial, SandboxLogEntry } from './sandbox-result.ts';

const marker = Symbol.for('self-improving-agent.error.SandboxError');

/**
 * Why a sandboxed call failed.
 *
 * - `TIMEOUT`: the call ran past its deadline (or returned a promise that can never settle).
 * - `MEMORY`: the guest ran out of its bounded memory.
 * - `STACK`: the guest overflowed its stack (deep recursion).
 * - `TOOL_ERROR`: the tool threw or rejected; its message is kept (truncated).
 * - `CAPABILITY_DENIED`: the tool used a capability it was not given (a network host, scheme,
 *   address or limit) and did not catch the resulting error.
 * - `INVALID_OUTPUT`: the result is not JSON data (undefined, cyclic, BigInt, a function, a
 *   `__proto__` key) or is larger than `maxOutputBytes`.
 * - `INVALID_SOURCE`: the source does not parse as a script or defines no function named `entry`.
 */
export type SandboxErrorCode =
  | 'TIMEOUT'
  | 'MEMORY'
  | 'STACK'
  | 'TOOL_ERROR'
  | 'CAPABILITY_DENIED'
  | 'INVALID_OUTPUT'
  | 'INVALID_SOURCE';

/** The error a tool threw inside the guest, described inside the guest (never a live object). */
export interface GuestErrorInfo {
  /** `error.name` for Error objects (e.g. `TypeError`), or a description of a non-Error value. */
  readonly name: string;
  /** `error.message`, truncated. */
  readonly message: string;
  /** The guest stack trace, when there was one. */
  readonly stack?: string;
}

/** Options of {@link SandboxError}. */
export interface SandboxErrorOptions {
  code: SandboxErrorCode;
  message: string;
  cause?: unknown;
  /** `console.*` output captured before the failure. */
  logs?: readonly SandboxLogEntry[];
  /** Host wall-clock time from the `run` call to the failure. */
  durationMs?: number;
  /** Part of `durationMs` spent starting the sandbox (see `SandboxRunResult.startupMs`). */
  startupMs?: number;
  /** What the guest threw, for `TOOL_ERROR` and guest-side failures. */
  guestError?: GuestErrorInfo;
  /** Capability requests refused during the call (caught by the tool or not). */
  denials?: readonly SandboxDenial[];
}

/**
 * The only error `QuickJsSandbox.run` rejects with for anything the tool did. `code` says what
 * went wrong; the message says what to change. After any `SandboxError` the sandbox stays
 * usable: the next call runs in a clean guest.
 *
 * @example
 * ```ts
 * try {
 *   await sandbox.run({ source, entry: 'main' }, {});
 * } catch (error) {
 *   if (SandboxError.isInstance(error) && error.code === 'TIMEOUT') retryLater();
 * }
 * ```
 */
export class SandboxError extends SiaError {
  readonly [marker] = true;
  declare readonly code: SandboxErrorCode;
  /** `console.*` output captured before the failure (empty when the worker had to be killed). */
  readonly logs: readonly SandboxLogEntry[];
  /** Host wall-clock time from the `run` call to the failure. */
  readonly durationMs: number;
  /** Part of `durationMs` spent starting the sandbox, not running the call (0 when warm). */
  readonly startupMs: number;
  /** What the guest threw, when the failure came from a guest exception. */
  readonly guestError: GuestErrorInfo | undefined;
  /** Capability requests refused during the call, including any the tool caught before failing. */
  readonly denials: readonly SandboxDenial[];

  constructor(options: SandboxErrorOptions) {
    super({ code: options.code, message: options.message, cause: options.cause });
    this.name = 'SandboxError';
    this.logs = options.logs ?? [];
    this.durationMs = options.durationMs ?? 0;
    this.startupMs = options.startupMs ?? 0;
    this.guestError = options.guestError;
    this.denials = options.denials ?? [];
  }

  /** True when `error` is a {@link SandboxError} (from any copy of the package). */
  static override isInstance(error: unknown): error is SandboxError {
    return SiaError.hasMarker(error, marker);
  }
}

import { SiaError } from '../core/sia-error.ts';

const marker = Symbol.for('self-improving-agent.error.SandboxClosedError');

/** Thrown by `run` after `close()`, and by calls still queued or running when `close()` is called. */
export class SandboxClosedError extends SiaError {
  readonly [marker] = true;

  constructor() {
    super({
      code: 'SANDBOX_CLOSED',
      message: 'This QuickJsSandbox has been closed; create a new QuickJsSandbox to run more tools.',
    });
    this.name = 'SandboxClosedError';
  }

  /** True when `error` is a {@link SandboxClosedError} (from any copy of the package). */
  static override isInstance(error: unknown): error is SandboxClosedError {
    return SiaError.hasMarker(error, marker);
  }
}

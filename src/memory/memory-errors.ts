import { SiaError } from '../core/sia-error.ts';

const flushErrorMarker = Symbol.for('self-improving-agent.error.MemoryFlushError');

/** Thrown by `flush()`/`close()` when storage refused the records. They stay buffered and are retried. */
export class MemoryFlushError extends SiaError {
  readonly [flushErrorMarker] = true;
  /** Records still buffered. */
  readonly buffered: number;

  constructor(buffered: number, cause: unknown) {
    super({
      code: 'MEMORY_FLUSH_FAILED',
      message: `Could not write ${buffered} buffered invocation records to storage: ${String(
        (cause as Error)?.message ?? cause,
      )}. The records are kept in memory and retried automatically; fix the storage and call flush() again.`,
      cause,
    });
    this.name = 'MemoryFlushError';
    this.buffered = buffered;
  }

  /** True when `error` is a {@link MemoryFlushError} (from any copy of the package). */
  static override isInstance(error: unknown): error is MemoryFlushError {
    return SiaError.hasMarker(error, flushErrorMarker);
  }
}

import { SiaError } from '../../core/sia-error.ts';

const marker = Symbol.for('self-improving-agent.error.StorageThreadError');

/**
 * Thrown by every call of a storage whose thread (the worker that owns the process's SQLite
 * databases, see `sqlJsStorage`'s `thread` option) stopped unexpectedly, for example because it
 * ran out of memory; also passed to the storage's `onError`. Changes not yet written to the file are lost; the file itself is as last written.
 * Create a new storage to open the file again.
 */
export class StorageThreadError extends SiaError {
  readonly [marker] = true;

  constructor(cause: unknown) {
    super({
      code: 'STORAGE_THREAD_FAILED',
      message: `The storage thread stopped unexpectedly (${cause instanceof Error ? cause.message : String(cause)}). Changes not yet written to the database files are lost; create a new storage to open a file again.`,
      cause,
    });
    this.name = 'StorageThreadError';
  }

  /** True when `error` is a {@link StorageThreadError} (from any copy of the package). */
  static override isInstance(error: unknown): error is StorageThreadError {
    return SiaError.hasMarker(error, marker);
  }
}

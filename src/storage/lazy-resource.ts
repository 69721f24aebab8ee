import { StorageClosedError } from './storage-errors.ts';

/** How {@link lazyResource} opens and releases an adapter's connection, file or pool. */
export interface LazyResourceOptions<T> {
  /** Adapter name, for {@link StorageClosedError}. */
  name: string;
  /** Opens the resource. A rejection is not kept: the next `get()` tries again. */
  open: () => Promise<T>;
  /** Releases a resource that opened; called by the first `close()` (see `retryFailedRelease`). */
  release: (resource: T) => void | Promise<void>;
  /**
   * Whether a `close()` after a failed release tries the release again (e.g. a final write
   * that may succeed later) instead of returning the same failure.
   * @default false
   */
  retryFailedRelease?: boolean;
}

/** A resource opened on first use, once, and closed once. */
export interface LazyResource<T> {
  /**
   * The open resource, opening it on the first call; concurrent callers share one attempt.
   * Rejects with {@link StorageClosedError} once `close()` was called, also when the close
   * began while the resource was opening.
   */
  get(): Promise<T>;
  /** The open in progress or done, without starting one; undefined before the first `get()`. */
  pending(): Promise<T> | undefined;
  /** True from the first `close()` on. */
  readonly closed: boolean;
  /** Marks the resource closed, waits for an open in progress, and releases what opened. */
  close(): Promise<void>;
}

/**
 * The open-once, close-once lifecycle every adapter with a connection shares: nothing opens
 * until first use (so constructing an adapter never touches the disk or the network), a failed
 * open is retried by the next call rather than remembered, and a close during an open waits
 * for it and releases what it opened.
 */
export function lazyResource<T>(options: LazyResourceOptions<T>): LazyResource<T> {
  const { name, open, release, retryFailedRelease = false } = options;
  let opening: Promise<T> | undefined;
  let closed = false;
  let closing: Promise<void> | undefined;
  return {
    async get() {
      if (closed) throw new StorageClosedError(name);
      if (!opening) {
        const attempt = open();
        opening = attempt;
        attempt.catch(() => {
          if (opening === attempt) opening = undefined;
        });
      }
      const resource = await opening;
      if (closed) throw new StorageClosedError(name);
      return resource;
    },
    pending: () => opening,
    get closed() {
      return closed;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        const pending = opening;
        if (!pending) return;
        let resource: T;
        try {
          resource = await pending;
        } catch {
          return; // never opened: nothing to release
        }
        try {
          await release(resource);
        } catch (error) {
          if (retryFailedRelease) closing = undefined;
          throw error;
        }
      })();
      return closing;
    },
  };
}

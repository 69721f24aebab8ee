/**
 * What every storage role has: a name, and a store to open, make durable and close. Shared by
 * `InvocationStore` and `ToolStore`, so an adapter that plays both (a `StorageAdapter`) has
 * these members once.
 */
export interface StoreLifecycle {
  /** Adapter name for diagnostics, e.g. `sql.js`. */
  readonly name: string;

  /**
   * Opens the store now (loading files, taking locks, running migrations) instead of at the
   * first call, so that errors such as `StorageLockedError` surface at start-up. Optional:
   * every method opens the store on first use anyway.
   */
  ready?(): Promise<void>;
  /**
   * Makes everything written so far durable (for stores that persist off the hot path).
   * Resolves only after the data reached the disk. Optional: stores that are durable per write
   * do not need it.
   */
  flush?(): Promise<void>;
  /** Flushes and releases every resource (files, locks, connections). Idempotent. */
  close(): Promise<void>;
}

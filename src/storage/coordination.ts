/** A tool's active version changed (or a tool was created), as seen by {@link Coordination.watchActive}. */
export interface ActiveVersionChange {
  /** The tool. */
  toolName: string;
  /** Its active version now. */
  activeVersion: number;
}

/**
 * Coordination between processes sharing one store. Every member is optional: stores shared by
 * several processes implement them; without them a caller falls back to in-process
 * coordination. Check an implementation with `runCoordinationContract` from
 * `self-improving-agent/testing`.
 */
export interface Coordination {
  /**
   * Tries to take the lease `key` for `holder` for `ttlMs` ms. Resolves true when `holder` now
   * holds it: the lease was free, its previous holder let it expire, or `holder` already held
   * it (then it is extended to `ttlMs` from now). Resolves false while another holder's lease
   * runs. Atomic across every process sharing the store; expiry is judged by the store's clock.
   *
   * A lease is advisory and has no fencing: a holder paused past its expiry may still act, so
   * keep protecting the final write itself (`compareAndSetActive` does). Renew well before
   * expiry (e.g. every `ttlMs / 3`) and stop working when a renewal resolves false.
   *
   * @example
   * ```ts
   * const holder = `${hostname()}:${process.pid}:${randomUUID()}`;
   * if (await storage.acquireLease?.(`improve:${toolName}`, holder, 60_000)) {
   *   try { await improve(toolName); } finally { await storage.releaseLease?.(`improve:${toolName}`, holder); }
   * }
   * ```
   */
  acquireLease?(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives up the lease `key` if `holder` holds it; does nothing otherwise. */
  releaseLease?(key: string, holder: string): Promise<void>;
  /**
   * Calls `listener` after a tool's active version changed through any adapter on the same
   * store (this process or another), and after a tool was created (`activeVersion: 1`).
   * Returns the function that unsubscribes. Delivery is at least once: a listener may hear
   * of a version it already knows, and when the store falls back to polling (or is still
   * setting the subscription up, as PostgreSQL's LISTEN connection after the first subscribe)
   * only the latest version of each tool is reported; treat each call as "the active version
   * is now N".
   * A listener that throws does not stop the others.
   */
  watchActive?(listener: (change: ActiveVersionChange) => void): () => void;
}

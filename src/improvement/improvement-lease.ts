import type { StorageAdapter } from '../storage/storage-adapter.ts';

/** The lease part of a store (optional methods, as on `StorageAdapter`). */
export type LeaseStore = Pick<StorageAdapter, 'acquireLease' | 'releaseLease'>;

/** Options of {@link ImprovementLease}. */
export interface ImprovementLeaseOptions {
  /** Where leases live; without `acquireLease` the lease is this process's own business. */
  readonly store: LeaseStore;
  /** Who holds the leases this object takes (the agent's `instanceId`). */
  readonly holder: string;
  /** How long a lease lasts unless renewed, ms. */
  readonly ttlMs: number;
}

/**
 * One tool's improvement lease, in one place: at most one process improves a tool at a time
 * when the store offers leases (PostgreSQL, the SQLite files), and no-ops that always succeed
 * when it does not (one process: the improver's own `improving` flag is the guard then).
 *
 * A lease is advisory: the final write (the promotion's compare-and-swap) still protects itself.
 * @example
 * const lease = new ImprovementLease({ store: storage, holder: agent.instanceId, ttlMs: 120_000 });
 * if (await lease.acquire('convert_currency')) {
 *   try { … } finally { await lease.release('convert_currency'); }
 * }
 */
export class ImprovementLease {
  readonly #store: LeaseStore;
  readonly #holder: string;
  readonly #ttlMs: number;

  constructor(options: ImprovementLeaseOptions) {
    this.#store = options.store;
    this.#holder = options.holder;
    this.#ttlMs = options.ttlMs;
  }

  /** Whether the store coordinates several processes (it has leases). */
  get shared(): boolean {
    return typeof this.#store.acquireLease === 'function';
  }

  /** Takes the tool's lease; false while another holder's lease runs. True without shared leases. */
  async acquire(toolName: string): Promise<boolean> {
    if (!this.#store.acquireLease) return true;
    return this.#store.acquireLease(leaseKey(toolName), this.#holder, this.#ttlMs);
  }

  /**
   * Extends the lease this holder has (the same call as `acquire`); false when it expired and
   * another holder took it: stop working on the tool then.
   */
  async renew(toolName: string): Promise<boolean> {
    return this.acquire(toolName);
  }

  /** Gives the lease up (nothing happens when this holder does not hold it). */
  async release(toolName: string): Promise<void> {
    await this.#store.releaseLease?.(leaseKey(toolName), this.#holder);
  }
}

/** The lease key of a tool's improvement. Stable: other processes of older versions use it too. */
function leaseKey(toolName: string): string {
  return `improve:${toolName}`;
}

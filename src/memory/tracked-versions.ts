import { RunningStatistics } from './running-statistics.ts';

/**
 * The {@link RunningStatistics} of the (tool, version) pairs one `PerformanceMemory` tracks, at
 * most `maxVersions` of them: using a pair (recording or reading it) makes it the most recent,
 * and past the bound the least recently used is forgotten. Tools created at run time therefore
 * cannot make the statistics grow without limit; a forgotten version that is used again starts
 * from fresh counters and is seeded from storage again.
 */
export class TrackedVersions {
  readonly #maxVersions: number;
  readonly #capacity: number;
  /** Least recently used first (a Map iterates in insertion order; a use re-inserts). */
  readonly #versions = new Map<string, RunningStatistics>();
  /** The last pair used: calls of one busy version skip the re-insertion. */
  #mostRecent: RunningStatistics | undefined;

  /** `capacity`: the window size of each version (`statistics.recentCalls`). */
  constructor(maxVersions: number, capacity: number) {
    this.#maxVersions = maxVersions;
    this.#capacity = capacity;
  }

  /** How many versions are tracked now. */
  get size(): number {
    return this.#versions.size;
  }

  /** The version's statistics, created when it is not tracked yet; marks it most recently used. */
  use(toolName: string, version: number): RunningStatistics {
    const recent = this.#mostRecent;
    if (recent !== undefined && recent.version === version && recent.toolName === toolName) return recent;
    const key = keyOf(toolName, version);
    let statistics = this.#versions.get(key);
    if (statistics === undefined) {
      statistics = new RunningStatistics(toolName, version, this.#capacity, Date.now());
      if (this.#versions.size >= this.#maxVersions) {
        const oldest = this.#versions.keys().next().value as string;
        this.#versions.delete(oldest);
      }
    } else {
      this.#versions.delete(key);
    }
    this.#versions.set(key, statistics);
    this.#mostRecent = statistics;
    return statistics;
  }

  /** The version's statistics when it is tracked, without marking it used. */
  peek(toolName: string, version: number): RunningStatistics | undefined {
    const recent = this.#mostRecent;
    if (recent !== undefined && recent.version === version && recent.toolName === toolName) return recent;
    return this.#versions.get(keyOf(toolName, version));
  }

  /** Every tracked version, least recently used first. */
  values(): IterableIterator<RunningStatistics> {
    return this.#versions.values();
  }
}

function keyOf(toolName: string, version: number): string {
  return `${version}\u0000${toolName}`;
}

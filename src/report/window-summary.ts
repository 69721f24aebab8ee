import type { MemorySummary } from '../memory/performance-memory.ts';
import type { WindowAggregate } from '../storage/types.ts';

/**
 * The `MemorySummary` of an aggregate (what `PerformanceMemory.summary` and the evaluator
 * build), so a window read straight from storage is scored exactly as the agent scores it.
 */
export function windowSummary(
  toolName: string,
  version: number | null,
  aggregate: WindowAggregate,
): MemorySummary {
  return {
    toolName,
    version,
    invocations: aggregate.invocations,
    successes: aggregate.successes,
    failures: aggregate.invocations - aggregate.successes,
    successRate: aggregate.invocations === 0 ? 0 : aggregate.successes / aggregate.invocations,
    latencyMs: aggregate.latencyMs,
    recentErrors: aggregate.recentErrors,
    firstAt: aggregate.firstAt,
    lastAt: aggregate.lastAt,
  };
}

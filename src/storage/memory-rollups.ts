import {
  addAggregate,
  addCall,
  emptyAggregate,
  type HistoryRange,
  type SourceBucket,
} from './history-buckets.ts';
import type { StoredInvocation } from './records.ts';
import { bucketStart, DAY_MS, HOUR_MS, MINUTE_MS, type RollupCutoffs, rollupWidth } from './rollup-tiers.ts';

/** The rollups of `memoryStorage`: per-version aggregates of pruned calls, coarsening with age. */
export interface MemoryRollups {
  /** Adds pruned calls to their rollups (minute, hour or day by their age at `cutoffs`). */
  fold(calls: Iterable<StoredInvocation>, cutoffs: RollupCutoffs): void;
  /** Merges minute rollups before `cutoffs.hourBefore` into hours, hours before `dayBefore` into days. */
  coarsen(cutoffs: RollupCutoffs): void;
  /** The rollups of a tool (one version, or all) whose start is in `range`. */
  sources(toolName: string, version: number | undefined, range: HistoryRange): SourceBucket[];
}

/** Rollups held in this process's memory, keyed by tool, then by (version, width, start). */
export function memoryRollups(): MemoryRollups {
  const byTool = new Map<string, Map<string, SourceBucket>>();
  const bucketOf = (toolName: string, version: number, widthMs: number, start: number): SourceBucket => {
    let ofTool = byTool.get(toolName);
    if (!ofTool) {
      ofTool = new Map();
      byTool.set(toolName, ofTool);
    }
    const key = `${version}/${widthMs}/${start}`;
    let bucket = ofTool.get(key);
    if (!bucket) {
      bucket = { version, start, widthMs, rolledUp: true, ...emptyAggregate() };
      ofTool.set(key, bucket);
    }
    return bucket;
  };

  return {
    fold(calls, cutoffs) {
      for (const call of calls) {
        const widthMs = rollupWidth(call.startedAt, cutoffs);
        addCall(bucketOf(call.toolName, call.version, widthMs, bucketStart(call.startedAt, widthMs)), call);
      }
    },

    coarsen(cutoffs) {
      for (const [toolName, ofTool] of byTool) {
        for (const [key, bucket] of ofTool) {
          const widthMs =
            bucket.widthMs < DAY_MS && bucket.start < cutoffs.dayBefore
              ? DAY_MS
              : bucket.widthMs === MINUTE_MS && bucket.start < cutoffs.hourBefore
                ? HOUR_MS
                : bucket.widthMs;
          if (widthMs === bucket.widthMs) continue;
          ofTool.delete(key);
          addAggregate(
            bucketOf(toolName, bucket.version, widthMs, bucketStart(bucket.start, widthMs)),
            bucket,
          );
        }
      }
    },

    sources(toolName, version, range) {
      const result: SourceBucket[] = [];
      for (const bucket of byTool.get(toolName)?.values() ?? []) {
        if (version !== undefined && bucket.version !== version) continue;
        if (bucket.start < range.from || bucket.start >= range.to) continue;
        result.push(bucket);
      }
      return result;
    },
  };
}

export { MemoryFlushError } from './memory-errors.ts';
export type {
  MemoryDroppedEvent,
  MemoryFlushedEvent,
  MemoryPrunedEvent,
  MemoryRecordRejectedEvent,
  MemoryStorageErrorEvent,
  PerformanceMemoryEvents,
} from './memory-events.ts';
export {
  type JudgedCall,
  type MemoryStats,
  type MemorySummary,
  PerformanceMemory,
  type RecordInput,
  type WindowOptions,
} from './performance-memory.ts';
export type {
  MemoryStatisticsOptions,
  PerformanceMemoryOptions,
  ResolvedPerformanceMemoryOptions,
} from './performance-memory-options.ts';
export type {
  FeedbackCounts,
  LatencyTotals,
  RecentCall,
  VersionStatistics,
  VersionTotals,
} from './version-statistics.ts';

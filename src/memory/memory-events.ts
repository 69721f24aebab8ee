/** Payload of `memory:flushed`: a batch reached storage (and the disk, for stores that flush). */
export interface MemoryFlushedEvent {
  /** Records written by this flush. */
  records: number;
  /** Time spent writing them, ms. */
  durationMs: number;
  /** Records still buffered after it (recorded while it ran). */
  buffered: number;
}

/**
 * Payload of `storage:error`: a storage operation failed. For flushes the records stay
 * buffered and are retried after `retryInMs`; nothing is lost unless the buffer bound is hit
 * (then `memory:dropped` says so).
 */
export interface MemoryStorageErrorEvent {
  /** What failed. */
  operation: 'flush' | 'prune';
  /** The error the storage adapter threw. */
  error: unknown;
  /** Consecutive failures of this operation so far. */
  attempt: number;
  /** Records buffered now. */
  buffered: number;
  /** When the next try happens, ms from now; `null` when none is scheduled. */
  retryInMs: number | null;
}

/** Payload of `memory:dropped`: records were given up because the buffer bound was hit. */
export interface MemoryDroppedEvent {
  /** Records dropped just now (the oldest buffered ones). */
  dropped: number;
  /** Records dropped since the memory was created. */
  totalDropped: number;
  /** The bound that was hit (`maxBufferedRecords`). */
  maxBufferedRecords: number;
}

/** Payload of `memory:record-rejected`: `record()` received something it cannot store. */
export interface MemoryRecordRejectedEvent {
  /** Why, naming the field and the value. */
  reason: string;
  /** The tool named by the record, when it had one. */
  toolName?: string;
}

/** Payload of `memory:pruned`: the retention policy deleted old records. */
export interface MemoryPrunedEvent {
  /** Records deleted. */
  deleted: number;
}

/** Events of {@link PerformanceMemory}, each with one payload object. */
export interface PerformanceMemoryEvents {
  'memory:flushed': (event: MemoryFlushedEvent) => void;
  'storage:error': (event: MemoryStorageErrorEvent) => void;
  'memory:dropped': (event: MemoryDroppedEvent) => void;
  'memory:record-rejected': (event: MemoryRecordRejectedEvent) => void;
  'memory:pruned': (event: MemoryPrunedEvent) => void;
}

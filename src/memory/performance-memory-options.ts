import { InvalidOptionError } from '../core/invalid-option-error.ts';
import type { Logger } from '../core/logger.ts';
import { booleanOption, integerOption, objectOption } from '../core/options.ts';
import type { InvocationStore } from '../storage/invocation-store.ts';

/** Options of `PerformanceMemory`. */
export interface PerformanceMemoryOptions {
  /**
   * Where records go: any {@link InvocationStore}, so a metrics-only backend will do (every
   * `StorageAdapter` is one). The memory does not close a storage it was given; it closes the
   * one it created itself.
   * @default memoryStorage()
   */
  storage?: InvocationStore;
  /** When buffered records are written. */
  batch?: {
    /** Write as soon as this many records are buffered. @default 500 */
    maxRecords?: number;
    /** Write at most this long after the first buffered record, ms. @default 50 */
    maxDelayMs?: number;
  };
  /**
   * What to keep. Applied after flushes, every `pruneEveryMs`, and sooner once a tenth of
   * `maxRecords` (at least `batch.maxRecords`) was written since the last prune, so a fast
   * recorder overshoots the store-wide bound by about a tenth at most. Stores with
   * `invocationHistory` (every built-in one) fold pruned records into per-minute rollups
   * first, so reports still chart a tool's whole life.
   */
  retention?: {
    /** Keep the most recent N records per (tool, version). @default 10_000 */
    maxRecordsPerVersion?: number;
    /**
     * Keep at most N records in the whole store, over every tool and version; the oldest go
     * first. The per-version bound alone does not bound a store whose agent keeps creating tools
     * (100 tools × 4 versions at 10,000 each is 4 million rows); a million rows is about
     * 100–150 MB in a SQLite file without captured inputs/outputs, still quick to prune and,
     * for sql.js, to write out.
     * @default 1_000_000
     */
    maxRecords?: number;
    /** Delete records older than this many ms. @default undefined (no age limit) */
    maxAgeMs?: number;
    /** How often pruning runs, ms (sooner after `maxRecords / 10` records written). @default 60_000 */
    pruneEveryMs?: number;
  };
  /**
   * Whether call inputs and outputs are stored with the records (they feed regression-case
   * harvesting). Off unless you opt in.
   */
  capture?: {
    /** Store inputs. @default false */
    inputs?: boolean;
    /** Store outputs. @default false */
    outputs?: boolean;
    /**
     * Applied to every captured value before it is stored; return a redacted copy (for
     * example without secrets or personal data). Returning `undefined` stores nothing.
     * @default the identity
     */
    redact?: (value: unknown, context: { toolName: string; kind: 'input' | 'output' }) => unknown;
  };
  /**
   * Upper bound on records held in memory while storage is failing. Past it the oldest are
   * dropped, counted, and reported with a `memory:dropped` event.
   * @default max(100_000, batch.maxRecords)
   */
  maxBufferedRecords?: number;
  /** Back-off between retries of a failed flush. */
  retry?: {
    /** First delay, ms. @default 100 */
    initialDelayMs?: number;
    /** Largest delay, ms (at least `initialDelayMs`). @default max(30_000, initialDelayMs) */
    maxDelayMs?: number;
  };
  /** Longest error message kept per record, characters. @default 500 */
  maxErrorMessageLength?: number;
  /** Optional logger for diagnostics (events are the main channel). */
  logger?: Logger;

  // --- in-memory statistics ---------------------------------------------------------------------
  /**
   * The running statistics kept in this process per (tool, version) (`statistics()`), and the
   * window of recent calls that answers `recent()`/`summary()` of one version without reading
   * storage. Memory is bounded by `maxVersions × recentCalls` records (some tens of MB at the
   * defaults if every tracked version has a full window; more with `capture`, whose values the
   * window keeps).
   */
  statistics?: MemoryStatisticsOptions;
}

/** Options of the in-memory statistics ({@link PerformanceMemoryOptions.statistics}). */
export interface MemoryStatisticsOptions {
  /**
   * How many of the most recent calls are kept per version (capped at
   * `retention.maxRecordsPerVersion`). It must cover the reads that should not touch storage:
   * an `Evaluator` reads `2 · window` calls (40 by default). `0` keeps no window: every read goes
   * to storage, for example when several processes must decide on their shared history.
   * @default 100
   */
  recentCalls?: number;
  /**
   * How many (tool, version) pairs are tracked at once. Past it the least recently recorded or
   * read version is forgotten (its statistics start over if it is used again), so tools created
   * at run time cannot make the statistics grow without limit.
   * @default 2_000
   */
  maxVersions?: number;
}

/** The options with every default applied. */
export interface ResolvedPerformanceMemoryOptions {
  readonly batch: { readonly maxRecords: number; readonly maxDelayMs: number };
  readonly retention: {
    readonly maxRecordsPerVersion: number;
    readonly maxRecords: number;
    readonly maxAgeMs: number | undefined;
    readonly pruneEveryMs: number;
  };
  readonly capture: {
    readonly inputs: boolean;
    readonly outputs: boolean;
    readonly redact:
      | ((value: unknown, context: { toolName: string; kind: 'input' | 'output' }) => unknown)
      | undefined;
  };
  readonly maxBufferedRecords: number;
  readonly retry: { readonly initialDelayMs: number; readonly maxDelayMs: number };
  readonly maxErrorMessageLength: number;
  readonly logger: Logger | undefined;
  /** The in-memory statistics; `recentCalls` already capped at `retention.maxRecordsPerVersion`. */
  readonly statistics: { readonly recentCalls: number; readonly maxVersions: number };
}

const DAY_MS = 86_400_000;

/** Validates `options` and applies defaults once; throws `InvalidOptionError` naming the field. */
export function resolvePerformanceMemoryOptions(
  options: PerformanceMemoryOptions,
): ResolvedPerformanceMemoryOptions {
  objectOption('options', options);
  const batch = options.batch === undefined ? {} : objectOption('batch', options.batch);
  const retention = options.retention === undefined ? {} : objectOption('retention', options.retention);
  const capture = options.capture === undefined ? {} : objectOption('capture', options.capture);
  const retry = options.retry === undefined ? {} : objectOption('retry', options.retry);
  if (capture.redact !== undefined && typeof capture.redact !== 'function') {
    throw new InvalidOptionError({ field: 'capture.redact', expected: 'a function', value: capture.redact });
  }
  if (options.storage !== undefined && (typeof options.storage !== 'object' || options.storage === null)) {
    throw new InvalidOptionError({
      field: 'storage',
      expected: 'an InvocationStore object (e.g. memoryStorage())',
      value: options.storage,
    });
  }
  const initialDelayMs = integerOption('retry.initialDelayMs', retry.initialDelayMs ?? 100, 1, DAY_MS);
  const maxRecords = integerOption('batch.maxRecords', batch.maxRecords ?? 500, 1, 1_000_000);
  const resolved: Omit<ResolvedPerformanceMemoryOptions, 'statistics'> = {
    batch: {
      maxRecords,
      maxDelayMs: integerOption('batch.maxDelayMs', batch.maxDelayMs ?? 50, 0, DAY_MS),
    },
    retention: {
      maxRecordsPerVersion: integerOption(
        'retention.maxRecordsPerVersion',
        retention.maxRecordsPerVersion ?? 10_000,
        1,
      ),
      maxRecords: integerOption('retention.maxRecords', retention.maxRecords ?? 1_000_000, 1),
      maxAgeMs:
        retention.maxAgeMs === undefined
          ? undefined
          : integerOption('retention.maxAgeMs', retention.maxAgeMs, 1),
      pruneEveryMs: integerOption('retention.pruneEveryMs', retention.pruneEveryMs ?? 60_000, 0, DAY_MS),
    },
    capture: {
      inputs: booleanOption('capture.inputs', capture.inputs ?? false),
      outputs: booleanOption('capture.outputs', capture.outputs ?? false),
      redact: capture.redact as ResolvedPerformanceMemoryOptions['capture']['redact'],
    },
    // Coupled defaults: derived from the option they depend on, so only a set value can conflict.
    maxBufferedRecords: integerOption(
      'maxBufferedRecords',
      options.maxBufferedRecords ?? Math.max(100_000, maxRecords),
      1,
    ),
    retry: {
      initialDelayMs,
      maxDelayMs: integerOption(
        'retry.maxDelayMs',
        retry.maxDelayMs ?? Math.max(30_000, initialDelayMs),
        initialDelayMs,
        DAY_MS,
      ),
    },
    maxErrorMessageLength: integerOption('maxErrorMessageLength', options.maxErrorMessageLength ?? 500, 16),
    logger: options.logger,
  };
  if (resolved.maxBufferedRecords < resolved.batch.maxRecords) {
    throw new InvalidOptionError({
      field: 'maxBufferedRecords',
      expected: `an integer ≥ batch.maxRecords (${resolved.batch.maxRecords})`,
      value: resolved.maxBufferedRecords,
    });
  }
  return Object.freeze({
    ...resolved,
    batch: Object.freeze(resolved.batch),
    retention: Object.freeze(resolved.retention),
    capture: Object.freeze(resolved.capture),
    retry: Object.freeze(resolved.retry),
    statistics: resolveStatisticsOptions(options.statistics, resolved.retention.maxRecordsPerVersion),
  });
}

/**
 * The statistics options with their defaults, frozen. The window never holds more than storage
 * keeps per version, so a read it answers matches the storage path after a prune too.
 */
function resolveStatisticsOptions(
  value: MemoryStatisticsOptions | undefined,
  maxRecordsPerVersion: number,
): ResolvedPerformanceMemoryOptions['statistics'] {
  const statistics = value === undefined ? {} : objectOption('statistics', value);
  const recentCalls = integerOption('statistics.recentCalls', statistics.recentCalls ?? 100, 0, 1_000_000);
  return Object.freeze({
    recentCalls: Math.min(recentCalls, maxRecordsPerVersion),
    maxVersions: integerOption('statistics.maxVersions', statistics.maxVersions ?? 2_000, 1, 10_000_000),
  });
}

import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { booleanOption, integerOption, objectOption } from '../core/options.ts';
import type { EvaluatorOptions, ResolvedEvaluatorOptions } from '../evaluation/evaluator-options.ts';
import { resolveEvaluatorOptions } from '../evaluation/evaluator-options.ts';
import { scoreWithOptions } from '../evaluation/score-summary.ts';
import { summaryOf } from '../memory/performance-memory.ts';
import { aggregateInvocations } from '../storage/aggregate-invocations.ts';
import {
  REGISTRY_AUDIT_TYPES,
  readImprovementOutcome,
  readVersionChange,
} from '../storage/audit-evidence.ts';
import { tallyFeedback } from '../storage/feedback-evidence.ts';
import { addAggregate, emptyAggregate } from '../storage/history-buckets.ts';
import type {
  AuditEntry,
  HistoryBucket,
  LatencyStats,
  StoredInvocation,
  ToolRecord,
  WindowAggregate,
} from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { ToolNotFoundError } from '../storage/storage-errors.ts';
import { aggregateOf, summarizeHistory } from '../storage/summarize-history.ts';
import { isDisabled, toolKind } from '../storage/tool-state.ts';
import { historyTimeline, type Timeline, type TimelineEntry } from './history-timeline.ts';
import type {
  ActiveSince,
  CallWindow,
  IdleGap,
  ImprovementReport,
  LifetimeWindow,
  PinChange,
  ReportPoint,
  ToolReport,
  VersionChange,
  VersionReport,
} from './improvement-report.ts';

/** Options of {@link collectReport}. */
export interface CollectReportOptions {
  /**
   * Only these tools, in this order. An unknown name throws `ToolNotFoundError`.
   * @default every tool, by name
   */
  tools?: readonly string[];
  /**
   * Calls per point of the time series: each point scores one bucket of consecutive calls.
   * @default the evaluator's `window` (20)
   */
  bucketSize?: number;
  /**
   * Most calls read per tool, the most recent ones; older calls are left out of the series
   * (the tool's report then says `truncated: true`).
   * @default 50_000
   */
  maxCallsPerTool?: number;
  /**
   * How points and versions are scored: the same options as `Evaluator` (weights, latency
   * target, …), so the report shows the scores the agent acts on.
   * @default the evaluator's defaults
   */
  evaluator?: EvaluatorOptions;
  /** `generatedAt` of the report, epoch ms. @default Date.now() */
  now?: number;
  /**
   * Shortest pause between two consecutive calls that the report marks as an idle gap (it must
   * also be at least 10 times the median pause between the tool's calls), ms.
   * @default 60_000
   */
  idleGapMs?: number;
  /**
   * Chart a tool's whole life when the store has `invocationHistory`: the calls that are not
   * among those read (pruned into rollups, or older than `maxCallsPerTool`) become points of
   * their own, marked `approximate` (their percentiles are estimated from a latency histogram),
   * and each version gets its `lifetime` numbers. `false` charts the calls read only, as for a
   * store without history.
   * @default true
   */
  history?: boolean;
  /**
   * The app's `creation.maxTools`, which the report shows the model-created tools against (the
   * report reads storage only, so it cannot know the app's value).
   * @default 50 (the agent's default)
   */
  maxTools?: number;
}

/** The agent's default `creation.maxTools`. */
const DEFAULT_MAX_TOOLS = 50;

const AUDIT_PAGE = 1000;
/** A pause must also be this many times the median pause to count as idle. */
const IDLE_GAP_FACTOR = 10;
/** Most idle gaps kept per tool (the longest). */
const MAX_GAPS = 10;

/**
 * Reads a report of how each tool improved from any `StorageAdapter`: versions with their
 * authors and reasons, a time series of score / success rate / p95 latency over consecutive
 * buckets of recorded calls (scored with `scoreSummary`, as the evaluator does), every
 * promotion and rollback with its diff, gate and evaluation evidence, and the outcomes of the
 * agent's improvement attempts. Read-only: it writes nothing.
 *
 * @example
 * ```ts
 * const storage = sqlJsStorage({ path: '.sia/agent.sqlite' });
 * try {
 *   const report = await collectReport(storage, { bucketSize: 10 });
 *   await writeFile('report.html', renderHtmlReport(report, { title: 'Exchange-rate agent' }));
 * } finally {
 *   await storage.close();
 * }
 * ```
 */
export async function collectReport(
  storage: StorageAdapter,
  options: CollectReportOptions = {},
): Promise<ImprovementReport> {
  objectOption('options', options);
  if (typeof storage !== 'object' || storage === null || typeof storage.listTools !== 'function') {
    throw new InvalidOptionError({
      field: 'storage',
      expected: 'a StorageAdapter, e.g. sqlJsStorage({ path })',
      value: storage,
    });
  }
  const evaluator = resolveEvaluatorOptions(options.evaluator ?? {});
  const bucketSize =
    options.bucketSize === undefined
      ? evaluator.window
      : integerOption('bucketSize', options.bucketSize, 1, 1e6);
  const maxCallsPerTool =
    options.maxCallsPerTool === undefined
      ? 50_000
      : integerOption('maxCallsPerTool', options.maxCallsPerTool, 1, 1e7);
  if (options.now !== undefined && !Number.isFinite(options.now)) {
    throw new InvalidOptionError({ field: 'now', expected: 'epoch ms', value: options.now });
  }
  const generatedAt = options.now ?? Date.now();
  const idleGapMs =
    options.idleGapMs === undefined ? 60_000 : integerOption('idleGapMs', options.idleGapMs, 1, 1e12);
  const history = options.history === undefined ? true : booleanOption('history', options.history);
  const maxTools =
    options.maxTools === undefined ? DEFAULT_MAX_TOOLS : integerOption('maxTools', options.maxTools, 0, 1e9);

  const records = await selectTools(storage, options.tools);
  const tools: ToolReport[] = [];
  for (const record of records) {
    tools.push(
      await toolReport(storage, record, { bucketSize, maxCallsPerTool, evaluator, idleGapMs, history }),
    );
  }
  return {
    generatedAt,
    storage: storage.name,
    bucketSize,
    maxCallsPerTool,
    createdByModel: await countCreatedByModel(storage, options.tools === undefined ? tools : undefined),
    maxTools,
    tools,
  };
}

/**
 * Tools whose version 1 the generator wrote (what `creation.maxTools` limits), over the whole
 * store: from the reports when they cover every tool, else read.
 */
async function countCreatedByModel(
  storage: StorageAdapter,
  everyTool: readonly ToolReport[] | undefined,
): Promise<number> {
  if (everyTool !== undefined)
    return everyTool.filter((tool) => tool.versions[0]?.author === GENERATOR).length;
  let count = 0;
  for (const tool of await storage.listTools())
    if ((await storage.getVersion(tool.name, 1))?.author === GENERATOR) count += 1;
  return count;
}

const GENERATOR = 'generator';

async function selectTools(
  storage: StorageAdapter,
  names: readonly string[] | undefined,
): Promise<ToolRecord[]> {
  if (names === undefined) return storage.listTools();
  if (!Array.isArray(names))
    throw new InvalidOptionError({ field: 'tools', expected: 'an array of tool names', value: names });
  const found: ToolRecord[] = [];
  for (const [index, name] of names.entries()) {
    if (typeof name !== 'string')
      throw new InvalidOptionError({ field: `tools[${index}]`, expected: 'a tool name', value: name });
    const tool = await storage.getTool(name);
    if (!tool) throw new ToolNotFoundError(name);
    found.push(tool);
  }
  return found;
}

interface Settings {
  readonly bucketSize: number;
  readonly maxCallsPerTool: number;
  readonly evaluator: ResolvedEvaluatorOptions;
  readonly idleGapMs: number;
  readonly history: boolean;
}

async function toolReport(
  storage: StorageAdapter,
  tool: ToolRecord,
  settings: Settings,
): Promise<ToolReport> {
  const [versions, newestFirst, audit] = await Promise.all([
    storage.listVersions(tool.name),
    storage.recentInvocations({ toolName: tool.name, limit: settings.maxCallsPerTool + 1 }),
    readAudit(storage, tool.name),
  ]);
  const truncated = newestFirst.length > settings.maxCallsPerTool;
  const calls = truncated ? newestFirst.slice(0, settings.maxCallsPerTool) : newestFirst;
  // Read after the calls: a prune in between moves calls into rollups of the same buckets.
  const buckets =
    settings.history && storage.invocationHistory !== undefined
      ? await storage.invocationHistory({ toolName: tool.name })
      : undefined;
  const bucketsByVersion = new Map<number, HistoryBucket[]>();
  for (const bucket of buckets ?? []) {
    const own = bucketsByVersion.get(bucket.version);
    if (own) own.push(bucket);
    else bucketsByVersion.set(bucket.version, [bucket]);
  }
  const oldestFirst = [...calls].reverse();
  const timeline = historyTimeline(oldestFirst, buckets ?? []);
  const changes = audit.flatMap((entry) => versionChangeAt(entry, timeline) ?? []);
  const feedback = tallyFeedback(audit);
  return {
    name: tool.name,
    description: tool.description,
    createdAt: tool.createdAt,
    activeVersion: tool.activeVersion,
    pinned: tool.pinned,
    kind: toolKind(tool),
    disabled: isDisabled(tool),
    counters: { ...tool.counters },
    calls: calls.length,
    historyCalls: timeline.historyCalls,
    truncated,
    versions: versions.map((version) => {
      const own = calls.filter((call) => call.version === version.version);
      const aggregate = aggregateInvocations(own);
      const window = aggregateInvocations(own.slice(0, settings.bucketSize));
      const scored = scoreWithOptions(
        summaryOf(tool.name, version.version, window),
        settings.evaluator,
        null,
      );
      const insufficient = scored.reasons.some((reason) => reason.code === 'INSUFFICIENT_DATA');
      return {
        version: version.version,
        ...(version.label === undefined ? {} : { label: version.label }),
        author: version.author,
        reason: version.reason,
        createdAt: version.createdAt,
        parentVersion: version.parentVersion,
        active: version.version === tool.activeVersion,
        calls: own.length,
        feedback: feedback.get(version.version) ?? { correct: 0, wrong: 0 },
        successRate: own.length === 0 ? null : aggregate.successes / aggregate.invocations,
        p95LatencyMs: aggregate.latencyMs?.p95 ?? null,
        score: own.length === 0 || insufficient ? null : scored.score,
        recent: callWindow(own.slice(0, settings.bucketSize)),
        lifetime: buckets === undefined ? null : lifetimeOf(bucketsByVersion.get(version.version) ?? []),
      } satisfies VersionReport;
    }),
    series: series(tool.name, timeline, settings),
    changes,
    pins: audit.flatMap((entry) => pinChange(entry, timeline) ?? []),
    gaps: idleGaps(oldestFirst, timeline, settings.idleGapMs),
    activeSince: activeSince(tool, calls, changes),
    improvements: audit.flatMap((entry) => readImprovementOutcome(entry) ?? []),
  };
}

/** A version's whole life from its own history buckets (stored rows and rollups). */
function lifetimeOf(own: readonly HistoryBucket[]): LifetimeWindow {
  return {
    ...callWindowOf(summarizeHistory(own)),
    rolledUpCalls: own.reduce((sum, bucket) => sum + bucket.rolledUpCalls, 0),
  };
}

function callWindow(newestFirst: readonly StoredInvocation[]): CallWindow {
  return callWindowOf(aggregateInvocations(newestFirst));
}

/** Calls, success rate and p95 of an aggregate, as a report states a window of calls. */
export function callWindowOf(aggregate: WindowAggregate): CallWindow {
  return {
    calls: aggregate.invocations,
    successRate: aggregate.invocations === 0 ? null : aggregate.successes / aggregate.invocations,
    p95LatencyMs: aggregate.latencyMs?.p95 ?? null,
  };
}

function activeSince(
  tool: ToolRecord,
  newestFirst: readonly StoredInvocation[],
  changes: readonly VersionChange[],
): ActiveSince {
  const last = changes.findLast((change) => change.toVersion === tool.activeVersion);
  const since = last?.at ?? null;
  const own = newestFirst.filter(
    (call) => call.version === tool.activeVersion && (since === null || call.startedAt >= since),
  );
  return { version: tool.activeVersion, at: since, ...callWindow(own) };
}

/**
 * Pauses of at least `minimumMs` and {@link IDLE_GAP_FACTOR} median pauses between consecutive
 * calls read, the longest few, placed on the timeline's axis; a pause during which history
 * calls started was not idle.
 */
function idleGaps(
  callsOldestFirst: readonly StoredInvocation[],
  timeline: Timeline,
  minimumMs: number,
): IdleGap[] {
  const startTimes = callsOldestFirst.map((call) => call.startedAt);
  if (startTimes.length < 2) return [];
  const pauses = startTimes.slice(1).map((time, index) => time - (startTimes[index] as number));
  const sorted = [...pauses].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as number;
  const threshold = Math.max(minimumMs, median * IDLE_GAP_FACTOR);
  const gaps = pauses.flatMap((pause, index) => {
    const from = startTimes[index] as number;
    const to = startTimes[index + 1] as number;
    return pause >= threshold && !timeline.historyBetween(from, to)
      ? [{ afterCall: timeline.afterCallRead(index), from, to }]
      : [];
  });
  return gaps
    .sort((a, b) => b.to - b.from - (a.to - a.from))
    .slice(0, MAX_GAPS)
    .sort((a, b) => a.afterCall - b.afterCall);
}

function pinChange(entry: AuditEntry, timeline: Timeline): PinChange | undefined {
  const kind =
    entry.type === REGISTRY_AUDIT_TYPES.pinned
      ? 'pinned'
      : entry.type === REGISTRY_AUDIT_TYPES.unpinned
        ? 'unpinned'
        : undefined;
  if (kind === undefined) return undefined;
  return {
    kind,
    at: entry.at,
    atCall: timeline.callsBefore(entry.at),
    actor: entry.actor,
    reason: entry.reason,
  };
}

function versionChangeAt(entry: AuditEntry, timeline: Timeline): VersionChange | undefined {
  const change = readVersionChange(entry);
  return change && { ...change, atCall: timeline.callsBefore(change.at) };
}

/** Every audit entry of the tool, oldest first, read in pages so a long log is not one query. */
async function readAudit(storage: StorageAdapter, toolName: string): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let afterId: number | undefined;
  for (;;) {
    const page = await storage.listAudit({
      toolName,
      limit: AUDIT_PAGE,
      ...(afterId === undefined ? {} : { afterId }),
    });
    entries.push(...page);
    const last = page.at(-1);
    if (page.length < AUDIT_PAGE || last === undefined) return entries;
    afterId = last.id;
  }
}

/**
 * Points of consecutive calls, oldest first: runs of calls read make points of `bucketSize`
 * calls (the last of a run may be smaller), exact; runs of history calls make points of at
 * least `bucketSize` calls (a history bucket is never split), approximate. A point never mixes
 * the two.
 */
function series(toolName: string, timeline: Timeline, settings: Settings): ReportPoint[] {
  const points: ReportPoint[] = [];
  let run: TimelineEntry[] = [];
  let runCalls = 0;
  let position = 0;
  const flush = () => {
    if (run.length === 0) return;
    points.push(pointOf(toolName, run, position + 1, settings));
    position += runCalls;
    run = [];
    runCalls = 0;
  };
  for (const entry of timeline.entries) {
    if (run.length > 0 && (run[0] as TimelineEntry).kind !== entry.kind) flush();
    run.push(entry);
    runCalls += entry.kind === 'call' ? 1 : entry.aggregate.calls;
    if (runCalls >= settings.bucketSize) flush();
  }
  flush();
  return points;
}

function pointOf(
  toolName: string,
  run: readonly TimelineEntry[],
  firstCall: number,
  settings: Settings,
): ReportPoint {
  const versions = new Set<number>();
  let aggregate: WindowAggregate;
  // A run holds entries of one kind (see series).
  if ((run[0] as TimelineEntry).kind === 'call') {
    const newestFirst: StoredInvocation[] = [];
    for (let index = run.length - 1; index >= 0; index -= 1) {
      const { call } = run[index] as Extract<TimelineEntry, { kind: 'call' }>;
      newestFirst.push(call);
      versions.add(call.version);
    }
    aggregate = aggregateInvocations(newestFirst);
  } else {
    const total = emptyAggregate();
    for (const entry of run)
      if (entry.kind === 'history') {
        addAggregate(total, entry.aggregate);
        versions.add(entry.version);
      }
    aggregate = aggregateOf(total, (run[0] as TimelineEntry).at, (run.at(-1) as TimelineEntry).at);
  }
  const latency = aggregate.latencyMs as LatencyStats;
  const scored = scoreWithOptions(summaryOf(toolName, null, aggregate), settings.evaluator, null);
  return {
    firstCall,
    from: aggregate.firstAt as number,
    to: aggregate.lastAt as number,
    calls: aggregate.invocations,
    successRate: aggregate.successes / aggregate.invocations,
    p50LatencyMs: latency.p50,
    p95LatencyMs: latency.p95,
    score: scored.score,
    insufficientData: scored.reasons.some((reason) => reason.code === 'INSUFFICIENT_DATA'),
    versions: [...versions].sort((a, b) => a - b),
    approximate: (run[0] as TimelineEntry).kind === 'history',
  };
}

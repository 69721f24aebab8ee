import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { integerOption, objectOption } from '../core/options.ts';
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
import type { AuditEntry, StoredInvocation, ToolRecord } from '../storage/records.ts';
import type { StorageAdapter } from '../storage/storage-adapter.ts';
import { ToolNotFoundError } from '../storage/storage-errors.ts';
import type {
  ActiveSince,
  CallWindow,
  IdleGap,
  ImprovementReport,
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
}

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

  const records = await selectTools(storage, options.tools);
  const tools: ToolReport[] = [];
  for (const record of records) {
    tools.push(await toolReport(storage, record, { bucketSize, maxCallsPerTool, evaluator, idleGapMs }));
  }
  return { generatedAt, storage: storage.name, bucketSize, maxCallsPerTool, tools };
}

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
  const startTimes = calls.map((call) => call.startedAt).reverse();
  const changes = audit.flatMap((entry) => versionChangeAt(entry, startTimes) ?? []);
  return {
    name: tool.name,
    description: tool.description,
    createdAt: tool.createdAt,
    activeVersion: tool.activeVersion,
    pinned: tool.pinned,
    counters: { ...tool.counters },
    calls: calls.length,
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
        author: version.author,
        reason: version.reason,
        createdAt: version.createdAt,
        parentVersion: version.parentVersion,
        active: version.version === tool.activeVersion,
        calls: own.length,
        successRate: own.length === 0 ? null : aggregate.successes / aggregate.invocations,
        p95LatencyMs: aggregate.latencyMs?.p95 ?? null,
        score: own.length === 0 || insufficient ? null : scored.score,
        recent: callWindow(own.slice(0, settings.bucketSize)),
      } satisfies VersionReport;
    }),
    series: series(tool.name, calls, settings),
    changes,
    pins: audit.flatMap((entry) => pinChange(entry, startTimes) ?? []),
    gaps: idleGaps(startTimes, settings.idleGapMs),
    activeSince: activeSince(tool, calls, changes),
    improvements: audit.flatMap((entry) => readImprovementOutcome(entry) ?? []),
  };
}

function callWindow(newestFirst: readonly StoredInvocation[]): CallWindow {
  const aggregate = aggregateInvocations(newestFirst);
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

/** Calls (start times ascending) that started before `at`: a position on the call-order axis. */
function callsBefore(startTimes: readonly number[], at: number): number {
  let low = 0;
  let high = startTimes.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((startTimes[middle] as number) < at) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Pauses of at least `minimumMs` and {@link IDLE_GAP_FACTOR} median pauses, the longest few. */
function idleGaps(startTimes: readonly number[], minimumMs: number): IdleGap[] {
  if (startTimes.length < 2) return [];
  const pauses = startTimes.slice(1).map((time, index) => time - (startTimes[index] as number));
  const sorted = [...pauses].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as number;
  const threshold = Math.max(minimumMs, median * IDLE_GAP_FACTOR);
  const gaps = pauses.flatMap((pause, index) =>
    pause >= threshold
      ? [{ afterCall: index + 1, from: startTimes[index] as number, to: startTimes[index + 1] as number }]
      : [],
  );
  return gaps
    .sort((a, b) => b.to - b.from - (a.to - a.from))
    .slice(0, MAX_GAPS)
    .sort((a, b) => a.afterCall - b.afterCall);
}

function pinChange(entry: AuditEntry, startTimes: readonly number[]): PinChange | undefined {
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
    atCall: callsBefore(startTimes, entry.at),
    actor: entry.actor,
    reason: entry.reason,
  };
}

function versionChangeAt(entry: AuditEntry, startTimes: readonly number[]): VersionChange | undefined {
  const change = readVersionChange(entry);
  return change && { ...change, atCall: callsBefore(startTimes, change.at) };
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

/** Consecutive buckets of `bucketSize` calls, oldest first; the last one may be smaller. */
function series(
  toolName: string,
  newestFirst: readonly StoredInvocation[],
  settings: Settings,
): ReportPoint[] {
  const oldestFirst = [...newestFirst].reverse();
  const points: ReportPoint[] = [];
  for (let start = 0; start < oldestFirst.length; start += settings.bucketSize) {
    const bucket = oldestFirst.slice(start, start + settings.bucketSize);
    const aggregate = aggregateInvocations(bucket.reverse());
    const latency = aggregate.latencyMs;
    if (latency === null || aggregate.firstAt === null || aggregate.lastAt === null) continue;
    const scored = scoreWithOptions(summaryOf(toolName, null, aggregate), settings.evaluator, null);
    points.push({
      firstCall: start + 1,
      from: aggregate.firstAt,
      to: aggregate.lastAt,
      calls: aggregate.invocations,
      successRate: aggregate.successes / aggregate.invocations,
      p50LatencyMs: latency.p50,
      p95LatencyMs: latency.p95,
      score: scored.score,
      insufficientData: scored.reasons.some((reason) => reason.code === 'INSUFFICIENT_DATA'),
      versions: [...new Set(bucket.map((call) => call.version))].sort((a, b) => a - b),
    });
  }
  return points;
}

import { callWindowOf } from '../../report/collect-report.ts';
import type { CallWindow } from '../../report/improvement-report.ts';
import {
  type AuditedVersionChange,
  type GateSummary,
  IMPROVEMENT_AUDIT_TYPE,
  readEvaluationCalls,
  readImprovementOutcome,
  readVersionChange,
} from '../../storage/audit-evidence.ts';
import type { AuditEntry, HistoryBucket } from '../../storage/records.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../storage/rollup-tiers.ts';
import type { StorageAdapter } from '../../storage/storage-adapter.ts';
import { summarizeHistory } from '../../storage/summarize-history.ts';
import type { CliCommand } from '../cli-command.ts';
import { CliUsageError } from '../cli-errors.ts';
import { formatDuration, formatMs, formatRatio, formatTime, json, orDash } from '../format-values.ts';
import { requireTool } from '../require-tool.ts';
import { terminalText, textTable, truncate } from '../text-table.ts';

/** Widths the calls-over-time table picks from, finest first. */
const PERIODS_MS = [1, 5, 15, 60, 360, 1440, 10_080, 43_200].map((minutes) => minutes * MINUTE_MS);
/** Most periods the automatic width leaves in the calls-over-time table. */
const MAX_PERIODS = 24;

/** `sia history <tool>`: versions, calls over the tool's whole life, and every audit entry. */
export const historyCommand: CliCommand = {
  name: 'history',
  readOnly: true,
  summary: "a tool's versions, its calls over its whole life, and its audit log: who changed what, why",
  positionals: ['<tool>'],
  options: {
    json: { type: 'boolean', description: 'print versions, history buckets and audit entries as JSON' },
    every: {
      type: 'string',
      value: '<duration>',
      description: 'period of the calls-over-time table: 30m, 6h, 1d, … (default: at most 24 periods)',
    },
  },
  help: `Prints every version of the tool (author, parent, reason; * marks the active one) with its
calls, success rate and p95 latency over its whole life, the calls per version over time, and
the audit log oldest first: creation, candidates, promotions (with the evaluation score and the
regression gate's result), rollbacks, pins and the agent's improvement attempts.
The whole life includes calls whose rows were pruned: they are kept as rollups (counts, a
latency histogram and error codes per minute, merged into hours after a day and into days
after 30), so P95 ≈ is estimated from the histogram and old periods may be coarser than --every.`,
  async run(context) {
    const name = context.args[0] as string;
    const every = durationOption(context.values.every);
    const storage = await context.storage();
    const tool = await requireTool(storage, name, context.target);
    const [versions, audit] = await Promise.all([
      storage.listVersions(name),
      storage.listAudit({ toolName: name }),
    ]);
    const history = await readHistory(storage, name, every);
    const minutesByVersion = new Map<number, HistoryBucket[]>();
    for (const bucket of history?.minutes ?? []) {
      const own = minutesByVersion.get(bucket.version);
      if (own) own.push(bucket);
      else minutesByVersion.set(bucket.version, [bucket]);
    }
    const lifetimeOf = (version: number): CallWindow =>
      callWindowOf(summarizeHistory(minutesByVersion.get(version) ?? []));
    const changes = new Map<number, AuditedVersionChange>();
    for (const entry of audit) {
      const change = readVersionChange(entry);
      if (change) {
        changes.set(entry.id, change);
      }
    }

    if (context.values.json === true) {
      context.out(
        json({
          tool,
          versions: versions.map(({ source: _source, ...version }) => ({
            ...version,
            lifetime: history === undefined ? null : lifetimeOf(version.version),
          })),
          history: history === undefined ? null : { bucketMs: history.bucketMs, buckets: history.buckets },
          audit: audit.map((entry) => ({
            ...entry,
            ...(changes.has(entry.id) ? { summary: changes.get(entry.id) } : {}),
          })),
        }),
      );
      return;
    }
    const lifetimeHeaders = history === undefined ? [] : ['CALLS', 'SUCCESS', 'P95 ≈'];
    const lines = [
      `${terminalText(tool.name)}: ${terminalText(tool.description)}`,
      `active v${tool.activeVersion}, ${tool.pinned ? 'pinned' : 'not pinned'}, ${versions.length} versions, ${tool.counters.rewrites} rewrites`,
      '',
      textTable(
        ['VERSION', 'AUTHOR', 'PARENT', 'CREATED', ...lifetimeHeaders, 'REASON'],
        versions.map((version) => [
          `v${version.version}${version.version === tool.activeVersion ? ' *' : ''}`,
          version.author,
          version.parentVersion === null ? '–' : `v${version.parentVersion}`,
          formatTime(version.createdAt),
          ...(history === undefined ? [] : windowCells(lifetimeOf(version.version))),
          terminalText(version.reason),
        ]),
      ),
      '',
    ];
    if (history !== undefined) lines.push(...periodTable(history), '');
    const rows: string[][] = [];
    for (const entry of audit) {
      rows.push([
        formatTime(entry.at),
        terminalText(
          entry.type === IMPROVEMENT_AUDIT_TYPE ? 'improvement' : entry.type.replace(/^tool:/, ''),
        ),
        versionsOf(entry),
        terminalText(truncate(entry.actor, 24)),
        terminalText(entryReason(entry)),
      ]);
      const change = changes.get(entry.id);
      for (const detail of change ? changeDetails(change, entry) : []) rows.push(['', '', '', '', detail]);
      // The gate's reason names the library's way to add cases; say the CLI's.
      if (entry.type === IMPROVEMENT_AUDIT_TYPE && entryReason(entry).includes('NO_TEST_CASES')) {
        rows.push([
          '',
          '',
          '',
          '',
          `↳ add a case the gate can run: sia tests add ${terminalText(name)} --help`,
        ]);
      }
    }
    lines.push(
      audit.length === 0
        ? 'no audit entries'
        : textTable(['TIME', 'EVENT', 'VERSIONS', 'ACTOR', 'REASON'], rows),
    );
    context.out(lines.join('\n'));
  },
};

function versionsOf(entry: AuditEntry): string {
  if (
    entry.fromVersion !== undefined &&
    entry.toVersion !== undefined &&
    entry.fromVersion !== entry.toVersion
  )
    return `v${entry.fromVersion}→v${entry.toVersion}`;
  const version = entry.toVersion ?? entry.fromVersion;
  return version === undefined ? '–' : `v${version}`;
}

function entryReason(entry: AuditEntry): string {
  const reasons = readImprovementOutcome(entry)?.reasons ?? [];
  return reasons.length === 0 ? entry.reason : `${entry.reason}: ${reasons.join('; ')}`;
}

function changeDetails(change: AuditedVersionChange, entry: AuditEntry): string[] {
  const details: string[] = [];
  if (change.evaluation) {
    details.push(`↳ evaluation ${formatRatio(change.evaluation.score)} ${evaluationWindow(entry)}`);
  }
  if (change.gate) details.push(`↳ ${gateText(change.gate)}`);
  if (change.shadow) {
    details.push(
      `↳ shadow: ${change.shadow.calls} calls, candidate failed ${change.shadow.candidateFailures} (active ${change.shadow.activeFailures})`,
    );
  }
  return details;
}

/**
 * Which calls the evaluation behind a change scored: the changed-from version's last N calls
 * when the audit evidence says how many (agents record the whole evaluation), else only that
 * it is the evaluation that triggered the change.
 */
function evaluationWindow(entry: AuditEntry): string {
  const calls = readEvaluationCalls(entry);
  if (calls === null) {
    return '(the score that triggered the change)';
  }
  const version = entry.fromVersion === undefined ? 'the version' : `v${entry.fromVersion}`;
  return `(${version} over its last ${calls} call${calls === 1 ? '' : 's'}, which triggered the change)`;
}

function gateText(gate: GateSummary): string {
  const latency =
    gate.candidateMedianMs === null
      ? ''
      : `, median ${formatMs(gate.candidateMedianMs)} vs ${orDash(gate.baselineMedianMs, formatMs)}`;
  const errors =
    gate.candidateErrorRate === null
      ? ''
      : `, error rate ${formatRatio(gate.candidateErrorRate)} vs ${orDash(gate.baselineErrorRate, formatRatio)}`;
  const reasons =
    gate.reasons.length + gate.evidence.length === 0
      ? ''
      : `: ${[...gate.reasons, ...gate.evidence].join('; ')}`;
  return terminalText(
    `gate ${gate.verdict}: ${gate.passedCases}/${gate.cases} cases passed${latency}${errors}${reasons}`,
  );
}

/** A tool's history as the command shows it: on a one-minute grid, and on the table's. */
interface ToolHistory {
  /** Width of the table's periods, ms. */
  readonly bucketMs: number;
  /** The table's buckets (a rollup coarser than `bucketMs` keeps its own width). */
  readonly buckets: readonly HistoryBucket[];
  /** Every call on the finest grid, for whole-life numbers. */
  readonly minutes: readonly HistoryBucket[];
}

/**
 * The tool's history, or `undefined` for a store without it. Without `every`, the period is the
 * finest of {@link PERIODS_MS} that covers the tool's life in at most {@link MAX_PERIODS}.
 */
async function readHistory(
  storage: StorageAdapter,
  toolName: string,
  every: number | undefined,
): Promise<ToolHistory | undefined> {
  if (storage.invocationHistory === undefined) return undefined;
  const minutes = await storage.invocationHistory({ toolName, bucketMs: MINUTE_MS });
  const first = minutes[0];
  const end = minutes.reduce((last, bucket) => Math.max(last, bucket.start + bucket.widthMs), -Infinity);
  const span = first === undefined ? 0 : end - first.start;
  const bucketMs =
    every ??
    PERIODS_MS.find((width) => Math.ceil(span / width) <= MAX_PERIODS) ??
    (PERIODS_MS.at(-1) as number);
  const buckets = bucketMs === MINUTE_MS ? minutes : await storage.invocationHistory({ toolName, bucketMs });
  return { bucketMs, buckets, minutes };
}

/** The calls-over-time table: one row per (period, version), oldest first. */
function periodTable(history: ToolHistory): string[] {
  if (history.buckets.length === 0) return ['no calls recorded'];
  const rolledUp = history.buckets.reduce((sum, bucket) => sum + bucket.rolledUpCalls, 0);
  const note =
    rolledUp === 0
      ? ''
      : `; ${rolledUp} calls known from rollups only (their rows were pruned), older periods possibly coarser`;
  return [
    `calls over time, per ${formatDuration(history.bucketMs)} and version (P95 ≈ estimated from a latency histogram${note})`,
    textTable(
      ['FROM', 'TO', 'VERSION', 'CALLS', 'SUCCESS', 'P95 ≈', 'FROM ROLLUPS'],
      history.buckets.map((bucket) => [
        formatTime(bucket.start),
        formatTime(bucket.start + bucket.widthMs),
        `v${bucket.version}`,
        ...windowCells(callWindowOf(summarizeHistory([bucket]))),
        String(bucket.rolledUpCalls),
      ]),
    ),
  ];
}

/** CALLS, SUCCESS and P95 of a window of calls. */
function windowCells(window: CallWindow): string[] {
  return [
    String(window.calls),
    orDash(window.successRate, formatRatio),
    orDash(window.p95LatencyMs, formatMs),
  ];
}

/** `--every`: a whole number of minutes, hours or days (`30m`, `6h`, `1d`), in ms. */
function durationOption(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const match = /^([1-9][0-9]{0,5})(m|h|d)$/.exec(String(value));
  if (!match)
    throw new CliUsageError(
      `--every must be a whole number of minutes, hours or days (30m, 6h, 1d), got "${String(value)}"`,
      'history',
    );
  const unit = { m: MINUTE_MS, h: HOUR_MS, d: DAY_MS }[match[2] as 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

import {
  type AuditedVersionChange,
  type GateSummary,
  IMPROVEMENT_AUDIT_TYPE,
  readEvaluationCalls,
  readImprovementOutcome,
  readVersionChange,
} from '../../storage/audit-evidence.ts';
import type { AuditEntry } from '../../storage/records.ts';
import type { CliCommand } from '../cli-command.ts';
import { formatMs, formatRatio, formatTime, json, orDash } from '../format-values.ts';
import { requireTool } from '../require-tool.ts';
import { terminalText, textTable, truncate } from '../text-table.ts';

/** `sia history <tool>`: versions and every audit entry, with gate results of promotions. */
export const historyCommand: CliCommand = {
  name: 'history',
  readOnly: true,
  summary: "a tool's versions and its audit log: who changed what, why, and the gate results",
  positionals: ['<tool>'],
  options: { json: { type: 'boolean', description: 'print versions and audit entries as JSON' } },
  help: `Prints every version of the tool (author, parent, reason; * marks the active one) and its
audit log oldest first: creation, candidates, promotions (with the evaluation score and the
regression gate's result), rollbacks, pins and the agent's improvement attempts.`,
  async run(context) {
    const name = context.args[0] as string;
    const storage = await context.storage();
    const tool = await requireTool(storage, name, context.target);
    const [versions, audit] = await Promise.all([
      storage.listVersions(name),
      storage.listAudit({ toolName: name }),
    ]);
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
          versions: versions.map(({ source: _source, ...version }) => version),
          audit: audit.map((entry) => ({
            ...entry,
            ...(changes.has(entry.id) ? { summary: changes.get(entry.id) } : {}),
          })),
        }),
      );
      return;
    }
    const lines = [
      `${terminalText(tool.name)}: ${terminalText(tool.description)}`,
      `active v${tool.activeVersion}, ${tool.pinned ? 'pinned' : 'not pinned'}, ${versions.length} versions, ${tool.counters.rewrites} rewrites`,
      '',
      textTable(
        ['VERSION', 'AUTHOR', 'PARENT', 'CREATED', 'REASON'],
        versions.map((version) => [
          `v${version.version}${version.version === tool.activeVersion ? ' *' : ''}`,
          version.author,
          version.parentVersion === null ? '–' : `v${version.parentVersion}`,
          formatTime(version.createdAt),
          terminalText(version.reason),
        ]),
      ),
      '',
    ];
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
  const reasons = gate.reasons.length === 0 ? '' : `: ${gate.reasons.join('; ')}`;
  return terminalText(
    `gate ${gate.verdict}: ${gate.passedCases}/${gate.cases} cases passed${latency}${errors}${reasons}`,
  );
}

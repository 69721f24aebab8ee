import { scoreSummary } from '../../evaluation/score-summary.ts';
import { summaryOf } from '../../memory/performance-memory.ts';
import { FEEDBACK_AUDIT_TYPE, type FeedbackTally, tallyFeedback } from '../../storage/feedback-evidence.ts';
import type { AuditEntry } from '../../storage/records.ts';
import type { StorageAdapter } from '../../storage/storage-adapter.ts';
import { isDisabled, toolKind } from '../../storage/tool-state.ts';
import type { CliCommand } from '../cli-command.ts';
import { formatMs, formatRatio, json, orDash } from '../format-values.ts';
import { createdByModel, DEFAULT_MAX_TOOLS, maxToolsLine } from '../model-created.ts';
import { countOption } from '../parse-values.ts';
import { terminalText, textTable } from '../text-table.ts';

/** The evaluator's default window: the score `sia tools` shows is the one the agent acts on. */
const WINDOW = 20;

/** `sia tools`: every tool with its active version, pin and the active version's score. */
export const toolsCommand: CliCommand = {
  name: 'tools',
  readOnly: true,
  summary: `list tools: kind, active version, pinned, disabled, and its score over its last ${WINDOW} calls`,
  positionals: [],
  options: {
    json: { type: 'boolean', description: 'print JSON instead of a table' },
    'max-tools': {
      type: 'string',
      value: '<n>',
      description: `the app's creation.maxTools, to compare the model-created tools with (default ${DEFAULT_MAX_TOOLS})`,
    },
  },
  help: `Lists every tool with its active version, whether it is pinned, and how the active version
did over its last ${WINDOW} calls (the evaluator's default window and weights): CALLS (up to
${WINDOW}), SCORE, SUCCESS rate and P95 latency, all over that window. A score needs at least 3
calls; fewer print "–". FEEDBACK counts the app's verdicts on the active version's answers
(agent.feedback, from the audit log: any process's), apart from SUCCESS, which only counts calls
that did not throw. sia report shows every recorded call, by version and over time.
KIND is "sandboxed" (source run in the sandbox, improved by the library) or "host" (the app's own
function: measured, never rewritten; its versions are the app's labels, shown as "v3 (2026.12.1)").
DISABLED tools refuse their calls (sia disable / sia enable); their history is kept. The last line
counts the tools the model created (version 1 written by the generator) against creation.maxTools:
sia only sees the database, so pass the app's value with --max-tools (the default is ${DEFAULT_MAX_TOOLS}).`,
  async run(context) {
    const maxTools = countOption(context.values['max-tools'], '--max-tools', 'tools');
    const storage = await context.storage();
    const rows = [];
    let modelCreated = 0;
    for (const tool of await storage.listTools()) {
      const [versions, aggregate, feedback, active] = await Promise.all([
        storage.listVersions(tool.name),
        storage.aggregateWindow({ toolName: tool.name, version: tool.activeVersion, limit: WINDOW }),
        feedbackOf(storage, tool.name),
        storage.getActiveVersion(tool.name),
      ]);
      if (createdByModel(versions)) modelCreated += 1;
      const scored = scoreSummary(summaryOf(tool.name, tool.activeVersion, aggregate));
      const insufficientData = scored.reasons.some((reason) => reason.code === 'INSUFFICIENT_DATA');
      rows.push({
        name: tool.name,
        kind: toolKind(tool),
        activeVersion: tool.activeVersion,
        activeLabel: active?.label ?? null,
        pinned: tool.pinned,
        disabled: isDisabled(tool),
        versions: versions.length,
        rewrites: tool.counters.rewrites,
        calls: aggregate.invocations,
        score: insufficientData ? null : scored.score,
        successRate: aggregate.invocations === 0 ? null : aggregate.successes / aggregate.invocations,
        p95LatencyMs: aggregate.latencyMs?.p95 ?? null,
        feedback: feedback.get(tool.activeVersion) ?? { correct: 0, wrong: 0 },
      });
    }
    if (context.values.json === true) {
      context.out(
        json({
          database: context.target,
          window: WINDOW,
          tools: rows,
          createdByModel: modelCreated,
          maxTools: maxTools ?? DEFAULT_MAX_TOOLS,
          maxToolsGiven: maxTools !== undefined,
        }),
      );
      return;
    }
    if (rows.length === 0) {
      context.out(`no tools in ${context.target} yet`);
      return;
    }
    context.out(
      `window: the active version's last ${WINDOW} calls (the evaluator's window); CALLS counts them, SCORE, SUCCESS and P95 are over them`,
    );
    context.out(
      textTable(
        [
          'TOOL',
          'KIND',
          'ACTIVE',
          'PINNED',
          'DISABLED',
          'VERSIONS',
          'CALLS',
          'SCORE',
          'SUCCESS',
          'P95',
          'FEEDBACK',
        ],
        rows.map((row) => [
          terminalText(row.name),
          row.kind,
          row.activeLabel === null
            ? `v${row.activeVersion}`
            : `v${row.activeVersion} (${terminalText(row.activeLabel)})`,
          row.pinned ? 'yes' : 'no',
          row.disabled ? 'yes' : 'no',
          String(row.versions),
          String(row.calls),
          orDash(row.score, formatRatio),
          orDash(row.successRate, formatRatio),
          orDash(row.p95LatencyMs, formatMs),
          feedbackText(row.feedback),
        ]),
      ),
    );
    context.out(maxToolsLine(modelCreated, maxTools));
  },
};

/** `2 wrong, 5 correct`, or `–` without feedback. */
function feedbackText(tally: FeedbackTally): string {
  if (tally.correct === 0 && tally.wrong === 0) return '–';
  return `${tally.wrong} wrong, ${tally.correct} correct`;
}

/** The feedback verdicts per version of a tool, from its `tool:feedback` audit entries (read in pages). */
async function feedbackOf(storage: StorageAdapter, toolName: string): Promise<Map<number, FeedbackTally>> {
  const entries: AuditEntry[] = [];
  let afterId: number | undefined;
  for (;;) {
    const page = await storage.listAudit({
      toolName,
      type: FEEDBACK_AUDIT_TYPE,
      limit: 1000,
      ...(afterId === undefined ? {} : { afterId }),
    });
    entries.push(...page);
    const last = page.at(-1);
    if (page.length < 1000 || last === undefined) return tallyFeedback(entries);
    afterId = last.id;
  }
}

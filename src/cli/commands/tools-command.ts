import { scoreSummary } from '../../evaluation/score-summary.ts';
import { summaryOf } from '../../memory/performance-memory.ts';
import type { CliCommand } from '../cli-command.ts';
import { formatMs, formatRatio, json, orDash } from '../format-values.ts';
import { terminalText, textTable } from '../text-table.ts';

/** The evaluator's default window: the score `sia tools` shows is the one the agent acts on. */
const WINDOW = 20;

/** `sia tools`: every tool with its active version, pin and the active version's score. */
export const toolsCommand: CliCommand = {
  name: 'tools',
  readOnly: true,
  summary: 'list tools: active version, pinned, score of the active version',
  positionals: [],
  options: { json: { type: 'boolean', description: 'print JSON instead of a table' } },
  help: `Lists every tool with its active version, whether it is pinned, and the score of the active
version over its last ${WINDOW} calls (the evaluator's default window and weights). A score
needs at least 3 calls; fewer print "–".`,
  async run(context) {
    const storage = await context.storage();
    const rows = [];
    for (const tool of await storage.listTools()) {
      const [versions, aggregate] = await Promise.all([
        storage.listVersions(tool.name),
        storage.aggregateWindow({ toolName: tool.name, version: tool.activeVersion, limit: WINDOW }),
      ]);
      const scored = scoreSummary(summaryOf(tool.name, tool.activeVersion, aggregate));
      const insufficientData = scored.reasons.some((reason) => reason.code === 'INSUFFICIENT_DATA');
      rows.push({
        name: tool.name,
        activeVersion: tool.activeVersion,
        pinned: tool.pinned,
        versions: versions.length,
        rewrites: tool.counters.rewrites,
        calls: aggregate.invocations,
        score: insufficientData ? null : scored.score,
        successRate: aggregate.invocations === 0 ? null : aggregate.successes / aggregate.invocations,
        p95LatencyMs: aggregate.latencyMs?.p95 ?? null,
      });
    }
    if (context.values.json === true) {
      context.out(json({ database: context.target, window: WINDOW, tools: rows }));
      return;
    }
    if (rows.length === 0) {
      context.out(`no tools in ${context.target} yet`);
      return;
    }
    context.out(
      textTable(
        ['TOOL', 'ACTIVE', 'PINNED', 'VERSIONS', 'CALLS', 'SCORE', 'SUCCESS', 'P95'],
        rows.map((row) => [
          terminalText(row.name),
          `v${row.activeVersion}`,
          row.pinned ? 'yes' : 'no',
          String(row.versions),
          String(row.calls),
          orDash(row.score, formatRatio),
          orDash(row.successRate, formatRatio),
          orDash(row.p95LatencyMs, formatMs),
        ]),
      ),
    );
  },
};

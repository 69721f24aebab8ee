import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { collectReport } from '../../report/collect-report.ts';
import type { ImprovementReport, ToolReport } from '../../report/improvement-report.ts';
import { renderHtmlReport } from '../../report/render-html-report.ts';
import { isDisabled, toolKind } from '../../storage/tool-state.ts';
import type { CliCommand } from '../cli-command.ts';
import { CliUsageError } from '../cli-errors.ts';
import { formatMs, formatRatio, formatTime, json, orDash } from '../format-values.ts';
import { DEFAULT_MAX_TOOLS } from '../model-created.ts';
import { countOption, positiveInteger } from '../parse-values.ts';
import { requireTool } from '../require-tool.ts';
import { terminalText, textTable, truncate } from '../text-table.ts';

/** Points printed per tool in the text output; `--json` and `--html` have them all. */
const TEXT_POINTS = 10;

/** `sia report`: scores over time, version changes and their evidence, as text, JSON or HTML. */
export const reportCommand: CliCommand = {
  name: 'report',
  readOnly: true,
  summary: 'scores over time and every version change, as text, JSON or an HTML page',
  positionals: [],
  options: {
    json: { type: 'boolean', description: 'print the whole report as JSON' },
    html: { type: 'string', value: '<file>', description: 'write a self-contained HTML report to <file>' },
    tool: { type: 'string', multiple: true, value: '<name>', description: 'only this tool (repeatable)' },
    'bucket-size': {
      type: 'string',
      value: '<n>',
      description: 'calls per point of the time series (default 20, the evaluator window)',
    },
    'max-calls': {
      type: 'string',
      value: '<n>',
      description: 'most recent calls read per tool (default 50000)',
    },
    title: { type: 'string', value: '<text>', description: 'title of the HTML report' },
    'max-tools': {
      type: 'string',
      value: '<n>',
      description: `the app's creation.maxTools, shown against the model-created tools (default ${DEFAULT_MAX_TOOLS})`,
    },
  },
  help: `Reads every tool's versions, its recorded calls (scored in buckets of consecutive calls,
as the evaluator scores a window) and each promotion and rollback with its reason, gate
result and diff. Without --json or --html it prints a summary; --html writes one file with
inline charts and no external resources, to open in any browser.
Windows: each point of the series covers one bucket (--bucket-size calls, any version); a
version's score covers its last --bucket-size calls, its success rate and p95 all its calls
that were read (up to --max-calls per tool). sia tools shows the last 20 calls only.
Calls whose rows were pruned (or not read) are charted from the database's rollups: their rows
are marked ≈ (p95 estimated from a latency histogram); sia history shows each version's whole
life. Host tools (the app's own functions) are marked "host": measured, never rewritten; their
versions show the app's labels. Disabled tools are marked "disabled".`,
  async run(context) {
    const { values } = context;
    const bucketSize = positiveInteger(values['bucket-size'], '--bucket-size');
    const maxCalls = positiveInteger(values['max-calls'], '--max-calls');
    const maxTools = countOption(values['max-tools'], '--max-tools', 'report');
    if (values.title !== undefined && values.html === undefined) {
      throw new CliUsageError('--title applies to --html <file> only', 'report');
    }
    const storage = await context.storage();
    const tools = values.tool as string[] | undefined;
    for (const name of tools ?? []) await requireTool(storage, name, context.target);
    const report = await collectReport(storage, {
      ...(tools === undefined ? {} : { tools }),
      ...(bucketSize === undefined ? {} : { bucketSize }),
      ...(maxCalls === undefined ? {} : { maxCallsPerTool: maxCalls }),
      ...(maxTools === undefined ? {} : { maxTools }),
    });
    if (typeof values.html === 'string') {
      const path = resolve(context.cwd, values.html);
      const html = renderHtmlReport(report, typeof values.title === 'string' ? { title: values.title } : {});
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, html);
      const note = `wrote ${path} (${report.tools.length} tools, ${Math.ceil(Buffer.byteLength(html) / 1024)} KiB)`;
      if (values.json === true) context.err(note);
      else context.out(note);
    }
    if (values.json === true) {
      context.out(json(report));
      return;
    }
    if (typeof values.html === 'string') return;
    if (report.tools.length === 0) {
      context.out(`no tools in ${context.target} yet`);
      return;
    }
    context.out(report.tools.map((tool) => toolText(tool, report)).join('\n\n'));
    context.out(
      `\ncreated by the model: ${report.createdByModel ?? 0} of ${report.maxTools ?? DEFAULT_MAX_TOOLS} (creation.maxTools)`,
    );
  },
};

/** ` (2026.12.1)`: the active version's label, or nothing. */
function activeLabelText(tool: ToolReport): string {
  const label = tool.versions.find((version) => version.active)?.label;
  return label === undefined ? '' : ` (${terminalText(label)})`;
}

function toolText(tool: ToolReport, report: ImprovementReport): string {
  const promotions = tool.changes.filter((change) => change.kind === 'promoted').length;
  const rollbacks = tool.changes.length - promotions;
  const read = tool.truncated
    ? `the most recent ${plural(tool.calls, 'call')} read (--max-calls)`
    : `${plural(tool.calls, 'call')} recorded`;
  const calls =
    tool.historyCalls === 0
      ? read
      : `${read} + ${tool.historyCalls} from history (${tool.truncated ? 'pruned or not read' : 'pruned'})`;
  const lines = [
    `${terminalText(tool.name)}${toolKind(tool) === 'host' ? ' [host: measured, never rewritten]' : ''}${isDisabled(tool) ? ' [disabled]' : ''}: active v${tool.activeVersion}${activeLabelText(tool)}${tool.pinned ? ' (pinned)' : ''}, ${plural(tool.versions.length, 'version')}, ${calls}, ${plural(promotions, 'promotion')}, ${plural(rollbacks, 'rollback')}`,
  ];
  if (tool.series.length > 0) {
    const shown = tool.series.slice(-TEXT_POINTS);
    const earlier =
      shown.length < tool.series.length
        ? `; ${tool.series.length - shown.length} earlier points with --json or --html`
        : '';
    lines.push(
      `  each row: ${plural(report.bucketSize, 'consecutive call')} of any version (the last row may have fewer), oldest first${earlier}`,
    );
    if (shown.some((point) => point.approximate))
      lines.push(
        '  ≈: a row of calls from history (rollups of pruned calls): p95 estimated from a latency histogram, times to the minute',
      );
    lines.push(
      indent(
        textTable(
          ['FROM', 'TO', 'CALLS', 'VERSIONS', 'SCORE', 'SUCCESS', 'P95'],
          shown.map((point) => [
            formatTime(point.from),
            formatTime(point.to),
            String(point.calls),
            point.versions.map((version) => `v${version}`).join(','),
            point.insufficientData ? '–' : formatRatio(point.score),
            formatRatio(point.successRate),
            `${point.approximate ? '≈' : ''}${formatMs(point.p95LatencyMs)}`,
          ]),
        ),
      ),
    );
  }
  if (tool.changes.length > 0) {
    lines.push(
      indent(
        textTable(
          ['CHANGED', 'EVENT', 'VERSIONS', 'ACTOR', 'GATE', 'REASON'],
          tool.changes.map((change) => [
            formatTime(change.at),
            change.kind,
            `v${change.fromVersion}→v${change.toVersion}`,
            terminalText(truncate(change.actor, 24)),
            change.gate
              ? `${terminalText(change.gate.verdict)} ${change.gate.passedCases}/${change.gate.cases}`
              : '–',
            terminalText(change.reason),
          ]),
        ),
      ),
    );
  }
  const active = tool.versions.find((version) => version.active);
  const own = active?.calls ?? 0;
  const lifetime = active?.lifetime;
  const whole =
    lifetime && lifetime.calls > own
      ? `; over its whole life ${plural(lifetime.calls, 'call')}, success ${orDash(lifetime.successRate, formatRatio)}, p95 ≈${orDash(lifetime.p95LatencyMs, formatMs)}`
      : '';
  lines.push(
    own === 0
      ? `  active v${tool.activeVersion}: no calls${tool.truncated || tool.historyCalls > 0 ? ' among those read' : ' yet'}${whole}`
      : `  active v${tool.activeVersion}: score ${orDash(active?.score, formatRatio)} over its last ${plural(Math.min(own, report.bucketSize), 'call')}; success ${orDash(active?.successRate, formatRatio)}, p95 ${orDash(active?.p95LatencyMs, formatMs)} over ${own === 1 ? 'its one call' : `all its ${own} calls`}${tool.truncated || tool.historyCalls > 0 ? ' read' : ''}${whole}`,
  );
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

import { objectOption, stringOption } from '../core/options.ts';
import type { GateSummary, ImprovementOutcome } from '../storage/audit-evidence.ts';
import { isDisabled, toolKind } from '../storage/tool-state.ts';
import { escapeHtml } from './escape-html.ts';
import type {
  CallWindow,
  ImprovementReport,
  LifetimeWindow,
  PinChange,
  ToolReport,
  VersionChange,
} from './improvement-report.ts';
import { formatMs, formatRatio, formatTime } from './report-format.ts';
import { CHART_SERIES, changeLabel, svgChart } from './svg-chart.ts';

/** Diffs longer than this many lines start collapsed. */
const LONG_DIFF_LINES = 24;

/** Options of {@link renderHtmlReport}. */
export interface HtmlReportOptions {
  /**
   * The page title and heading.
   * @default 'Tool improvement report'
   */
  title?: string;
}

/**
 * Renders an {@link ImprovementReport} as one self-contained HTML page: inline CSS, inline SVG
 * charts, no script and no external resource (a Content-Security-Policy of `default-src 'none'`
 * makes the browser refuse any that slipped in). Per tool: a chart of score, success rate and
 * p95 latency by call order (idle gaps marked, a version strip that steps at each change, `↑`
 * forward and `↓` backward markers; points from the store's history hollow), the version list
 * with authors, reasons and (with history) each version's whole life, every
 * promotion and rollback with its gate summary and coloured diff (long diffs collapsed), and the
 * agent's improvement attempts. Every number names the calls it covers. The page fits a 390 px
 * wide screen (tables scroll inside their own box). All text from storage is escaped.
 *
 * Stable hooks for tests and scripts: `section[data-tool="<name>"]` per tool,
 * `svg[data-chart="<name>"]` with `g[data-series="score|success-rate|p95-latency"]`,
 * `g[data-version-marker="v1→v2"]` (with `data-kind`, `data-direction="forward|backward"`,
 * `data-from`, `data-to`, `data-at`, `data-at-call`), `g[data-idle-gap]`,
 * `g[data-band-version]`, `circle[data-approximate]`, `[data-history-calls]`,
 * `td[data-lifetime-calls]`, `tr[data-version="<n>"]`, `li[data-change="promoted|rolled-back"]`
 * (with `data-direction`), `details.diff` (with `data-diff-lines`), `pre.diff`,
 * `[data-window]` on each number's window.
 *
 * @example
 * ```ts
 * const report = await collectReport(storage);
 * await writeFile('report.html', renderHtmlReport(report, { title: 'My agent' }));
 * ```
 */
export function renderHtmlReport(report: ImprovementReport, options: HtmlReportOptions = {}): string {
  objectOption('options', options);
  objectOption('report', report);
  const title =
    options.title === undefined ? 'Tool improvement report' : stringOption('title', options.title);
  const tools = report.tools;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="self-improving-agent">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">Generated ${escapeHtml(formatTime(report.generatedAt))} from ${escapeHtml(report.storage)} storage · ${plural(tools.length, 'tool')} · charts by call order, ${plural(report.bucketSize, 'call')} per point · “last ${report.bucketSize} calls” is the evaluator's window (as in <span class="cmd">sia tools</span>) · times in UTC</p>`,
    '</header>',
    '<main>',
    maxToolsLine(report),
    overview(tools, report.bucketSize),
    ...tools.map((tool, index) => toolSection(tool, index, report.bucketSize)),
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** `v3 (2026.12.1)`: the active version, with its label when it has one (escaped). */
function activeLabel(tool: ToolReport): string {
  const label = tool.versions.find((version) => version.active)?.label;
  return `v${tool.activeVersion}${label === undefined ? '' : ` <span class="label" data-label>(${escapeHtml(label)})</span>`}`;
}

/** The badges after a tool's name: host, disabled, pinned. */
function toolBadges(tool: ToolReport): string {
  return [
    toolKind(tool) === 'host'
      ? '<span class="badge badge-host" data-badge="host" title="measured, never rewritten">host</span>'
      : '',
    isDisabled(tool) ? '<span class="badge badge-disabled" data-badge="disabled">disabled</span>' : '',
    tool.pinned ? '<span class="badge badge-pinned" data-badge="pinned">pinned</span>' : '',
  ]
    .filter((badge) => badge !== '')
    .join(' ');
}

/** The model-created tools against `creation.maxTools` (absent from reports of earlier releases). */
function maxToolsLine(report: ImprovementReport): string {
  if (report.createdByModel === undefined || report.maxTools === undefined) return '';
  return `<p class="meta" data-max-tools="${report.maxTools}" data-created-by-model="${report.createdByModel}">Tools created by the model: ${report.createdByModel} of ${report.maxTools} (creation.maxTools)</p>`;
}

function overview(tools: readonly ToolReport[], window: number): string {
  if (tools.length === 0) return '<p class="empty" data-empty-report>No tools are stored yet.</p>';
  const rows = tools.map((tool, index) => {
    const active = tool.versions.find((version) => version.active);
    const recent = active?.recent;
    const forward = tool.changes.filter((change) => change.direction === 'forward').length;
    return (
      `<tr data-tool="${escapeHtml(tool.name)}"><td class="name"><a href="#${toolId(tool, index)}">${escapeHtml(tool.name)}</a></td>` +
      `<td class="num">${activeLabel(tool)}</td><td>${toolBadges(tool)}</td>` +
      `<td class="num">${tool.versions.length}</td>` +
      `<td class="num">${tool.changes.length}${tool.changes.length === 0 ? '' : ` (↑${forward} ↓${tool.changes.length - forward})`}</td>` +
      `<td class="num">${tool.calls + tool.historyCalls}</td>` +
      `<td class="num">${recent?.calls ?? 0}</td>` +
      `<td class="num">${active?.score == null ? '–' : formatRatio(active.score)}</td>` +
      `<td class="num">${orDash(recent?.successRate, formatRatio)}</td>` +
      `<td class="num">${orDash(recent?.p95LatencyMs, formatMs)}</td></tr>`
    );
  });
  return (
    '<section class="overview"><h2>Tools</h2><div class="scroll"><table class="tools">' +
    `<thead><tr><th colspan="6"></th><th colspan="4" class="group" data-window="overview">active version: its last ${window} calls</th></tr>` +
    '<tr><th>tool</th><th>active</th><th></th><th>versions</th><th>changes ↑/↓</th><th>calls in report</th><th>calls</th><th>score</th><th>success</th><th>p95</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table></div></section>`
  );
}

function toolSection(tool: ToolReport, index: number, window: number): string {
  const legend = CHART_SERIES.map(
    (series) => `<li class="legend-${series.key}"><span class="swatch"></span>${series.label}</li>`,
  ).join('');
  const charted = tool.calls + tool.historyCalls;
  const truncated =
    tool.truncated && tool.historyCalls === 0
      ? `<p class="note">Only the ${tool.calls} most recent calls are read: every number and the chart cover those.</p>`
      : '';
  const fromHistory =
    tool.historyCalls > 0
      ? `<p class="note" data-history-calls="${tool.historyCalls}">${plural(tool.historyCalls, 'call')} ${tool.historyCalls === 1 ? 'is' : 'are'} charted from the store's history (pruned into rollups${tool.truncated ? ', or older than the calls read' : ''}): hollow points, their p50/p95 estimated from a latency histogram and their times to the minute. The numbers over “last ${window} calls” and “calls read” cover the ${tool.calls} calls read; “whole life” covers every call.</p>`
      : '';
  const first = tool.series[0];
  const last = tool.series.at(-1);
  const span =
    first && last
      ? ` Calls 1–${charted}, ${escapeHtml(formatTime(first.from))} to ${escapeHtml(formatTime(last.to))}; each point is ${plural(Math.min(window, charted), 'consecutive call')} of any version${tool.historyCalls > 0 ? ' (a point from history at least that many)' : ''}.`
      : '';
  return [
    `<section class="tool" id="${toolId(tool, index)}" data-tool="${escapeHtml(tool.name)}">`,
    `<h2>${escapeHtml(tool.name)}${toolBadges(tool) === '' ? '' : ` ${toolBadges(tool)}`}</h2>`,
    `<p class="description">${escapeHtml(tool.description)}</p>`,
    toolKind(tool) === 'host'
      ? `<p class="note" data-host-note>A host tool: the app's own function, measured, never rewritten. Its versions are the app's releases, named by their labels.</p>`
      : '',
    isDisabled(tool)
      ? '<p class="note" data-disabled-note>Disabled: agents refuse its calls (sia enable brings it back); its history is kept.</p>'
      : '',
    '<dl class="facts">',
    `<div><dt>kind</dt><dd data-kind="${toolKind(tool)}">${toolKind(tool)}</dd></div>`,
    `<div><dt>active</dt><dd data-active-version="${tool.activeVersion}">${activeLabel(tool)}</dd></div>`,
    `<div><dt>pinned</dt><dd>${tool.pinned ? 'yes' : 'no'}</dd></div>`,
    `<div><dt>disabled</dt><dd data-disabled="${isDisabled(tool)}">${isDisabled(tool) ? 'yes' : 'no'}</dd></div>`,
    `<div><dt>calls in this report</dt><dd>${tool.calls}${tool.truncated ? ' (most recent)' : ''}${tool.historyCalls > 0 ? ` + ${tool.historyCalls} from history` : ''}</dd></div>`,
    `<div><dt>rewrites</dt><dd>${tool.counters.rewrites}</dd></div>`,
    `<div><dt>created</dt><dd>${escapeHtml(formatTime(tool.createdAt))}</dd></div>`,
    '</dl>',
    activeNumbers(tool, window),
    `<figure class="chart-figure"><div class="chart-scroll">${svgChart({ toolName: tool.name, calls: charted, points: tool.series, changes: tool.changes, gaps: tool.gaps, activeVersion: tool.activeVersion })}</div>`,
    `<figcaption><ul class="legend">${legend}<li class="legend-forward"><span class="swatch"></span>↑ forward (to a newer version)</li><li class="legend-backward"><span class="swatch"></span>↓ back (to an older version)</li><li class="legend-idle"><span class="swatch"></span>idle gap</li></ul>` +
      `<p class="axis-note">x: calls in order, not time.${span}</p></figcaption></figure>`,
    truncated,
    fromHistory,
    versionTable(tool, window),
    changeList(tool),
    pinList(tool.pins),
    improvementTable(tool.improvements),
    '</section>',
  ].join('\n');
}

/** The active version's numbers, each with the calls it covers. */
function activeNumbers(tool: ToolReport, window: number): string {
  const active = tool.versions.find((version) => version.active);
  const items: string[] = [];
  if (active) {
    const recent = active.recent;
    const covers =
      recent.calls === 0
        ? `no calls of v${active.version} yet`
        : recent.calls < window
          ? `all ${plural(recent.calls, 'call')} of v${active.version} (fewer than ${window})`
          : `the last ${window} calls of v${active.version}`;
    items.push(
      `<li data-window="recent">score <strong>${active.score === null ? '–' : formatRatio(active.score)}</strong> · success <strong>${orDash(recent.successRate, formatRatio)}</strong> · p95 <strong>${orDash(recent.p95LatencyMs, formatMs)}</strong> <span class="window">${recent.calls === 0 ? '' : 'over '}${covers}: the evaluator's window, as in <span class="cmd">sia tools</span>${active.score === null && recent.calls > 0 ? '; too few to score' : ''}</span></li>`,
    );
  }
  const since = tool.activeSince;
  const when =
    since.at === null
      ? 'since it was created'
      : `since it became active at ${escapeHtml(formatTime(since.at))}`;
  const sinceWindow =
    since.calls === 0
      ? `no calls of v${since.version} ${when}`
      : `over all ${plural(since.calls, 'call')} of v${since.version} ${when}${tool.truncated ? ' (among the calls read)' : ''}`;
  items.push(
    `<li data-window="since-active">success <strong>${orDash(since.successRate, formatRatio)}</strong> · p95 <strong>${orDash(since.p95LatencyMs, formatMs)}</strong> <span class="window">${sinceWindow}</span></li>`,
  );
  return `<ul class="numbers">${items.join('')}</ul>`;
}

function versionTable(tool: ToolReport, window: number): string {
  const lifetime = tool.versions.some((version) => version.lifetime !== null);
  const rows = tool.versions.map(
    (version) =>
      `<tr data-version="${version.version}"${version.active ? ' class="active"' : ''}>` +
      `<td class="num">v${version.version}${version.label === undefined ? '' : ` <span class="label" data-label>(${escapeHtml(version.label)})</span>`}${version.active ? ' <span class="badge">active</span>' : ''}</td>` +
      `<td>${escapeHtml(version.author)}</td>` +
      `<td class="num">${version.parentVersion === null ? '–' : `v${version.parentVersion}`}</td>` +
      `<td class="time">${escapeHtml(formatTime(version.createdAt))}</td>` +
      `<td class="num first">${version.recent.calls}</td>` +
      `<td class="num">${version.score === null ? '–' : formatRatio(version.score)}</td>` +
      windowCells(version.recent) +
      `<td class="num first">${version.calls}</td>` +
      windowCells(version) +
      (lifetime ? lifetimeCells(version.lifetime) : '') +
      `<td class="num first" data-feedback-correct="${version.feedback.correct}">${version.feedback.correct}</td>` +
      `<td class="num" data-feedback-wrong="${version.feedback.wrong}">${version.feedback.wrong}</td>` +
      `<td class="reason">${escapeHtml(version.reason)}</td></tr>`,
  );
  const lifetimeHead = lifetime
    ? '<th colspan="3" class="group first" data-window="version-lifetime">whole life (history; p95 ≈)</th>'
    : '';
  const lifetimeColumns = lifetime ? '<th class="first">calls</th><th>success</th><th>p95 ≈</th>' : '';
  return (
    '<h3>Versions</h3><div class="scroll"><table class="versions"><thead>' +
    `<tr><th colspan="4"></th><th colspan="4" class="group first" data-window="version-recent">last ${window} calls of the version</th><th colspan="3" class="group first" data-window="version-all">all its calls in this report</th>${lifetimeHead}<th colspan="2" class="group first" data-window="version-feedback" title="the app's verdicts on the version's answers (agent.feedback), from the audit log; success counts only calls that did not throw">app feedback</th><th></th></tr>` +
    `<tr><th>version</th><th>author</th><th>parent</th><th>created</th><th class="first">calls</th><th>score</th><th>success</th><th>p95</th><th class="first">calls</th><th>success</th><th>p95</th>${lifetimeColumns}<th class="first">correct</th><th>wrong</th><th>reason</th></tr></thead>` +
    `<tbody>${rows.join('')}</tbody></table></div>`
  );
}

function lifetimeCells(lifetime: LifetimeWindow | null): string {
  if (lifetime === null) return '<td class="num first">–</td><td class="num">–</td><td class="num">–</td>';
  const rolled = lifetime.rolledUpCalls > 0 ? ` title="${lifetime.rolledUpCalls} from rollups"` : '';
  return `<td class="num first" data-lifetime-calls="${lifetime.calls}"${rolled}>${lifetime.calls}</td>${windowCells(lifetime)}`;
}

function windowCells(window: CallWindow): string {
  return (
    `<td class="num">${orDash(window.successRate, formatRatio)}</td>` +
    `<td class="num">${orDash(window.p95LatencyMs, formatMs)}</td>`
  );
}

function changeList(tool: ToolReport): string {
  if (tool.changes.length === 0)
    return '<h3>Changes</h3><p class="empty">No promotions or rollbacks yet.</p>';
  return `<h3>Changes</h3><ol class="changes">${tool.changes.map(changeItem).join('')}</ol>`;
}

function changeItem(change: VersionChange): string {
  const direction =
    change.direction === 'forward' ? 'forward to a newer version' : 'back to an older version';
  const action =
    change.kind === 'promoted'
      ? 'promotion'
      : change.actor === 'cli'
        ? 'rollback command (sia rollback)'
        : 'rollback';
  const parts = [
    `<li class="change ${change.direction}" data-change="${change.kind}" data-direction="${change.direction}" data-from="${change.fromVersion}" data-to="${change.toVersion}">`,
    `<p class="change-head"><strong>${escapeHtml(changeLabel(change))}</strong> <span class="direction">${direction}</span> · ${action} · after call ${change.atCall} · ${escapeHtml(formatTime(change.at))} · by <span class="actor">${escapeHtml(change.actor)}</span></p>`,
    `<p class="reason">${escapeHtml(change.reason)}</p>`,
  ];
  if (change.evaluation) {
    const reasons = change.evaluation.reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('');
    parts.push(
      `<div class="evaluation">evaluation score <strong>${formatRatio(change.evaluation.score)}</strong> (as recorded with the change)${reasons ? `<ul>${reasons}</ul>` : ''}</div>`,
    );
  }
  if (change.gate) parts.push(gateBlock(change.gate));
  if (change.shadow) {
    const shadow = change.shadow;
    parts.push(
      `<p class="shadow">shadow: ${shadow.calls} live calls, candidate failed ${shadow.candidateFailures} (active ${shadow.activeFailures}), median ${escapeHtml(formatMs(shadow.candidateMedianMs))} vs ${escapeHtml(formatMs(shadow.activeMedianMs))} over those calls</p>`,
    );
  }
  if (change.diff !== '') parts.push(diffDetails(change));
  parts.push('</li>');
  return parts.join('');
}

/** The diff, open when short, collapsed with its size in the summary when long. */
function diffDetails(change: VersionChange): string {
  const lines = change.diff.replace(/\n$/, '').split('\n');
  const added = lines.filter((line) => line.startsWith('+') && !line.startsWith('+++')).length;
  const removed = lines.filter((line) => line.startsWith('-') && !line.startsWith('---')).length;
  const open = lines.length <= LONG_DIFF_LINES;
  return (
    `<details class="diff" data-diff-lines="${lines.length}"${open ? ' open' : ''}>` +
    `<summary>diff v${change.fromVersion}→v${change.toVersion}: ${plural(lines.length, 'line')} (+${added} −${removed})${open ? '' : ', collapsed'}</summary>` +
    `${diffBlock(lines)}</details>`
  );
}

function pinList(pins: readonly PinChange[]): string {
  if (pins.length === 0) return '';
  const items = pins.map(
    (pin) =>
      `<li data-pin="${pin.kind}">${pin.kind} · after call ${pin.atCall} · ${escapeHtml(formatTime(pin.at))} · by <span class="actor">${escapeHtml(pin.actor)}</span>: ${escapeHtml(pin.reason)}</li>`,
  );
  return `<h3>Pins</h3><ul class="pins">${items.join('')}</ul>`;
}

function gateBlock(gate: GateSummary): string {
  const latency =
    gate.candidateMedianMs === null
      ? ''
      : `, median ${escapeHtml(formatMs(gate.candidateMedianMs))}${gate.baselineMedianMs === null ? '' : ` vs ${escapeHtml(formatMs(gate.baselineMedianMs))} before`}`;
  const errors =
    gate.candidateErrorRate === null
      ? ''
      : `, error rate ${formatRatio(gate.candidateErrorRate)}${gate.baselineErrorRate === null ? '' : ` vs ${formatRatio(gate.baselineErrorRate)}`}`;
  const reasons = [...gate.reasons, ...gate.evidence]
    .map((reason) => `<li>${escapeHtml(reason)}</li>`)
    .join('');
  return `<div class="gate" data-gate="${escapeHtml(gate.verdict)}">gate <strong>${escapeHtml(gate.verdict)}</strong>: ${gate.passedCases}/${gate.cases} cases passed${latency}${errors}${reasons ? `<ul>${reasons}</ul>` : ''}</div>`;
}

/** A unified diff with one span per line, classed by its first character. */
function diffBlock(lines: readonly string[]): string {
  const rendered = lines.map((line) => {
    const kind =
      line.startsWith('+++') || line.startsWith('---') || line.startsWith('===') || line.startsWith('Index:')
        ? 'meta'
        : line.startsWith('@@')
          ? 'hunk'
          : line.startsWith('+')
            ? 'add'
            : line.startsWith('-')
              ? 'del'
              : 'context';
    return `<span class="line ${kind}">${escapeHtml(line)}</span>`;
  });
  // Each line is a block of its own: joining with newlines would double the spacing.
  return `<pre class="diff">${rendered.join('')}</pre>`;
}

function improvementTable(improvements: readonly ImprovementOutcome[]): string {
  if (improvements.length === 0) return '';
  const rows = improvements.map((item) => {
    const reasons = item.reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('');
    return (
      `<tr data-outcome="${escapeHtml(item.outcome)}"><td>${escapeHtml(formatTime(item.at))}</td><td>${escapeHtml(item.outcome)}</td>` +
      `<td class="num">${item.fromVersion === null ? '–' : `v${item.fromVersion}`}${item.toVersion === null ? '' : `→v${item.toVersion}`}</td>` +
      `<td class="num">${item.attempts ?? '–'}</td><td class="num">${item.tokens ?? '–'}</td>` +
      `<td>${reasons ? `<ul>${reasons}</ul>` : ''}</td></tr>`
    );
  });
  return (
    '<h3>Improvement attempts</h3><div class="scroll"><table class="improvements"><thead><tr><th>finished</th><th>outcome</th><th>versions</th><th>attempts</th><th>tokens</th><th>why not promoted</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table></div>`
  );
}

function orDash(value: number | null | undefined, format: (value: number) => string): string {
  return value === null || value === undefined ? '–' : escapeHtml(format(value));
}

/** Element id of a tool's section: its name when it is a safe id, else its position. */
function toolId(tool: ToolReport, index: number): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(tool.name) ? `tool-${tool.name}` : `tool-${index + 1}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --score: #2563eb; --success: #16a34a; --latency: #ea580c; --forward: #7c3aed; --backward: #dc2626; --idle: #94a3b8; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f8fa; }
header, main { max-width: 1100px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; }
h1 { margin: 0 0 4px; font-size: 24px; }
h2 { margin: 0 0 4px; font-size: 20px; }
h3 { margin: 24px 0 8px; font-size: 15px; }
h1, h2, p, li, dd, td.reason, summary { overflow-wrap: anywhere; }
.meta, .description, .note, .empty, .axis-note { color: var(--muted); }
.cmd { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.95em; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 20px; margin: 20px 0; min-width: 0; }
.scroll { overflow-x: auto; max-width: 100%; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); white-space: nowrap; }
th.group { text-align: center; font-weight: 500; font-size: 12px; border-bottom: 2px solid var(--line); white-space: nowrap; }
th.first, td.first { border-left: 1px solid var(--line); }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.time { font-variant-numeric: tabular-nums; min-width: 6em; }
td.reason { min-width: 12em; }
tr.active td { background: #f0f6ff; }
td ul { margin: 0; padding-left: 16px; }
.badge { font-size: 11px; padding: 0 6px; border-radius: 8px; background: var(--score); color: #fff; }
.badge-host { background: #6b4fbb; }
.badge-disabled { background: #b3261e; }
.badge-pinned { background: #555; }
.label { color: #555; font-size: 12px; }
dl.facts { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 12px 0; }
dl.facts div { display: flex; gap: 6px; }
dt { color: var(--muted); }
dd { margin: 0; font-weight: 600; }
ul.numbers { list-style: none; padding: 0; margin: 8px 0 12px; }
ul.numbers li { margin: 2px 0; }
ul.numbers .window { color: var(--muted); }
figure { margin: 12px 0; }
.chart-scroll { overflow-x: auto; max-width: 100%; }
svg.chart { width: 100%; height: auto; display: block; font-size: 11px; }
svg.chart .plot { fill: #fff; stroke: var(--line); }
svg.chart .grid { stroke: #eef1f4; }
svg.chart .tick-mark { stroke: var(--muted); }
svg.chart .tick, svg.chart .axis-label, svg.chart .empty { fill: var(--muted); }
svg.chart .series path { stroke-width: 2; fill: none; }
svg.chart .series-score path { stroke: var(--score); }
svg.chart .series-score circle { fill: var(--score); }
svg.chart .series-success-rate path { stroke: var(--success); }
svg.chart .series-success-rate circle { fill: var(--success); }
svg.chart .series-p95-latency path { stroke: var(--latency); stroke-dasharray: 6 4; }
svg.chart .series-p95-latency circle { fill: var(--latency); }
svg.chart circle.approximate { fill: #fff; stroke-width: 1.5; }
svg.chart .series-score circle.approximate { stroke: var(--score); }
svg.chart .series-success-rate circle.approximate { stroke: var(--success); }
svg.chart .series-p95-latency circle.approximate { stroke: var(--latency); }
svg.chart .idle-gap rect { fill: #f1f5f9; stroke: var(--idle); stroke-dasharray: 2 2; }
svg.chart .idle-gap path { stroke: var(--idle); stroke-width: 1.5; fill: none; }
svg.chart .idle-gap text { fill: var(--muted); }
svg.chart .version-band rect { stroke: #fff; stroke-width: 1; }
svg.chart .version-band .band-odd { fill: #e2e8f0; }
svg.chart .version-band .band-even { fill: #cbd5e1; }
svg.chart .version-band text { fill: var(--ink); font-weight: 600; }
svg.chart .version-marker line { stroke-width: 1.5; stroke-dasharray: 3 3; }
svg.chart .version-marker text { font-weight: 700; font-size: 12px; }
svg.chart .version-marker.forward line { stroke: var(--forward); }
svg.chart .version-marker.forward text { fill: var(--forward); }
svg.chart .version-marker.backward line { stroke: var(--backward); }
svg.chart .version-marker.backward text { fill: var(--backward); }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 0; margin: 4px 0 0; color: var(--muted); }
.swatch { display: inline-block; width: 14px; height: 3px; margin-right: 6px; vertical-align: middle; }
.legend-score .swatch { background: var(--score); }
.legend-success-rate .swatch { background: var(--success); }
.legend-p95-latency .swatch { background: var(--latency); }
.legend-forward .swatch { background: var(--forward); }
.legend-backward .swatch { background: var(--backward); }
.legend-idle .swatch { background: var(--idle); height: 8px; width: 6px; }
.axis-note { margin: 4px 0 0; font-size: 13px; }
ol.changes { padding-left: 20px; }
li.change { margin-bottom: 16px; }
li.change p { margin: 2px 0; }
.direction { font-weight: 600; }
li.forward .change-head strong, li.forward .direction { color: var(--forward); }
li.backward .change-head strong, li.backward .direction { color: var(--backward); }
.gate, .evaluation, .shadow { color: var(--muted); margin: 2px 0; }
details.diff summary { cursor: pointer; color: var(--muted); }
pre.diff { margin: 6px 0; padding: 8px 0; background: #fbfcfd; border: 1px solid var(--line); border-radius: 6px; overflow-x: auto; max-width: 100%; font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.diff .line { display: block; padding: 0 10px; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.diff .add { background: #dafbe1; color: #116329; }
pre.diff .del { background: #ffebe9; color: #82071e; }
pre.diff .hunk { color: #0550ae; background: #ddf4ff; }
pre.diff .meta { color: var(--muted); white-space: pre; overflow: hidden; }
@media (max-width: 600px) {
  header, main { padding: 0 10px; }
  header { padding-top: 16px; }
  h1 { font-size: 20px; }
  section { padding: 12px; margin: 12px 0; }
  ol.changes { padding-left: 16px; }
  dl.facts { gap: 2px 14px; }
  svg.chart { font-size: 15px; min-width: 560px; }
  svg.chart .version-marker text { font-size: 16px; }
}
`;

import { objectOption, stringOption } from '../core/options.ts';
import { escapeHtml } from './escape-html.ts';
import type {
  GateSummary,
  ImprovementOutcome,
  ImprovementReport,
  ToolReport,
  VersionChange,
} from './improvement-report.ts';
import { formatMs, formatRatio, formatTime } from './report-format.ts';
import { CHART_SERIES, svgChart } from './svg-chart.ts';

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
 * p95 latency over time with each version change marked (`v1→v2`), the version list with
 * authors and reasons, every promotion and rollback with its gate summary and coloured diff,
 * and the agent's improvement attempts. All text from storage is escaped.
 *
 * Stable hooks for tests and scripts: `section[data-tool="<name>"]` per tool,
 * `svg[data-chart="<name>"]` with `g[data-series="score|success-rate|p95-latency"]`,
 * `g[data-version-marker="v1→v2"]` (with `data-kind`, `data-from`, `data-to`, `data-at`),
 * `tr[data-version="<n>"]`, `li[data-change="promoted|rolled-back"]`, `pre.diff`.
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
    `<p class="meta">Generated ${escapeHtml(formatTime(report.generatedAt))} from ${escapeHtml(report.storage)} storage · ${plural(tools.length, 'tool')} · ${plural(report.bucketSize, 'call')} per chart point · times in UTC</p>`,
    '</header>',
    '<main>',
    overview(tools),
    ...tools.map((tool, index) => toolSection(tool, index)),
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function overview(tools: readonly ToolReport[]): string {
  if (tools.length === 0) return '<p class="empty" data-empty-report>No tools are stored yet.</p>';
  const rows = tools.map((tool, index) => {
    const active = tool.versions.find((version) => version.active);
    const latest = tool.series.at(-1);
    return (
      `<tr data-tool="${escapeHtml(tool.name)}"><td><a href="#${toolId(tool, index)}">${escapeHtml(tool.name)}</a></td>` +
      `<td class="num">v${tool.activeVersion}</td><td>${tool.pinned ? 'pinned' : ''}</td>` +
      `<td class="num">${tool.versions.length}</td>` +
      `<td class="num">${tool.changes.filter((change) => change.kind === 'promoted').length}</td>` +
      `<td class="num">${tool.changes.filter((change) => change.kind === 'rolled-back').length}</td>` +
      `<td class="num">${tool.calls}</td>` +
      `<td class="num">${active?.score == null ? '–' : formatRatio(active.score)}</td>` +
      `<td class="num">${latest ? formatRatio(latest.successRate) : '–'}</td>` +
      `<td class="num">${latest ? escapeHtml(formatMs(latest.p95LatencyMs)) : '–'}</td></tr>`
    );
  });
  return (
    '<section class="overview"><h2>Tools</h2><table class="tools">' +
    '<thead><tr><th>tool</th><th>active</th><th></th><th>versions</th><th>promotions</th><th>rollbacks</th><th>calls</th><th>score (active)</th><th>success (latest)</th><th>p95 (latest)</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table></section>`
  );
}

function toolSection(tool: ToolReport, index: number): string {
  const legend = CHART_SERIES.map(
    (series) => `<li class="legend-${series.key}"><span class="swatch"></span>${series.label}</li>`,
  ).join('');
  const truncated = tool.truncated
    ? `<p class="note">Only the ${tool.calls} most recent calls are charted.</p>`
    : '';
  return [
    `<section class="tool" id="${toolId(tool, index)}" data-tool="${escapeHtml(tool.name)}">`,
    `<h2>${escapeHtml(tool.name)}</h2>`,
    `<p class="description">${escapeHtml(tool.description)}</p>`,
    '<dl class="facts">',
    `<div><dt>active</dt><dd data-active-version="${tool.activeVersion}">v${tool.activeVersion}</dd></div>`,
    `<div><dt>pinned</dt><dd>${tool.pinned ? 'yes' : 'no'}</dd></div>`,
    `<div><dt>calls</dt><dd>${tool.calls}</dd></div>`,
    `<div><dt>rewrites</dt><dd>${tool.counters.rewrites}</dd></div>`,
    `<div><dt>created</dt><dd>${escapeHtml(formatTime(tool.createdAt))}</dd></div>`,
    '</dl>',
    `<figure class="chart-figure">${svgChart(tool.name, tool.series, tool.changes)}`,
    `<figcaption><ul class="legend">${legend}<li class="legend-promoted"><span class="swatch"></span>promotion</li><li class="legend-rolled-back"><span class="swatch"></span>rollback</li></ul></figcaption></figure>`,
    truncated,
    versionTable(tool),
    changeList(tool),
    improvementTable(tool.improvements),
    '</section>',
  ].join('\n');
}

function versionTable(tool: ToolReport): string {
  const rows = tool.versions.map(
    (version) =>
      `<tr data-version="${version.version}"${version.active ? ' class="active"' : ''}>` +
      `<td class="num">v${version.version}${version.active ? ' <span class="badge">active</span>' : ''}</td>` +
      `<td>${escapeHtml(version.author)}</td>` +
      `<td class="num">${version.parentVersion === null ? '–' : `v${version.parentVersion}`}</td>` +
      `<td>${escapeHtml(formatTime(version.createdAt))}</td>` +
      `<td class="num">${version.calls}</td>` +
      `<td class="num">${version.score === null ? '–' : formatRatio(version.score)}</td>` +
      `<td class="num">${version.successRate === null ? '–' : formatRatio(version.successRate)}</td>` +
      `<td class="num">${version.p95LatencyMs === null ? '–' : escapeHtml(formatMs(version.p95LatencyMs))}</td>` +
      `<td class="reason">${escapeHtml(version.reason)}</td></tr>`,
  );
  return (
    '<h3>Versions</h3><table class="versions"><thead><tr><th>version</th><th>author</th><th>parent</th><th>created</th><th>calls</th><th>score</th><th>success</th><th>p95</th><th>reason</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function changeList(tool: ToolReport): string {
  if (tool.changes.length === 0)
    return '<h3>Changes</h3><p class="empty">No promotions or rollbacks yet.</p>';
  return `<h3>Changes</h3><ol class="changes">${tool.changes.map(changeItem).join('')}</ol>`;
}

function changeItem(change: VersionChange): string {
  const verb = change.kind === 'promoted' ? 'promoted' : 'rolled back';
  const parts = [
    `<li class="change ${change.kind}" data-change="${change.kind}" data-from="${change.fromVersion}" data-to="${change.toVersion}">`,
    `<p class="change-head"><strong>v${change.fromVersion}→v${change.toVersion}</strong> ${verb} ${escapeHtml(formatTime(change.at))} by <span class="actor">${escapeHtml(change.actor)}</span></p>`,
    `<p class="reason">${escapeHtml(change.reason)}</p>`,
  ];
  if (change.evaluation) {
    const reasons = change.evaluation.reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('');
    parts.push(
      `<div class="evaluation">evaluation score <strong>${formatRatio(change.evaluation.score)}</strong>${reasons ? `<ul>${reasons}</ul>` : ''}</div>`,
    );
  }
  if (change.gate) parts.push(gateBlock(change.gate));
  if (change.shadow) {
    const shadow = change.shadow;
    parts.push(
      `<p class="shadow">shadow: ${shadow.calls} live calls, candidate failed ${shadow.candidateFailures} (active ${shadow.activeFailures}), median ${escapeHtml(formatMs(shadow.candidateMedianMs))} vs ${escapeHtml(formatMs(shadow.activeMedianMs))}</p>`,
    );
  }
  if (change.diff !== '') {
    parts.push(
      `<details class="diff"${change.kind === 'promoted' ? ' open' : ''}><summary>diff v${change.fromVersion}→v${change.toVersion}</summary>${diffBlock(change.diff)}</details>`,
    );
  }
  parts.push('</li>');
  return parts.join('');
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
  const reasons = gate.reasons.map((reason) => `<li>${escapeHtml(reason)}</li>`).join('');
  return `<div class="gate" data-gate="${escapeHtml(gate.verdict)}">gate <strong>${escapeHtml(gate.verdict)}</strong>: ${gate.passedCases}/${gate.cases} cases passed${latency}${errors}${reasons ? `<ul>${reasons}</ul>` : ''}</div>`;
}

/** A unified diff with one span per line, classed by its first character. */
function diffBlock(diff: string): string {
  const lines = diff.replace(/\n$/, '').split('\n');
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
    '<h3>Improvement attempts</h3><table class="improvements"><thead><tr><th>finished</th><th>outcome</th><th>versions</th><th>attempts</th><th>tokens</th><th>why not promoted</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

/** Element id of a tool's section: its name when it is a safe id, else its position. */
function toolId(tool: ToolReport, index: number): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(tool.name) ? `tool-${tool.name}` : `tool-${index + 1}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

const STYLE = `
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --score: #2563eb; --success: #16a34a; --latency: #ea580c; --promoted: #7c3aed; --rolled-back: #dc2626; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #f6f8fa; }
header, main { max-width: 1000px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; }
h1 { margin: 0 0 4px; font-size: 24px; }
h2 { margin: 0 0 4px; font-size: 20px; }
h3 { margin: 24px 0 8px; font-size: 15px; }
.meta, .description, .note, .empty { color: var(--muted); }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 20px; margin: 20px 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.reason, p.reason { overflow-wrap: anywhere; }
tr.active td { background: #f0f6ff; }
.badge { font-size: 11px; padding: 0 6px; border-radius: 8px; background: var(--score); color: #fff; }
dl.facts { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 12px 0; }
dl.facts div { display: flex; gap: 6px; }
dt { color: var(--muted); }
dd { margin: 0; font-weight: 600; }
figure { margin: 12px 0; }
svg.chart { width: 100%; height: auto; display: block; font-size: 11px; }
svg.chart .plot { fill: #fff; stroke: var(--line); }
svg.chart .grid { stroke: #eef1f4; }
svg.chart .tick, svg.chart .axis-label, svg.chart .empty { fill: var(--muted); }
svg.chart .series path { stroke-width: 2; fill: none; }
svg.chart .series-score path { stroke: var(--score); }
svg.chart .series-score circle { fill: var(--score); }
svg.chart .series-success-rate path { stroke: var(--success); }
svg.chart .series-success-rate circle { fill: var(--success); }
svg.chart .series-p95-latency path { stroke: var(--latency); stroke-dasharray: 6 4; }
svg.chart .series-p95-latency circle { fill: var(--latency); }
svg.chart .version-marker line { stroke-width: 1.5; stroke-dasharray: 3 3; }
svg.chart .version-marker text { font-weight: 600; }
svg.chart .version-marker.promoted line { stroke: var(--promoted); }
svg.chart .version-marker.promoted text { fill: var(--promoted); }
svg.chart .version-marker.rolled-back line { stroke: var(--rolled-back); }
svg.chart .version-marker.rolled-back text { fill: var(--rolled-back); }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 16px; padding: 0; margin: 4px 0 0; color: var(--muted); }
.swatch { display: inline-block; width: 14px; height: 3px; margin-right: 6px; vertical-align: middle; }
.legend-score .swatch { background: var(--score); }
.legend-success-rate .swatch { background: var(--success); }
.legend-p95-latency .swatch { background: var(--latency); }
.legend-promoted .swatch { background: var(--promoted); }
.legend-rolled-back .swatch { background: var(--rolled-back); }
ol.changes { padding-left: 20px; }
li.change { margin-bottom: 16px; }
li.change p { margin: 2px 0; }
li.promoted .change-head strong { color: var(--promoted); }
li.rolled-back .change-head strong { color: var(--rolled-back); }
.gate, .evaluation, .shadow { color: var(--muted); margin: 2px 0; }
details.diff summary { cursor: pointer; color: var(--muted); }
pre.diff { margin: 6px 0; padding: 8px 0; background: #fbfcfd; border: 1px solid var(--line); border-radius: 6px; overflow-x: auto; font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre.diff .line { display: block; padding: 0 10px; white-space: pre; }
pre.diff .add { background: #dafbe1; color: #116329; }
pre.diff .del { background: #ffebe9; color: #82071e; }
pre.diff .hunk { color: #0550ae; background: #ddf4ff; }
pre.diff .meta { color: var(--muted); }
`;

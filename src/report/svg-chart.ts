import { escapeHtml } from './escape-html.ts';
import type { IdleGap, ReportPoint, VersionChange } from './improvement-report.ts';
import { formatDuration, formatMs, formatRatio, formatTime } from './report-format.ts';

/** Size of the chart's drawing, in SVG user units (it scales to the page width). */
const WIDTH = 820;
const HEIGHT = 350;
const MARGIN = { top: 70, right: 64, bottom: 60, left: 48 } as const;
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;
/** The strip above the plot that shows which version was active, call by call. */
const BAND = { top: 44, height: 18 } as const;

/** Most points drawn as dots (each with a tooltip); longer series are drawn as lines only. */
const MAX_DOTS = 200;

/** The series drawn, with their class and label. */
export const CHART_SERIES = [
  { key: 'score', label: 'score', axis: 'ratio' },
  { key: 'success-rate', label: 'success rate', axis: 'ratio' },
  { key: 'p95-latency', label: 'p95 latency', axis: 'latency' },
] as const;

/** What the chart draws for one tool. */
export interface ChartInput {
  readonly toolName: string;
  /** Calls charted, read and from history (the x-axis runs from call 1 to this). */
  readonly calls: number;
  readonly points: readonly ReportPoint[];
  readonly changes: readonly VersionChange[];
  readonly gaps: readonly IdleGap[];
  /** The active version now (the band's only version when nothing changed). */
  readonly activeVersion: number;
}

/** `↑ v1→v2` for a change to a newer version, `↓ v2→v1` for one back to an older one. */
export function changeLabel(change: VersionChange): string {
  return `${change.direction === 'forward' ? '↑' : '↓'} v${change.fromVersion}→v${change.toVersion}`;
}

/**
 * An inline SVG line chart of a tool's score and success rate (left axis, 0–1) and p95 latency
 * (right axis, ms) by call order: the x-axis counts calls, oldest first, so a quiet hour takes no
 * room (pauses are marked as idle gaps instead). A strip above the plot steps from version to
 * version at each change, with a vertical marker per change: `↑` forward (to a newer version),
 * `↓` back to an older one. Points sit at the middle of their bucket of calls; points from
 * history (approximate) are hollow. No script, no external resource.
 */
export function svgChart(input: ChartInput): string {
  const { toolName, calls, points, changes, gaps } = input;
  const label = `Score, success rate and p95 latency of ${toolName} by call, oldest first`;
  const open = `<svg class="chart" data-chart="${escapeHtml(toolName)}" data-x="calls" viewBox="0 0 ${WIDTH} ${HEIGHT}" preserveAspectRatio="xMidYMid meet" role="img" aria-label="${escapeHtml(label)}" xmlns="http://www.w3.org/2000/svg">`;
  if (calls === 0 || points.length === 0) {
    return `${open}<text class="empty" x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no calls recorded</text></svg>`;
  }
  // Call positions: call n (from 1) occupies [n − 1, n]; boundaries between calls are integers.
  const x = (position: number) => MARGIN.left + (position / calls) * PLOT_WIDTH;
  const maxLatency = niceCeiling(Math.max(1, ...points.map((point) => point.p95LatencyMs)));
  const yRatio = (value: number) => MARGIN.top + (1 - value) * PLOT_HEIGHT;
  const yLatency = (value: number) => MARGIN.top + (1 - value / maxLatency) * PLOT_HEIGHT;
  const centre = (point: ReportPoint) => x(point.firstCall - 1 + point.calls / 2);

  const parts: string[] = [open];
  parts.push(`<title>${escapeHtml(label)}</title>`);
  parts.push(axes(calls, maxLatency, x, yRatio));
  parts.push(gapMarks(gaps, x));
  parts.push(versionBand(input, x));

  const values: Record<(typeof CHART_SERIES)[number]['key'], (point: ReportPoint) => number> = {
    score: (point) => yRatio(point.score),
    'success-rate': (point) => yRatio(point.successRate),
    'p95-latency': (point) => yLatency(point.p95LatencyMs),
  };
  for (const series of CHART_SERIES) {
    const y = values[series.key];
    const d = points
      .map((point, index) => `${index === 0 ? 'M' : 'L'}${round(centre(point))} ${round(y(point))}`)
      .join(' ');
    parts.push(`<g class="series series-${series.key}" data-series="${series.key}">`);
    parts.push(`<path d="${d}" fill="none"/>`);
    // Beyond a few hundred points dots merge into a line anyway and only bloat the file.
    for (const point of points.length <= MAX_DOTS ? points : []) {
      // A point from history is drawn hollow: its percentiles are estimates.
      const approximate = point.approximate ? ' class="approximate" data-approximate' : '';
      parts.push(
        `<circle cx="${round(centre(point))}" cy="${round(y(point))}" r="3"${approximate}><title>${escapeHtml(pointTitle(series.label, point))}</title></circle>`,
      );
    }
    parts.push('</g>');
  }

  changes.forEach((change, index) => {
    const at = round(x(change.atCall));
    const text = changeLabel(change);
    const anchor = at > WIDTH - MARGIN.right - 40 ? 'end' : at < MARGIN.left + 40 ? 'start' : 'middle';
    // Alternate two label rows so markers close together do not print over each other.
    const labelY = index % 2 === 0 ? 16 : 34;
    const how = change.kind === 'promoted' ? 'promotion' : 'rollback';
    parts.push(
      `<g class="version-marker ${change.direction}" data-version-marker="v${change.fromVersion}→v${change.toVersion}" data-kind="${change.kind}" data-direction="${change.direction}" data-from="${change.fromVersion}" data-to="${change.toVersion}" data-at="${change.at}" data-at-call="${change.atCall}">` +
        `<title>${escapeHtml(`${change.direction === 'forward' ? 'forward' : 'back'}: v${change.fromVersion}→v${change.toVersion} (${how}) after call ${change.atCall}, ${formatTime(change.at)}, by ${change.actor}: ${change.reason}`)}</title>` +
        `<line x1="${at}" x2="${at}" y1="${labelY + 4}" y2="${MARGIN.top + PLOT_HEIGHT}"/>` +
        `<text x="${at}" y="${labelY}" text-anchor="${anchor}">${escapeHtml(text)}</text></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** The active version, call by call: one segment per version between changes. */
function versionBand(input: ChartInput, x: (position: number) => number): string {
  const { calls, changes } = input;
  const segments: { from: number; to: number; version: number }[] = [];
  let version = changes[0]?.fromVersion ?? input.activeVersion;
  let from = 0;
  for (const change of changes) {
    const at = Math.min(Math.max(change.atCall, from), calls);
    if (at > from) segments.push({ from, to: at, version });
    from = at;
    version = change.toVersion;
  }
  if (calls > from) segments.push({ from, to: calls, version });
  const parts = ['<g class="version-band" data-band>'];
  for (const segment of segments) {
    const left = round(x(segment.from));
    const width = round(x(segment.to) - x(segment.from));
    const callCount = segment.to - segment.from;
    parts.push(
      `<g data-band-version="${segment.version}"><title>${escapeHtml(`v${segment.version} active for calls ${segment.from + 1}–${segment.to} (${callCount} calls)`)}</title>` +
        `<rect x="${left}" y="${BAND.top}" width="${width}" height="${BAND.height}" class="band-${segment.version % 2 === 0 ? 'even' : 'odd'}"/>` +
        (width >= 24
          ? `<text x="${round(left + width / 2)}" y="${BAND.top + 13}" text-anchor="middle">v${segment.version}</text>`
          : '') +
        '</g>',
    );
  }
  parts.push('</g>');
  return parts.join('');
}

/** A shaded break in the plot at each idle gap, labelled with its length. */
function gapMarks(gaps: readonly IdleGap[], x: (position: number) => number): string {
  const bottom = MARGIN.top + PLOT_HEIGHT;
  const parts = ['<g class="idle-gaps">'];
  for (const gap of gaps) {
    const at = round(x(gap.afterCall));
    const length = formatDuration(gap.to - gap.from);
    parts.push(
      `<g class="idle-gap" data-idle-gap="${gap.afterCall}"><title>${escapeHtml(`idle ${length}: no call from ${formatTime(gap.from)} to ${formatTime(gap.to)} (between calls ${gap.afterCall} and ${gap.afterCall + 1}); the x-axis counts calls, so the pause takes no room`)}</title>` +
        `<rect x="${round(at - 3)}" y="${MARGIN.top}" width="6" height="${PLOT_HEIGHT}"/>` +
        `<path d="M${round(at - 6)} ${bottom + 4} l4 -8 M${round(at + 2)} ${bottom + 4} l4 -8"/>` +
        `<text x="${at}" y="${bottom + 34}" text-anchor="middle">idle ${escapeHtml(length)}</text></g>`,
    );
  }
  parts.push('</g>');
  return parts.join('');
}

function axes(
  calls: number,
  maxLatency: number,
  x: (position: number) => number,
  yRatio: (value: number) => number,
): string {
  const parts: string[] = ['<g class="axes">'];
  const bottom = MARGIN.top + PLOT_HEIGHT;
  const right = MARGIN.left + PLOT_WIDTH;
  parts.push(
    `<rect class="plot" x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}"/>`,
  );
  for (const value of [0, 0.25, 0.5, 0.75, 1]) {
    const y = round(yRatio(value));
    parts.push(`<line class="grid" x1="${MARGIN.left}" x2="${right}" y1="${y}" y2="${y}"/>`);
    parts.push(
      `<text class="tick" x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end">${value.toFixed(2)}</text>`,
    );
    parts.push(
      `<text class="tick latency" x="${right + 6}" y="${y + 4}" text-anchor="start">${escapeHtml(formatMs(value * maxLatency))}</text>`,
    );
  }
  // Ticks at boundaries between calls: "after call n".
  const step = niceCeiling(calls / 6);
  const ticks = [0];
  for (let at = step; at < calls; at += step) if (calls - at >= step / 2) ticks.push(at);
  ticks.push(calls);
  for (const at of ticks) {
    const anchor = at === 0 ? 'start' : at === calls ? 'end' : 'middle';
    parts.push(
      `<line class="tick-mark" x1="${round(x(at))}" x2="${round(x(at))}" y1="${bottom}" y2="${bottom + 4}"/>`,
    );
    parts.push(
      `<text class="tick" x="${round(x(at))}" y="${bottom + 17}" text-anchor="${anchor}">${at}</text>`,
    );
  }
  parts.push(
    `<text class="axis-label" x="${MARGIN.left + PLOT_WIDTH / 2}" y="${bottom + 52}" text-anchor="middle">calls, oldest first (not time: idle gaps are marked)</text>`,
  );
  parts.push('</g>');
  return parts.join('');
}

function pointTitle(series: string, point: ReportPoint): string {
  const value =
    series === 'p95 latency'
      ? formatMs(point.p95LatencyMs)
      : formatRatio(series === 'score' ? point.score : point.successRate);
  const versions = point.versions.map((version) => `v${version}`).join(', ');
  const note = point.insufficientData ? ' (too few calls to score)' : '';
  const last = point.firstCall + point.calls - 1;
  const source = point.approximate
    ? '; from history (pruned or not read): percentiles estimated, times to the minute'
    : '';
  return `${series} ${value}${note} over calls ${point.firstCall}–${last} (${point.calls} calls of ${versions}), ${formatTime(point.from)} to ${formatTime(point.to)}${source}`;
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeiling(value: number): number {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

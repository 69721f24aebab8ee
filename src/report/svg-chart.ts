import { escapeHtml } from './escape-html.ts';
import type { ReportPoint, VersionChange } from './improvement-report.ts';
import { formatMs, formatRatio, formatTime } from './report-format.ts';

/** Size of the chart's drawing, in SVG user units (it scales to the page width). */
const WIDTH = 820;
const HEIGHT = 300;
const MARGIN = { top: 40, right: 64, bottom: 36, left: 48 } as const;
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_HEIGHT = HEIGHT - MARGIN.top - MARGIN.bottom;

/** Most points drawn as dots (each with a tooltip); longer series are drawn as lines only. */
const MAX_DOTS = 200;

/** The series drawn, with their class and label. */
export const CHART_SERIES = [
  { key: 'score', label: 'score', axis: 'ratio' },
  { key: 'success-rate', label: 'success rate', axis: 'ratio' },
  { key: 'p95-latency', label: 'p95 latency', axis: 'latency' },
] as const;

/**
 * An inline SVG line chart of a tool's score and success rate (left axis, 0–1) and p95 latency
 * (right axis, ms) over time, with a vertical line per version change labelled `v1→v2`.
 * Points sit at the middle of their bucket's time span. No script, no external resource.
 */
export function svgChart(
  toolName: string,
  points: readonly ReportPoint[],
  changes: readonly VersionChange[],
): string {
  const times = [...points.flatMap((point) => [point.from, point.to]), ...changes.map((change) => change.at)];
  const label = `Score, success rate and p95 latency of ${toolName} over time`;
  const open = `<svg class="chart" data-chart="${escapeHtml(toolName)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeHtml(label)}" xmlns="http://www.w3.org/2000/svg">`;
  if (times.length === 0) {
    return `${open}<text class="empty" x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no calls recorded</text></svg>`;
  }
  let start = Math.min(...times);
  let end = Math.max(...times);
  if (end - start < 1) {
    start -= 1000;
    end += 1000;
  } else {
    const pad = (end - start) * 0.02;
    start -= pad;
    end += pad;
  }
  const x = (time: number) => MARGIN.left + ((time - start) / (end - start)) * PLOT_WIDTH;
  const maxLatency = niceCeiling(Math.max(1, ...points.map((point) => point.p95LatencyMs)));
  const yRatio = (value: number) => MARGIN.top + (1 - value) * PLOT_HEIGHT;
  const yLatency = (value: number) => MARGIN.top + (1 - value / maxLatency) * PLOT_HEIGHT;
  const centre = (point: ReportPoint) => x((point.from + point.to) / 2);

  const parts: string[] = [open];
  parts.push(`<title>${escapeHtml(label)}</title>`);
  parts.push(axes(start, end, maxLatency, x, yRatio));

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
    if (points.length > 0) parts.push(`<path d="${d}" fill="none"/>`);
    // Beyond a few hundred points dots merge into a line anyway and only bloat the file.
    for (const point of points.length <= MAX_DOTS ? points : []) {
      parts.push(
        `<circle cx="${round(centre(point))}" cy="${round(y(point))}" r="3"><title>${escapeHtml(pointTitle(series.label, point))}</title></circle>`,
      );
    }
    parts.push('</g>');
  }

  changes.forEach((change, index) => {
    const at = round(x(change.at));
    const text = `v${change.fromVersion}→v${change.toVersion}`;
    const anchor = at > WIDTH - MARGIN.right - 30 ? 'end' : at < MARGIN.left + 30 ? 'start' : 'middle';
    // Alternate two label rows so markers close in time do not print over each other.
    const labelY = index % 2 === 0 ? 14 : 28;
    parts.push(
      `<g class="version-marker ${change.kind}" data-version-marker="${escapeHtml(text)}" data-kind="${change.kind}" data-from="${change.fromVersion}" data-to="${change.toVersion}" data-at="${change.at}">` +
        `<title>${escapeHtml(`${change.kind} ${text} at ${formatTime(change.at)} by ${change.actor}: ${change.reason}`)}</title>` +
        `<line x1="${at}" x2="${at}" y1="${MARGIN.top - 8}" y2="${MARGIN.top + PLOT_HEIGHT}"/>` +
        `<text x="${at}" y="${labelY}" text-anchor="${anchor}">${escapeHtml(text)}</text></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

function axes(
  start: number,
  end: number,
  maxLatency: number,
  x: (time: number) => number,
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
  const ticks = 4;
  for (let index = 0; index <= ticks; index += 1) {
    const time = start + ((end - start) * index) / ticks;
    const anchor = index === 0 ? 'start' : index === ticks ? 'end' : 'middle';
    parts.push(
      `<text class="tick" x="${round(x(time))}" y="${bottom + 18}" text-anchor="${anchor}">${escapeHtml(timeTick(time, end - start))}</text>`,
    );
  }
  parts.push(`<text class="axis-label" x="${MARGIN.left}" y="${bottom + 32}">time (UTC)</text>`);
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
  return `${series} ${value}${note} over ${point.calls} calls of ${versions}, ${formatTime(point.from)} to ${formatTime(point.to)}`;
}

function timeTick(time: number, span: number): string {
  const iso = new Date(time).toISOString();
  if (span < 60_000) return iso.slice(11, 23);
  if (span < 86_400_000) return iso.slice(11, 19);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** 1, 2 or 5 times a power of ten, at least `value`. */
function niceCeiling(value: number): number {
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

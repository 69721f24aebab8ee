import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  SCENARIO_START,
  SCENARIO_TOOL,
  writeLongScenario,
  writeScenario,
} from '../../test/support/report-scenario.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { collectReport } from './collect-report.ts';
import type { ImprovementReport, ToolReport } from './improvement-report.ts';
import { renderHtmlReport } from './render-html-report.ts';

const hostile = '<script>alert("x")</script>';

function hostileTool(): ToolReport {
  return {
    name: `evil"><img src=x onerror=alert(1)>`,
    description: `<b>bold</b> & ${hostile}`,
    createdAt: 0,
    activeVersion: 2,
    pinned: true,
    counters: { rewrites: 1, lastRewriteAt: 10 },
    calls: 2,
    historyCalls: 0,
    truncated: false,
    versions: [
      {
        version: 1,
        author: 'generator',
        reason: hostile,
        createdAt: 0,
        parentVersion: null,
        active: false,
        calls: 1,
        feedback: { correct: 0, wrong: 0 },
        successRate: 1,
        p95LatencyMs: 5,
        score: 1,
        recent: { calls: 1, successRate: 1, p95LatencyMs: 5 },
        lifetime: null,
      },
      {
        version: 2,
        author: 'llm-rewriter',
        reason: `it's "better"`,
        createdAt: 5,
        parentVersion: 1,
        active: true,
        calls: 1,
        feedback: { correct: 3, wrong: 2 },
        successRate: 0,
        p95LatencyMs: 9,
        score: 1,
        recent: { calls: 1, successRate: 0, p95LatencyMs: 9 },
        lifetime: null,
      },
    ],
    series: [
      {
        firstCall: 1,
        from: 1000,
        to: 2000,
        calls: 2,
        successRate: 0.5,
        p50LatencyMs: 5,
        p95LatencyMs: 9,
        score: 1,
        insufficientData: true,
        versions: [1, 2],
        approximate: false,
      },
    ],
    changes: [
      {
        kind: 'promoted',
        direction: 'forward',
        at: 1500,
        atCall: 1,
        fromVersion: 1,
        toVersion: 2,
        actor: `</title><script>bad()</script>`,
        reason: hostile,
        diff: `--- a\n+++ b\n@@ -1 +1 @@\n-${hostile}\n+</pre><script>x()</script>\n`,
        evaluation: { score: 0.2, reasons: [hostile] },
        gate: {
          verdict: '<i>promote</i>',
          cases: 2,
          passedCases: 2,
          reasons: [hostile],
          evidence: [hostile],
          candidateMedianMs: 1,
          baselineMedianMs: 2,
          candidateErrorRate: 0,
          baselineErrorRate: 0.5,
        },
        shadow: null,
      },
    ],
    pins: [{ kind: 'pinned', at: 1600, atCall: 2, actor: hostile, reason: hostile }],
    gaps: [],
    activeSince: { version: 2, at: 1500, calls: 1, successRate: 0, p95LatencyMs: 9 },
    improvements: [
      {
        at: 1500,
        outcome: '<u>failed</u>',
        fromVersion: 1,
        toVersion: null,
        attempts: 1,
        tokens: 3,
        reasons: [hostile],
      },
    ],
  };
}

function reportOf(tools: ToolReport[]): ImprovementReport {
  return { generatedAt: 0, storage: '<sql.js>', bucketSize: 20, maxCallsPerTool: 100, tools };
}

describe('renderHtmlReport', () => {
  it('marks host and disabled tools with badges, shows labels beside version numbers (escaped) and the maxTools line', () => {
    const tool = hostileTool();
    const host: ToolReport = {
      ...tool,
      name: 'get_weather',
      kind: 'host',
      disabled: true,
      pinned: false,
      versions: tool.versions.map((version) => ({ ...version, label: `<b>${version.version}.0</b>` })),
    };
    const html = renderHtmlReport({ ...reportOf([host]), createdByModel: 4, maxTools: 50 });
    expect(html).toContain('data-badge="host" title="measured, never rewritten">host</span>');
    expect(html).toContain('data-badge="disabled">disabled</span>');
    expect(html).not.toContain('data-badge="pinned"');
    expect(html).toContain("A host tool: the app's own function, measured, never rewritten.");
    expect(html).toContain('data-disabled-note');
    expect(html).toContain('<dd data-kind="host">host</dd>');
    expect(html).toContain('<dd data-disabled="true">yes</dd>');
    const active = host.versions.find((version) => version.active)?.version as number;
    expect(html).toContain(
      `<dd data-active-version="${active}">v${active} <span class="label" data-label>(&lt;b&gt;${active}.0&lt;/b&gt;)</span></dd>`,
    );
    expect(html).not.toContain('<b>');
    expect(html).toContain('Tools created by the model: 4 of 50 (creation.maxTools)');
    // A sandboxed tool (and a report of an earlier release, without kind or the count) has none of it.
    const plain = renderHtmlReport(reportOf([{ ...tool, pinned: false }]));
    expect(plain).not.toContain('data-badge');
    expect(plain).not.toContain('data-host-note');
    expect(plain).not.toContain('data-max-tools');
    expect(plain).toContain('<dd data-kind="sandboxed">sandboxed</dd>');
  });

  it('escapes every text that comes from storage', () => {
    const html = renderHtmlReport(reportOf([hostileTool()]), { title: '<Report & co>' });
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<b>|<i>|<u>/);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('data-tool="evil&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
    expect(html).toContain('<title>&lt;Report &amp; co&gt;</title>');
    expect(html).toContain('it&#39;s &quot;better&quot;');
    expect(html).toContain('from &lt;sql.js&gt; storage');
    // A tool name that is not a safe id gets a positional one.
    expect(html).toContain('id="tool-1"');
    // The only markup elements are the renderer's own.
    const tags = new Set([...html.matchAll(/<([a-z][a-z0-9]*)/gi)].map((match) => match[1]?.toLowerCase()));
    expect([...tags].sort()).toEqual(
      [
        'a',
        'body',
        'circle',
        'dd',
        'details',
        'div',
        'dl',
        'dt',
        'figcaption',
        'figure',
        'g',
        'h1',
        'h2',
        'h3',
        'head',
        'header',
        'html',
        'li',
        'line',
        'main',
        'meta',
        'ol',
        'p',
        'path',
        'pre',
        'rect',
        'section',
        'span',
        'strong',
        'style',
        'summary',
        'svg',
        'table',
        'tbody',
        'td',
        'text',
        'th',
        'thead',
        'title',
        'tr',
        'ul',
      ].sort(),
    );
  });

  it('is self-contained: no script, no external resource, a CSP that refuses any', () => {
    const html = renderHtmlReport(reportOf([hostileTool()]));
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'`);
    expect(html).not.toMatch(/\bsrc=["']/);
    expect(html).not.toMatch(/url\(|@import|<link/i);
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((match) => match[1]);
    expect(hrefs).toEqual(['#tool-1']);
    // The only URL is the SVG namespace, which is never fetched.
    expect([...html.matchAll(/https?:\/\/[^\s"']+/g)].map((match) => match[0])).toEqual([
      'http://www.w3.org/2000/svg',
    ]);
  });

  it('shows the app feedback per version apart from success', () => {
    const html = renderHtmlReport(reportOf([hostileTool()]));
    expect(html).toContain('data-window="version-feedback"');
    expect(html).toMatch(
      /<tr data-version="2"[^>]*>.*<td class="num first" data-feedback-correct="3">3<\/td><td class="num" data-feedback-wrong="2">2<\/td>/,
    );
    expect(html).toMatch(
      /<tr data-version="1"[^>]*>.*data-feedback-correct="0">0<\/td>.*data-feedback-wrong="0">0</,
    );
  });

  it('colours diff lines and renders the gate summary', () => {
    const html = renderHtmlReport(reportOf([hostileTool()]));
    expect(html).toContain('<span class="line del">-&lt;script&gt;');
    expect(html).toContain('<span class="line add">+&lt;/pre&gt;&lt;script&gt;x()&lt;/script&gt;</span>');
    expect(html).toContain('<span class="line hunk">@@ -1 +1 @@</span>');
    expect(html).toContain('<span class="line meta">--- a</span>');
    expect(html).toContain(
      'gate <strong>&lt;i&gt;promote&lt;/i&gt;</strong>: 2/2 cases passed, median 1 ms vs 2 ms before',
    );
  });

  describe('a real scenario', () => {
    let html: string;
    beforeAll(async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const storage = memoryStorage();
      await writeScenario(storage, (time) => vi.setSystemTime(time));
      vi.useRealTimers();
      html = renderHtmlReport(await collectReport(storage, { now: 0 }), { title: 'Scenario' });
      await storage.close();
    });
    afterAll(() => vi.useRealTimers());

    it('draws one chart per tool with three series and one marker per version change', () => {
      expect(html.match(/<svg class="chart"/g)).toHaveLength(2);
      const section = html.slice(html.indexOf(`<section class="tool" id="tool-${SCENARIO_TOOL}"`));
      expect(section).toContain(`data-chart="${SCENARIO_TOOL}"`);
      for (const series of ['score', 'success-rate', 'p95-latency']) {
        const group = new RegExp(
          `<g class="series series-${series}" data-series="${series}"><path d="M[^"]+"`,
        );
        expect(section).toMatch(group);
      }
      // 4 buckets → 4 points per series, 12 circles.
      expect(section.slice(0, section.indexOf('</svg>')).match(/<circle /g)).toHaveLength(12);
      const markers = [...html.matchAll(/data-version-marker="([^"]+)" data-kind="([^"]+)"/g)].map(
        (match) => [match[1], match[2]],
      );
      expect(markers).toEqual([
        ['v1→v2', 'promoted'],
        ['v2→v1', 'rolled-back'],
      ]);
      expect(html.match(/<li class="change /g)).toHaveLength(2);
      expect(html.match(/<tr data-version="/g)).toHaveLength(3);
    });

    it('puts markers at their time between the points of the buckets around them', () => {
      const section = html.slice(html.indexOf(`data-chart="${SCENARIO_TOOL}"`));
      const xs = [...section.matchAll(/<g class="version-marker[^>]*>.*?<line x1="([\d.]+)"/g)].map((match) =>
        Number(match[1]),
      );
      const score = section.match(/data-series="score"><path d="([^"]+)"/)?.[1] ?? '';
      const points = [...score.matchAll(/[ML]([\d.]+) /g)].map((match) => Number(match[1]));
      expect(points).toHaveLength(4);
      expect(xs).toHaveLength(2);
      // promotion between the degraded bucket and the v2 bucket; rollback between v2 and the last.
      expect(points[1]).toBeLessThan(xs[0] as number);
      expect(xs[0]).toBeLessThan(points[2] as number);
      expect(points[2]).toBeLessThan(xs[1] as number);
      expect(xs[1]).toBeLessThan(points[3] as number);
    });
  });

  describe('a scenario whose older calls were pruned into rollups', () => {
    let html: string;
    beforeAll(async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const storage = memoryStorage();
      await writeScenario(storage, (time) => vi.setSystemTime(time));
      vi.useRealTimers();
      await storage.pruneInvocations({ maxRecordsPerVersion: 5, now: SCENARIO_START + 3_600_000 });
      html = renderHtmlReport(await collectReport(storage, { now: 0 }), { title: 'Pruned' });
      await storage.close();
    });

    it('charts the whole life: points from history hollow, the axis over every call', () => {
      const start = html.indexOf(`data-chart="${SCENARIO_TOOL}"`);
      const chart = html.slice(start, html.indexOf('</svg>', start));
      // 5 points (3 from history, 2 of calls read), 3 series.
      expect(chart.match(/<circle /g)).toHaveLength(15);
      expect(chart.match(/<circle [^>]*data-approximate/g)).toHaveLength(9);
      expect(chart).toContain('from history (pruned or not read): percentiles estimated');
      // The x-axis ends at call 70: 10 read plus 60 from history.
      expect(chart).toMatch(/<text class="tick" [^>]*text-anchor="end">70<\/text>/);
      const section = html.slice(html.indexOf(`<section class="tool" id="tool-${SCENARIO_TOOL}"`));
      expect(section).toContain('<dd>10 + 60 from history</dd>');
      expect(section).toContain('data-history-calls="60"');
      expect(section).toContain('data-window="version-lifetime">whole life (history; p95 ≈)</th>');
      expect([...section.matchAll(/data-lifetime-calls="(\d+)"/g)].map((match) => Number(match[1]))).toEqual([
        50, 20,
      ]);
    });
  });

  describe('the long scenario (idle gap, forward rollback, long rewrite)', () => {
    let html: string;
    beforeAll(async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      const storage = memoryStorage();
      await writeLongScenario(storage, (time) => vi.setSystemTime(time));
      vi.useRealTimers();
      html = renderHtmlReport(await collectReport(storage, { now: 0 }), { title: 'Long' });
      await storage.close();
    });
    const chart = () => {
      const start = html.indexOf(`data-chart="${SCENARIO_TOOL}"`);
      return html.slice(start, html.indexOf('</svg>', start));
    };

    it('spaces points by call, not by time', () => {
      const xs = [...chart().matchAll(/data-series="score">.*?<\/g>/g)][0]?.[0].matchAll(
        /<circle cx="([\d.]+)"/g,
      );
      const points = [...(xs ?? [])].map((match) => Number(match[1]));
      expect(points).toHaveLength(7);
      const steps = points.slice(1).map((x, index) => x - (points[index] as number));
      // The fourth bucket holds 13 idle minutes, the others 20 s each: still equal steps.
      for (const step of steps) expect(step).toBeCloseTo(steps[0] as number, 0);
      expect(chart()).toContain('data-idle-gap="70"');
      expect(chart()).toMatch(/<text [^>]*>idle 13 min<\/text>/);
    });

    it('draws and names forward and backward changes as what they were', () => {
      const markers = [
        ...chart().matchAll(
          /data-kind="([^"]+)" data-direction="([^"]+)"[^>]*>.*?<text [^>]*>([^<]+)<\/text>/g,
        ),
      ].map((match) => [match[1], match[2], match[3]]);
      expect(markers).toEqual([
        ['promoted', 'forward', '↑ v1→v2'],
        ['rolled-back', 'backward', '↓ v2→v1'],
        ['rolled-back', 'forward', '↑ v1→v2'],
        ['promoted', 'forward', '↑ v2→v3'],
      ]);
      expect(html).toMatch(
        /<li class="change forward" data-change="rolled-back" data-direction="forward" data-from="1" data-to="2"><p class="change-head"><strong>↑ v1→v2<\/strong> <span class="direction">forward to a newer version<\/span> · rollback command \(sia rollback\)/,
      );
      expect(html).toContain('<span class="direction">back to an older version</span> · rollback command');
    });

    it('collapses the long diff and keeps short ones open, with line counts', () => {
      const details = [
        ...html.matchAll(
          /<details class="diff" data-diff-lines="(\d+)"( open)?><summary>([^<]+)<\/summary>/g,
        ),
      ].map((match) => [Number(match[1]), match[2] === ' open', match[3]]);
      expect(details.map(([lines, open]) => [lines, open])).toEqual([
        [9, true],
        [9, true],
        [9, true],
        [details[3]?.[0], false],
      ]);
      expect(details[3]?.[0]).toBeGreaterThan(150);
      expect(details[3]?.[2]).toMatch(/^diff v2→v3: \d+ lines \(\+\d+ −2\), collapsed$/);
      expect(details[0]?.[2]).toBe('diff v1→v2: 9 lines (+1 −0)');
    });

    it('says which calls every number covers', () => {
      const section = html.slice(html.indexOf(`<section class="tool" id="tool-${SCENARIO_TOOL}"`));
      expect(section).toContain(
        `<span class="window">over the last 20 calls of v3: the evaluator's window, as in <span class="cmd">sia tools</span></span>`,
      );
      expect(section).toContain(
        '<span class="window">over all 40 calls of v3 since it became active at 2025-01-01 12:14:40Z</span>',
      );
      expect(section).toContain('data-window="version-recent">last 20 calls of the version</th>');
      expect(section).toContain('data-window="version-all">all its calls in this report</th>');
      expect(html).toContain('data-window="overview">active version: its last 20 calls</th>');
    });
  });

  it('draws long series as lines only (no dot per point)', () => {
    const tool = hostileTool();
    const point = tool.series[0] as ToolReport['series'][number];
    const many = (count: number) =>
      renderHtmlReport(
        reportOf([
          {
            ...tool,
            series: Array.from({ length: count }, (_, index) => ({
              ...point,
              from: index * 1000,
              to: index * 1000 + 500,
            })),
          },
        ]),
      );
    expect(many(200).match(/<circle /g)).toHaveLength(600);
    const long = many(201);
    expect(long.match(/<circle /g)).toBeNull();
    expect(long.match(/data-series="score"><path d="M[^"]*"/)?.[0].match(/L/g)).toHaveLength(200);
  });

  it('renders an empty store and refuses bad options', () => {
    const html = renderHtmlReport(reportOf([]));
    expect(html).toContain('No tools are stored yet.');
    expect(() => renderHtmlReport(reportOf([]), { title: '' })).toThrow(InvalidOptionError);
  });
});

/**
 * The HTML report, rendered for real: a tool's story (a promotion, a rollback, 13 idle minutes, a
 * forward `sia rollback`, a long rewrite promoted, a pin) written to a file, opened in headless
 * Chromium (Debian's `chromium`, driven by playwright-core) with every network request blocked
 * and counted, at 1280 px and at 390 px. Saves the page and screenshots under test-artifacts/
 * (and, when REPORT_SCREENSHOTS names a directory, copies there). Without /usr/bin/chromium it
 * is skipped and says why (.ci/run installs it).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ToolRegistry } from '../src/registry/tool-registry.ts';
import { collectReport } from '../src/report/collect-report.ts';
import { renderHtmlReport } from '../src/report/render-html-report.ts';
import { memoryStorage } from '../src/storage/memory-storage.ts';
import { PINNED_AT, SCENARIO_TOOL, SCENARIO_V2, writeLongScenario } from './support/report-scenario.ts';

/** What the page callbacks use of the browser's globals (the tests' tsconfig has no DOM types). */
interface PageGlobals {
  getComputedStyle(element: unknown): { backgroundColor: string; stroke: string };
  document: { documentElement: { scrollWidth: number; clientWidth: number } };
  __pwned?: boolean;
}

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  process.stdout.write(
    `html-report browser test skipped: ${CHROMIUM} is missing; install it with \`apt-get install -y chromium\` (.ci/run does)\n`,
  );
}

const artifacts = join(import.meta.dirname, '..', 'test-artifacts');
const htmlPath = join(artifacts, 'html-report.html');
const screenshotPath = (width: number) => join(artifacts, `html-report-${width}.png`);
const hostileReason = '<script>window.__pwned = true</script> & <img src=x onerror="window.__pwned = true">';
const hostileLabel = '<img src=x onerror="window.__pwned = true">';

describe.skipIf(!available)('the HTML report in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    const storage = memoryStorage();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      await writeLongScenario(storage, (time) => vi.setSystemTime(time));
      vi.setSystemTime(PINNED_AT + 10_000);
      // An untrusted reason (an LLM wrote it) on a candidate that was never promoted.
      await new ToolRegistry({ storage }).addCandidate(SCENARIO_TOOL, {
        source: SCENARIO_V2,
        parentVersion: 1,
        reason: hostileReason,
        author: 'llm-rewriter',
      });
      // One of the app's own tools, deployed at two labels (the newer one hostile), then disabled.
      const registry = new ToolRegistry({ storage, actor: 'app' });
      const weather = {
        name: 'get_weather',
        description: 'The app’s weather lookup',
        inputSchema: { type: 'object' },
      };
      await registry.registerHostTool({ ...weather, label: '2026.11.0' });
      await registry.registerHostTool({ ...weather, label: hostileLabel });
      await registry.setDisabled('get_weather', true, { reason: 'upstream down' });
    } finally {
      vi.useRealTimers();
    }
    const report = await collectReport(storage, { now: PINNED_AT + 20_000 });
    await storage.close();
    await mkdir(artifacts, { recursive: true });
    await writeFile(
      htmlPath,
      renderHtmlReport(report, { title: 'fetch_rate: promoted, rolled back, forward again, rewritten' }),
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
  });

  /** Opens the report at `width` px with every non-file request blocked; `done()` checks and closes. */
  async function open(width: number): Promise<{ page: Page; done: () => Promise<void> }> {
    const context = await browser.newContext({ viewport: { width, height: 900 }, offline: true });
    const page = await context.newPage();
    const blocked: string[] = [];
    const requested: string[] = [];
    const problems: string[] = [];
    await page.route('**', async (route) => {
      const url = route.request().url();
      if (url.startsWith('file:')) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    page.on('request', (request) => requested.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });
    return {
      page,
      done: async () => {
        const path = screenshotPath(width);
        await page.screenshot({ path, fullPage: true });
        expect(blocked).toEqual([]);
        expect(requested.filter((url) => !url.startsWith('file:'))).toEqual([]);
        expect(problems).toEqual([]);
        await context.close();
        const png = await readFile(path);
        expect(png.subarray(1, 4).toString()).toBe('PNG');
        expect(png.length).toBeGreaterThan(20_000);
        const copyTo = process.env.REPORT_SCREENSHOTS;
        if (copyTo) await copyFile(path, join(copyTo, `report-${width}.png`));
      },
    };
  }

  it('marks a host tool and a disabled one with badges, and shows version labels as text', async () => {
    const { page, done } = await open(1280);
    const section = page.locator('section.tool[data-tool="get_weather"]');
    const host = section.locator('h2 [data-badge="host"]');
    await expect.poll(() => host.isVisible()).toBe(true);
    expect(await host.textContent()).toBe('host');
    expect(await host.getAttribute('title')).toBe('measured, never rewritten');
    const disabled = section.locator('h2 [data-badge="disabled"]');
    expect(await disabled.textContent()).toBe('disabled');
    const colors = await Promise.all(
      [host, disabled].map((badge) =>
        badge.evaluate(
          (element) => (globalThis as unknown as PageGlobals).getComputedStyle(element).backgroundColor,
        ),
      ),
    );
    expect(colors).toEqual(['rgb(107, 79, 187)', 'rgb(179, 38, 30)']);
    expect(await section.locator('[data-host-note]').textContent()).toContain('measured, never rewritten');
    // The hostile label is text beside the version number, never markup.
    expect(await section.locator('dd[data-active-version="2"] [data-label]').textContent()).toBe(
      `(${hostileLabel})`,
    );
    expect(await section.locator('tr[data-version="1"] [data-label]').textContent()).toBe('(2026.11.0)');
    expect(await page.locator(`tr[data-tool="get_weather"] [data-badge="host"]`).count()).toBe(1);
    expect(await page.locator('[data-max-tools]').textContent()).toBe(
      'Tools created by the model: 1 of 50 (creation.maxTools)',
    );
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__pwned)).toBeUndefined();
    await done();
  });

  it('charts by call order with a step and a forward or backward marker at each change', async () => {
    const { page, done } = await open(1280);

    expect(await page.locator('section[data-tool]').count()).toBe(3);
    const chart = page.locator(`svg[data-chart="${SCENARIO_TOOL}"]`);
    await expect.poll(() => chart.isVisible()).toBe(true);
    const box = await chart.boundingBox();
    expect(box?.width).toBeGreaterThan(600);
    expect(box?.height).toBeGreaterThan(150);

    // Three series, each a path through the 7 buckets of 20 calls (140 calls).
    for (const series of ['score', 'success-rate', 'p95-latency']) {
      const group = chart.locator(`g[data-series="${series}"]`);
      expect(await group.locator('path').count(), series).toBe(1);
      const d = (await group.locator('path').getAttribute('d')) ?? '';
      expect(d.match(/[ML]/g), series).toHaveLength(7);
      expect(await group.locator('path').isVisible()).toBe(true);
      expect(await group.locator('circle').count()).toBe(7);
    }
    // x is call order: equal buckets sit equally apart, although 13 idle minutes fall inside the
    // fourth bucket and every other bucket spans 20 s.
    const pointXs = await chart
      .locator('g[data-series="score"] circle')
      .evaluateAll((circles) => circles.map((circle) => circle.getBoundingClientRect().x));
    const steps = pointXs.slice(1).map((x, index) => x - (pointXs[index] as number));
    for (const step of steps) expect(step).toBeCloseTo(steps[0] as number, 0);
    expect(steps[0]).toBeGreaterThan(50);
    // The score dips in the degraded bucket: its point sits lower (larger y) than the first.
    const scoreYs = await chart
      .locator('g[data-series="score"] circle')
      .evaluateAll((circles) => circles.map((circle) => Number(circle.getAttribute('cy'))));
    expect(scoreYs[1]).toBeGreaterThan(scoreYs[0] as number);

    // The idle gap is marked where it happened, with its length.
    const gap = chart.locator('[data-idle-gap]');
    expect(await gap.count()).toBe(1);
    expect(await gap.getAttribute('data-idle-gap')).toBe('70');
    expect(await gap.locator('text').textContent()).toBe('idle 13 min');
    expect(await gap.isVisible()).toBe(true);

    // A strip steps from version to version at each change.
    expect(
      await chart
        .locator('[data-band-version]')
        .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-band-version'))),
    ).toEqual(['1', '2', '1', '2', '3']);

    // Markers: the action as recorded, the direction as it went; the person's `sia rollback`
    // to v2 went forward and is drawn forward.
    const markers = chart.locator('[data-version-marker]');
    const attribute = (name: string) =>
      markers.evaluateAll((nodes, key) => nodes.map((node) => node.getAttribute(key)), name);
    expect(await attribute('data-version-marker')).toEqual(['v1→v2', 'v2→v1', 'v1→v2', 'v2→v3']);
    expect(await attribute('data-kind')).toEqual(['promoted', 'rolled-back', 'rolled-back', 'promoted']);
    expect(await attribute('data-direction')).toEqual(['forward', 'backward', 'forward', 'forward']);
    expect(await attribute('data-at-call')).toEqual(['40', '60', '70', '100']);
    expect(await markers.locator('text').allTextContents()).toEqual([
      '↑ v1→v2',
      '↓ v2→v1',
      '↑ v1→v2',
      '↑ v2→v3',
    ]);
    const colours = await markers
      .locator('line')
      .evaluateAll((lines) =>
        lines.map((line) => (globalThis as unknown as PageGlobals).getComputedStyle(line).stroke),
      );
    expect(colours[2]).toBe(colours[0]);
    expect(colours[1]).not.toBe(colours[0]);
    for (let index = 0; index < 4; index += 1) {
      expect(await markers.nth(index).locator('text').isVisible()).toBe(true);
    }
    const markerXs = await markers
      .locator('line')
      .evaluateAll((lines) => lines.map((line) => line.getBoundingClientRect().x));
    expect(pointXs[1]).toBeLessThan(markerXs[0] as number);
    expect(markerXs[0]).toBeLessThan(pointXs[2] as number);
    expect(markerXs[1]).toBeLessThan(pointXs[3] as number);
    expect(pointXs[4]).toBeLessThan(markerXs[3] as number);
    expect(markerXs[3]).toBeLessThan(pointXs[5] as number);

    // The change list says the same in words.
    const section = page.locator(`section[data-tool="${SCENARIO_TOOL}"]`);
    const changes = section.locator('li[data-change]');
    expect(await changes.count()).toBe(4);
    const forwardRollback = changes.nth(2);
    expect(await forwardRollback.getAttribute('data-direction')).toBe('forward');
    expect(await forwardRollback.locator('.change-head').textContent()).toMatch(
      /^↑ v1→v2 forward to a newer version · rollback command \(sia rollback\) · after call 70 · 2025-01-01 12:14:00Z · by cli$/,
    );
    expect(await changes.nth(1).locator('.direction').textContent()).toBe('back to an older version');

    // The short diff is open and coloured; the long rewrite's diff is collapsed, sized in its summary.
    const added = changes.nth(0).locator('pre.diff .line.add');
    expect(await added.count()).toBe(1);
    expect(await added.isVisible()).toBe(true);
    expect(await added.textContent()).toBe('+  // retried with back-off by the hardening rewriter');
    expect(
      await added.evaluate(
        (line) => (globalThis as unknown as PageGlobals).getComputedStyle(line).backgroundColor,
      ),
    ).toBe('rgb(218, 251, 225)');
    const long = changes.nth(3).locator('details.diff');
    expect(await long.evaluate((details) => (details as unknown as { open: boolean }).open)).toBe(false);
    expect(Number(await long.getAttribute('data-diff-lines'))).toBeGreaterThan(150);
    expect(await long.locator('summary').textContent()).toMatch(
      /^diff v2→v3: \d{3} lines \(\+\d+ −\d+\), collapsed$/,
    );
    expect(await long.locator('pre.diff').isVisible()).toBe(false);
    expect(await changes.nth(3).locator('.gate').textContent()).toContain('3/3 cases passed');

    // Every number names its window.
    expect(await section.locator('[data-window="recent"] .window').textContent()).toBe(
      "over the last 20 calls of v3: the evaluator's window, as in sia tools",
    );
    expect(await section.locator('[data-window="since-active"] .window').textContent()).toBe(
      'over all 40 calls of v3 since it became active at 2025-01-01 12:14:40Z',
    );
    expect(await section.locator('th[data-window="version-recent"]').textContent()).toBe(
      'last 20 calls of the version',
    );
    expect(await section.locator('li[data-pin="pinned"]').textContent()).toContain('human:alice');

    // Versions with reasons; the hostile reason is text: no script element, nothing ran.
    expect(await section.locator('table.versions tr[data-version]').count()).toBe(4);
    expect(await section.locator('tr[data-version="2"] td.reason').textContent()).toBe(
      'retry 429 responses with back-off',
    );
    expect(await page.locator('script, img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__pwned)).toBeUndefined();
    expect(await section.locator('tr[data-version="4"] td.reason').textContent()).toBe(hostileReason);

    await done();
  }, 300_000);

  it('fits a 390 px wide screen: no horizontal page scroll, tables scroll in their own box', async () => {
    const { page, done } = await open(390);
    const size = await page.evaluate(() => {
      const root = (globalThis as unknown as PageGlobals).document.documentElement;
      return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth };
    });
    expect(size.clientWidth).toBe(390);
    expect(size.scrollWidth).toBeLessThanOrEqual(size.clientWidth);
    // The chart scales with its viewBox down to a readable width, then scrolls in its own box,
    // keeping every marker.
    const chart = page.locator(`svg[data-chart="${SCENARIO_TOOL}"]`);
    const box = await chart.boundingBox();
    expect(box?.width).toBeGreaterThanOrEqual(560);
    const chartBox = await chart.locator('..').evaluate((element) => {
      const box = element as unknown as { scrollWidth: number; clientWidth: number };
      return { scrollWidth: box.scrollWidth, clientWidth: box.clientWidth };
    });
    expect(chartBox.clientWidth).toBeLessThan(390);
    expect(chartBox.scrollWidth).toBeGreaterThan(chartBox.clientWidth);
    expect(await chart.locator('[data-version-marker] text').count()).toBe(4);
    // The versions table is wider than the screen: its box scrolls, the page does not.
    const scroller = page.locator(`section[data-tool="${SCENARIO_TOOL}"] table.versions`).locator('..');
    const widths = await scroller.evaluate((element) => {
      const box = element as unknown as { scrollWidth: number; clientWidth: number };
      return { scrollWidth: box.scrollWidth, clientWidth: box.clientWidth };
    });
    expect(widths.scrollWidth).toBeGreaterThan(widths.clientWidth);
    expect(widths.clientWidth).toBeLessThan(390);
    // An open diff's long lines wrap inside their block.
    const diff = page.locator('li[data-change="promoted"] details[open] pre.diff').first();
    const diffBox = await diff.boundingBox();
    expect((diffBox?.x ?? 0) + (diffBox?.width ?? 0)).toBeLessThanOrEqual(390);
    await done();
  }, 300_000);
});

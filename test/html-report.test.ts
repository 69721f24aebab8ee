/**
 * The HTML report, rendered for real: a tool's v1→v2 promotion and rollback with calls over
 * time, written to a file, opened in headless Chromium (Debian's `chromium`, driven by
 * playwright-core) with every network request blocked and counted. Saves the page and a
 * screenshot under test-artifacts/. Without /usr/bin/chromium it is skipped and says why
 * (.ci/run installs it).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ToolRegistry } from '../src/registry/tool-registry.ts';
import { collectReport } from '../src/report/collect-report.ts';
import { renderHtmlReport } from '../src/report/render-html-report.ts';
import { memoryStorage } from '../src/storage/memory-storage.ts';
import { SCENARIO_START, SCENARIO_TOOL, SCENARIO_V2, writeScenario } from './support/report-scenario.ts';

/** What the page callbacks use of the browser's globals (the tests' tsconfig has no DOM types). */
interface PageGlobals {
  getComputedStyle(element: unknown): { backgroundColor: string };
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
const screenshotPath = join(artifacts, 'html-report.png');
const hostileReason = '<script>window.__pwned = true</script> & <img src=x onerror="window.__pwned = true">';

describe.skipIf(!available)('the HTML report in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    const storage = memoryStorage();
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      await writeScenario(storage, (time) => vi.setSystemTime(time));
      vi.setSystemTime(SCENARIO_START + 80_000);
      // An untrusted reason (an LLM wrote it) on a candidate that was never promoted.
      await new ToolRegistry({ storage }).addCandidate(SCENARIO_TOOL, {
        source: SCENARIO_V2,
        parentVersion: 1,
        reason: hostileReason,
        author: 'llm-rewriter',
      });
    } finally {
      vi.useRealTimers();
    }
    const report = await collectReport(storage, { now: SCENARIO_START + 90_000 });
    await storage.close();
    await mkdir(artifacts, { recursive: true });
    await writeFile(htmlPath, renderHtmlReport(report, { title: 'fetch_rate: promoted, then rolled back' }));
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
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('shows charts with three series and visible version markers, loads nothing from the network', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, offline: true });
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

    // One section and one chart per tool, each visible.
    expect(await page.locator('section[data-tool]').count()).toBe(2);
    const chart = page.locator(`svg[data-chart="${SCENARIO_TOOL}"]`);
    await expect.poll(() => chart.isVisible()).toBe(true);
    const box = await chart.boundingBox();
    expect(box?.width).toBeGreaterThan(600);
    expect(box?.height).toBeGreaterThan(150);

    // Three series, each a path through the 4 buckets of calls.
    for (const series of ['score', 'success-rate', 'p95-latency']) {
      const group = chart.locator(`g[data-series="${series}"]`);
      expect(await group.locator('path').count(), series).toBe(1);
      const d = (await group.locator('path').getAttribute('d')) ?? '';
      expect(d.match(/[ML]/g), series).toHaveLength(4);
      expect(await group.locator('path').isVisible()).toBe(true);
      expect(await group.locator('circle').count()).toBe(4);
    }
    // The score dips in the degraded bucket: its point sits lower (larger y) than the first.
    const scoreYs = await chart
      .locator('g[data-series="score"] circle')
      .evaluateAll((circles) => circles.map((circle) => Number(circle.getAttribute('cy'))));
    expect(scoreYs[1]).toBeGreaterThan(scoreYs[0] as number);

    // Version markers: v1→v2 (promotion), v2→v1 (rollback), visible, between the right points.
    const markers = chart.locator('[data-version-marker]');
    expect(await markers.count()).toBe(2);
    expect(
      await markers.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-version-marker'))),
    ).toEqual(['v1→v2', 'v2→v1']);
    expect(await markers.evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-kind')))).toEqual(
      ['promoted', 'rolled-back'],
    );
    for (let index = 0; index < 2; index += 1) {
      const marker = markers.nth(index);
      expect(await marker.isVisible()).toBe(true);
      expect(await marker.locator('text').isVisible()).toBe(true);
    }
    expect(await markers.locator('text').allTextContents()).toEqual(['v1→v2', 'v2→v1']);
    const pointXs = await chart
      .locator('g[data-series="score"] circle')
      .evaluateAll((circles) => circles.map((circle) => circle.getBoundingClientRect().x));
    const markerXs = await markers
      .locator('line')
      .evaluateAll((lines) => lines.map((line) => line.getBoundingClientRect().x));
    expect(pointXs[1]).toBeLessThan(markerXs[0] as number);
    expect(markerXs[0]).toBeLessThan(pointXs[2] as number);
    expect(pointXs[2]).toBeLessThan(markerXs[1] as number);
    expect(markerXs[1]).toBeLessThan(pointXs[3] as number);

    // Version list with reasons, the change list, and the promotion's diff coloured.
    const section = page.locator(`section[data-tool="${SCENARIO_TOOL}"]`);
    expect(await section.locator('table.versions tr[data-version]').count()).toBe(3);
    expect(await section.locator('tr[data-version="2"] td.reason').textContent()).toBe(
      'retry 429 responses with back-off',
    );
    expect(await section.locator('li[data-change]').count()).toBe(2);
    const added = section.locator('li[data-change="promoted"] pre.diff .line.add');
    expect(await added.count()).toBe(1);
    expect(await added.isVisible()).toBe(true);
    expect(await added.textContent()).toBe('+  // retried with back-off by the hardening rewriter');
    expect(
      await added.evaluate(
        (line) => (globalThis as unknown as PageGlobals).getComputedStyle(line).backgroundColor,
      ),
    ).toBe('rgb(218, 251, 225)');
    expect(await section.locator('li[data-change="promoted"] .gate').textContent()).toContain(
      '3/3 cases passed',
    );

    // The hostile reason is text: no script element, nothing ran, the markup shows literally.
    expect(await page.locator('script, img').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).__pwned)).toBeUndefined();
    expect(await section.locator('tr[data-version="3"] td.reason').textContent()).toBe(hostileReason);

    await page.screenshot({ path: screenshotPath, fullPage: true });
    expect(blocked).toEqual([]);
    expect(requested.filter((url) => !url.startsWith('file:'))).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();

    const png = await readFile(screenshotPath);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
  }, 60_000);
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTool } from '../../test/support/create-tool.ts';
import { startTestServer, type TestServer } from '../../test/support/http-server.ts';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { ToolRegistry } from '../registry/tool-registry.ts';
import { QuickJsSandbox } from '../sandbox/quickjs-sandbox.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import type { RegressionReport } from './regression-report.ts';
import { RegressionRunner } from './regression-runner.ts';
import type { RegressionRunnerOptions } from './regression-runner-options.ts';

// Every test counts requests at a loopback server instead of timing anything: a case makes one
// sandbox call at a time, and each call of the tool below makes one request, so the number of
// requests in flight at once is the number of cases running at once.

/** Decides when the server answers a request for `n`: `answer` sends `{ n }`. */
type Policy = (n: number, answer: () => void) => void;

const flight = { now: 0, peak: 0, total: 0 };
let policy: Policy = (_n, answer) => answer();
const timers = new Set<NodeJS.Timeout>();
let server: TestServer;
let sandbox: QuickJsSandbox;

beforeAll(async () => {
  server = await startTestServer((request, response) => {
    const n = Number(new URL(request.url ?? '/', 'http://localhost').searchParams.get('n'));
    flight.now += 1;
    flight.total += 1;
    flight.peak = Math.max(flight.peak, flight.now);
    let answered = false;
    policy(n, () => {
      if (answered) return;
      answered = true;
      flight.now -= 1;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ n }));
    });
  });
  sandbox = new QuickJsSandbox({ workers: 2, timeoutMs: 30_000 });
  await sandbox.warmup();
});

afterAll(async () => {
  await sandbox.close();
  await server.close();
});

beforeEach(() => {
  flight.now = 0;
  flight.peak = 0;
  flight.total = 0;
  policy = (_n, answer) => answer();
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
});

/**
 * Holds each request until `count` are waiting at once, then answers them and every later one
 * at once. `fallbackMs` answers a request that waited that long anyway, so a run without
 * overlap ends (and shows a peak below `count`) instead of hanging.
 */
function holdUntil(count: number, fallbackMs: number): Policy {
  const waiting: (() => void)[] = [];
  let open = false;
  return (_n, answer) => {
    if (open) return answer();
    waiting.push(answer);
    if (waiting.length >= count) {
      open = true;
      for (const release of waiting.splice(0)) release();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      const index = waiting.indexOf(answer);
      if (index >= 0) waiting.splice(index, 1);
      answer();
    }, fallbackMs);
    timers.add(timer);
  };
}

const toolSource = (origin: string, body = 'return (await response.json()).n * 2;') =>
  `async function fetch_double({ n }) {
  const response = await fetch(${JSON.stringify(`${origin}/value`)} + '?n=' + n);
  ${body}
}`;

async function setup(cases: number, options: Partial<RegressionRunnerOptions> = {}) {
  const storage = memoryStorage();
  const registry = new ToolRegistry({ storage });
  await createTool(registry, {
    name: 'fetch_double',
    description: 'Doubles n, fetched',
    inputSchema: { type: 'object', properties: { n: { type: 'number' } } },
    source: toolSource(server.origin),
    capabilities: { network: [server.hostPort] },
  });
  // The server holds some requests on purpose, which skews latency: SLOWER is not under test,
  // nor are the gate's statistics: one round (maxRepeats = repeats) decides at alpha 0.5.
  const runner = new RegressionRunner({
    storage,
    sandbox,
    heldOutFraction: 0,
    latencyMarginMs: 60_000,
    alpha: 0.5,
    maxRepeats: options.repeats ?? 3,
    ...options,
  });
  const ids: number[] = [];
  for (let n = 0; n < cases; n += 1) {
    const stored = await runner.addCase('fetch_double', {
      input: { n },
      expect: { equals: n * 2 },
      description: `case ${n}`,
    });
    ids.push(stored.id);
  }
  return { storage, runner, ids };
}

/** The report without what a run measures (times), which differs between any two runs. */
function withoutTimes(report: RegressionReport): unknown {
  const { startedAt: _startedAt, durationMs: _durationMs, ...rest } = report;
  return {
    ...rest,
    cases: report.cases.map(
      ({ latencyMs: _latencyMs, baselineLatencyMs: _baselineLatencyMs, ...result }) => result,
    ),
    candidate: { ...report.candidate, medianLatencyMs: 0 },
    baseline: report.baseline === null ? null : { ...report.baseline, medianLatencyMs: 0 },
  };
}

describe('RegressionRunner concurrency', () => {
  it('defaults to the sandbox capacity and refuses an invalid concurrency, naming it', async () => {
    const { storage, runner } = await setup(0);
    expect(runner.options.concurrency).toBe(2);
    expect(new RegressionRunner({ storage, sandbox, concurrency: 1 }).options.concurrency).toBe(1);
    for (const value of [0, 1.5, 257, '2', Number.NaN, null]) {
      let refusal: unknown;
      try {
        new RegressionRunner({ storage, sandbox, concurrency: value as number });
      } catch (error) {
        refusal = error;
      }
      expect(InvalidOptionError.isInstance(refusal)).toBe(true);
      expect(refusal).toMatchObject({ field: 'concurrency', value });
    }
  });

  it('runs cases at the same time, spread over the workers', async () => {
    const { runner } = await setup(4, { concurrency: 2, repeats: 1 });
    policy = holdUntil(2, 5_000);
    const report = await runner.run('fetch_double', toolSource(server.origin));
    expect(flight.peak).toBe(2);
    expect(flight.total).toBe(8);
    expect(report.reasons).toEqual([]);
    expect(report.candidate).toMatchObject({ runs: 4, errors: 0 });
  });

  it('runs cases one after another with concurrency 1', async () => {
    const { runner } = await setup(4, { concurrency: 1, repeats: 1 });
    // A request waits for a second one (which never comes while it waits) for up to 25 ms.
    policy = holdUntil(2, 25);
    const report = await runner.run('fetch_double', toolSource(server.origin));
    expect(flight.peak).toBe(1);
    expect(flight.total).toBe(8);
    expect(report.verdict).toBe('promote');
  });

  it('lists cases in their order when later cases finish first; progress comes as they finish', async () => {
    const { runner, ids } = await setup(4, { concurrency: 2, repeats: 1 });
    // Case 0's requests wait until case 1 has finished.
    const held: (() => void)[] = [];
    let caseOneDone = false;
    policy = (n, answer) => {
      if (n !== 0 || caseOneDone) return answer();
      held.push(answer);
      const timer = setTimeout(answer, 5_000);
      timers.add(timer);
    };
    const progress: { done: number; total: number; caseId: number }[] = [];
    const report = await runner.run('fetch_double', toolSource(server.origin), {
      onProgress: (event) => {
        progress.push(event);
        if (event.caseId === ids[1]) {
          caseOneDone = true;
          for (const release of held.splice(0)) release();
        }
      },
    });
    expect(progress.map((event) => event.done)).toEqual([1, 2, 3, 4]);
    expect(progress.every((event) => event.total === 4)).toBe(true);
    expect(progress[0]?.caseId).toBe(ids[1]);
    expect(progress.map((event) => event.caseId).sort((a, b) => a - b)).toEqual(ids);
    expect(report.cases.map((result) => result.id)).toEqual(ids);
    expect(report.cases.map((result) => result.output)).toEqual([0, 2, 4, 6]);
  });

  it('reports exactly what a sequential run reports for a deterministic tool', async () => {
    const { storage } = await setup(8);
    // Latency is measured, never the same twice: a wide margin keeps SLOWER out of both runs.
    const shared = {
      storage,
      sandbox,
      heldOutFraction: 0,
      repeats: 2,
      maxRepeats: 2,
      alpha: 0.5,
      latencyMarginMs: 60_000,
    };
    const sequential = new RegressionRunner({ ...shared, concurrency: 1 });
    const concurrent = new RegressionRunner({ ...shared, concurrency: 2 });
    const candidate = toolSource(
      server.origin,
      `const { n: value } = await response.json();
  if (value === 3) throw new Error('three');
  return value === 5 ? 11 : value * 2;`,
    );
    const first = await sequential.run('fetch_double', candidate);
    const second = await concurrent.run('fetch_double', candidate);
    expect(first.verdict).toBe('reject');
    // Two failed cases, and (at alpha 0.5) case 3's two failed runs against none of v1's.
    expect(first.reasons.map((reason) => reason.split(':')[0])).toEqual([
      'CASE_FAILED',
      'CASE_FAILED',
      'ERROR_RATE_HIGHER',
    ]);
    expect(first.cases.filter((result) => !result.passed).map((result) => result.description)).toEqual([
      'case 3',
      'case 5',
    ]);
    expect(withoutTimes(second)).toEqual(withoutTimes(first));
    const promoted = await concurrent.run('fetch_double', toolSource(server.origin));
    expect(withoutTimes(promoted)).toEqual(
      withoutTimes(await sequential.run('fetch_double', toolSource(server.origin))),
    );
    expect(promoted.verdict).toBe('promote');
  });

  it('stops starting cases on abort, lets the running ones finish, then rejects', async () => {
    const { runner } = await setup(6, { concurrency: 2, repeats: 1 });
    const controller = new AbortController();
    policy = (() => {
      const waiting: (() => void)[] = [];
      return (_n, answer) => {
        waiting.push(answer);
        if (waiting.length === 2) {
          // Both running cases are mid-call: abort, then let them finish.
          controller.abort(new Error('stop'));
          for (const release of waiting.splice(0)) release();
        }
      };
    })();
    const progress: number[] = [];
    await expect(
      runner.run('fetch_double', toolSource(server.origin), {
        baselineVersion: null,
        signal: controller.signal,
        onProgress: ({ caseId }) => progress.push(caseId),
      }),
    ).rejects.toThrow('stop');
    // The two cases that were running finished before the run rejected; none started after.
    expect(progress).toHaveLength(2);
    expect(flight).toMatchObject({ total: 2, now: 0 });
  });

  it('awaits the running cases when one fails unexpectedly, then rejects with its error', async () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const held: (() => void)[] = [];
      let failed = false;
      let calls = 0;
      const { runner } = await setup(4, {
        concurrency: 2,
        repeats: 1,
        // Case 1 cannot even start its runs: its capabilities fail while case 0 waits at the server.
        capabilities: (_name, capabilities) => {
          calls += 1;
          if (calls === 2) {
            failed = true;
            for (const release of held.splice(0)) release();
            throw new Error('capabilities broke');
          }
          return capabilities;
        },
      });
      policy = (_n, answer) => {
        if (failed) return answer();
        held.push(answer);
      };
      const progress: number[] = [];
      await expect(
        runner.run('fetch_double', toolSource(server.origin), {
          onProgress: ({ caseId }) => progress.push(caseId),
        }),
      ).rejects.toThrow('capabilities broke');
      // Case 0 (both sides) finished before the rejection; cases 2 and 3 never started.
      expect(progress).toHaveLength(1);
      expect(flight).toMatchObject({ total: 2, now: 0 });
      expect(calls).toBe(2);
      await new Promise((resolve) => setImmediate(resolve));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});

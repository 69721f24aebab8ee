/**
 * How often the loop's decisions act on noise, and how fast they see a real change
 * (`npm run bench decision`): simulated tools whose behaviour is known, 200 seeded runs of 1000
 * calls per profile (more with `node src/evaluation/decision-simulation.bench.ts <runs>`).
 *
 * **Rewrite requests.** Three policies side by side, each at the cadence the agent uses it:
 * - `sequential` (the default since 0.2): `new Evaluator()`, evaluated every 20 calls and right
 *   after each failed or much slower call (the agent's `evaluateEvery` and `evaluateOnAnomaly`,
 *   `callNeedsEvaluation`), with the memory's counters and its window of 100 recent calls;
 * - `window` (0.1's default): the article's score plus `LOW_SUCCESS` and `DEGRADED` on a
 *   20-call window, evaluated every 5 calls;
 * - `article`: the article's rule alone (score below 0.6), every 5 calls.
 * Per profile: the share of runs with at least one rewrite request (for a tool that never
 * changes, each is a false alarm), the share of evaluations that request one, and for a change
 * at call 500 the calls from the change to the first request at or after it (median and p90
 * over the runs that saw it; "missed" counts the others).
 *
 * **Rollbacks.** After a promotion: the share of promotions rolled back and the calls it took,
 * for the sequential watch (`sequentialRollbackTest`, at most 40 calls) and 0.1's watch (the
 * promoted version's score over 20 calls below the replaced one's by more than 0.1).
 *
 * Targets (issue 17): steady tools with success ≥ 0.9 raise a request in ≤ 5% of runs; 2% → 20%
 * failures detected with median ≤ 30 and p90 ≤ 80 calls; 2% → 40% median ≤ 12; an equally good
 * promotion rolled back in ≤ 2%; a worse one (0.95 → 0.7) in ≥ 95%, within 40 calls.
 */

import { printRows } from '../../test/support/benchmark.ts';
import { mulberry32 } from '../../test/support/mulberry32.ts';
import { median } from '../core/median.ts';
import { summaryOf } from '../memory/performance-memory.ts';
import { type AggregatableInvocation, aggregateInvocations } from '../storage/aggregate-invocations.ts';
import { callNeedsEvaluation, type LatencyTracker } from './evaluation-trigger.ts';
import type { EvaluationSource } from './evaluator.ts';
import { Evaluator } from './evaluator.ts';
import { sequentialRollbackTest } from './rollback-test.ts';
import { scoreSummary } from './score-summary.ts';

const RUNS = Number(process.argv[2] ?? 200);
const CALLS = 1000;
const CHANGE_AT = 500;
const RING = 100;

/** One simulated call: whether it succeeded and how long it took. */
type Behaviour = (call: number, random: () => number) => { success: boolean; latencyMs: number };

/** Latency around `ms` with ±`spread` relative jitter. */
const around = (ms: number, random: () => number, spread = 0.2) => ms * (1 - spread + 2 * spread * random());

const steady =
  (failureRate: number, latencyMs = 100): Behaviour =>
  (_call, random) => ({ success: random() >= failureRate, latencyMs: around(latencyMs, random) });

const change =
  (before: Behaviour, after: Behaviour): Behaviour =>
  (call, random) =>
    call < CHANGE_AT ? before(call, random) : after(call, random);

interface Profile {
  readonly name: string;
  /** A fresh behaviour per run (some keep state). */
  readonly behaviour: () => Behaviour;
  /** Whether the profile changes at CHANGE_AT (detection delay is then reported). */
  readonly changes: boolean;
}

const bursty = (): Behaviour => {
  let burst = 0;
  return (_call, random) => {
    if (burst === 0 && random() < 0.02) burst = 5;
    const failed = burst > 0;
    if (burst > 0) burst -= 1;
    return { success: !failed, latencyMs: around(100, random) };
  };
};

const profiles: Profile[] = [
  { name: 'steady, 1% failures', behaviour: () => steady(0.01), changes: false },
  { name: 'steady, 5% failures', behaviour: () => steady(0.05), changes: false },
  { name: 'steady, 10% failures', behaviour: () => steady(0.1), changes: false },
  {
    name: 'flawless 3 ms tool, ±1 ms jitter',
    behaviour: () => (_call, random) => ({ success: true, latencyMs: 2 + 2 * random() }),
    changes: false,
  },
  {
    name: 'latency drift 100 → 900 ms, 2% failures',
    behaviour: () => (call, random) => ({
      success: random() >= 0.02,
      latencyMs: around(100 + (800 * call) / CALLS, random),
    }),
    changes: false,
  },
  {
    name: 'heavy-tailed latency (5% of calls 10×), 2% failures',
    behaviour: () => (_call, random) => ({
      success: random() >= 0.02,
      latencyMs: around(random() < 0.05 ? 1000 : 100, random),
    }),
    changes: false,
  },
  { name: 'bursty: 2% chance of 5 failures in a row', behaviour: bursty, changes: false },
  { name: 'steady, 20% failures (on the 0.8 line)', behaviour: () => steady(0.2), changes: false },
  { name: 'steady, 25% failures (below 0.8)', behaviour: () => steady(0.25), changes: false },
  {
    name: 'slow recovery: 40% → 2% failures over 500 calls',
    behaviour: () => (call, random) => ({
      success: random() >= Math.max(0.02, 0.4 - (0.38 * call) / 500),
      latencyMs: around(100, random),
    }),
    changes: false,
  },
  { name: 'change: 2% → 40% failures', behaviour: () => change(steady(0.02), steady(0.4)), changes: true },
  { name: 'change: 2% → 20% failures', behaviour: () => change(steady(0.02), steady(0.2)), changes: true },
  { name: 'change: 10% → 30% failures', behaviour: () => change(steady(0.1), steady(0.3)), changes: true },
  {
    name: 'change: latency 100 → 4000 ms',
    behaviour: () => change(steady(0.02), steady(0.02, 4000)),
    changes: true,
  },
];

interface Policy {
  readonly name: string;
  readonly evaluator: Evaluator;
  readonly every: number;
  /** Also evaluated right after a failed or much slower call (`improvement.evaluateOnAnomaly`). */
  readonly onAnomaly: boolean;
}

const policies: Policy[] = [
  {
    name: 'sequential (new default): every 20, each failure or slow call',
    evaluator: new Evaluator({ clock: () => 0 }),
    every: 20,
    onAnomaly: true,
  },
  {
    name: 'window (0.1 default), every 5',
    evaluator: new Evaluator({ policy: 'window', clock: () => 0 }),
    every: 5,
    onAnomaly: false,
  },
  {
    name: 'article: score < 0.6, every 5',
    evaluator: new Evaluator({ policy: 'article', clock: () => 0 }),
    every: 5,
    onAnomaly: false,
  },
];

/** The calls of one simulated version, as `PerformanceMemory` would answer for them. */
class SimulatedMemory implements EvaluationSource {
  /** Newest first, at most RING (the memory's window). */
  readonly #recent: AggregatableInvocation[] = [];
  #calls = 0;
  #failures = 0;

  add(call: AggregatableInvocation): void {
    this.#recent.unshift(call);
    if (this.#recent.length > RING) this.#recent.pop();
    this.#calls += 1;
    if (!call.success) this.#failures += 1;
  }

  async summary(_tool: string, { window }: { window: number }) {
    return summaryOf('simulated', 1, aggregateInvocations(this.#recent.slice(0, window)));
  }

  async recent(_tool: string, { limit }: { limit: number }) {
    return this.#recent.slice(0, limit);
  }

  totals() {
    return { calls: this.#calls, failures: this.#failures };
  }
}

const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;
const nearestRankP90 = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(0.9 * values.length) - 1)] as number;
const call = (success: boolean, latencyMs: number, at: number): AggregatableInvocation => ({
  startedAt: at,
  latencyMs,
  success,
  ...(success ? {} : { errorCode: 'TOOL_ERROR', errorMessage: 'failed' }),
});

const rows: string[][] = [];
for (const profile of profiles) {
  for (const policy of policies) {
    let runsWithRequest = 0;
    let evaluations = 0;
    let requests = 0;
    const delays: number[] = [];
    let missed = 0;
    for (let run = 0; run < RUNS; run += 1) {
      const random = mulberry32(0x5eed + run * 7919);
      const behaviour = profile.behaviour();
      const memory = new SimulatedMemory();
      const tracker: LatencyTracker = { usualMs: null };
      let requested = false;
      let detectedAt: number | undefined;
      for (let index = 0; index < CALLS; index += 1) {
        const { success, latencyMs } = behaviour(index, random);
        memory.add(call(success, latencyMs, index));
        const anomaly = callNeedsEvaluation(tracker, success, latencyMs);
        if ((index + 1) % policy.every !== 0 && !(policy.onAnomaly && anomaly)) continue;
        const evaluation = await policy.evaluator.evaluate(memory, 'simulated', { version: 1 });
        evaluations += 1;
        if (!evaluation.needsRewrite) continue;
        requests += 1;
        requested = true;
        if (profile.changes && index >= CHANGE_AT && detectedAt === undefined) detectedAt = index;
      }
      if (requested) runsWithRequest += 1;
      if (profile.changes) {
        if (detectedAt === undefined) missed += 1;
        else delays.push(detectedAt - CHANGE_AT + 1);
      }
    }
    rows.push([
      profile.name,
      policy.name,
      percent(runsWithRequest, RUNS),
      percent(requests, evaluations),
      profile.changes && delays.length > 0 ? `${median(delays)} / ${nearestRankP90(delays)}` : '',
      profile.changes ? String(missed) : '',
    ]);
  }
}

printRows(
  `Rewrite requests on simulated tools (${RUNS} seeded runs × ${CALLS} calls; changes at call ${CHANGE_AT})`,
  [
    'profile',
    'policy',
    'runs with a request',
    'evaluations requesting',
    'detection median / p90 (calls)',
    'missed',
  ],
  rows,
);

// --- rollbacks -------------------------------------------------------------------------------

interface WatchProfile {
  readonly name: string;
  /** Success rate of the replaced version over its last 100 calls. */
  readonly before: number;
  /** True success rate of the promoted version. */
  readonly after: number;
}

const watchProfiles: WatchProfile[] = [
  { name: 'as good: 0.95 → 0.95', before: 0.95, after: 0.95 },
  { name: 'as good: 0.99 → 0.99', before: 0.99, after: 0.99 },
  { name: 'as good: 0.90 → 0.90', before: 0.9, after: 0.9 },
  { name: 'better: 0.70 → 0.95', before: 0.7, after: 0.95 },
  { name: 'slightly worse: 0.95 → 0.85', before: 0.95, after: 0.85 },
  { name: 'worse: 0.95 → 0.70', before: 0.95, after: 0.7 },
  { name: 'much worse: 0.95 → 0.40', before: 0.95, after: 0.4 },
];
const WATCH = { failureIncrease: 0.15, falseRollbackRate: 0.02, maxCalls: 40 } as const;
const BASELINE_CALLS = 100;
const OLD_WATCH_CALLS = 20;
const OLD_MARGIN = 0.1;

const watchRows: string[][] = [];
for (const profile of watchProfiles) {
  const outcomes = {
    sequential: { rolledBack: 0, calls: [] as number[] },
    old: { rolledBack: 0, calls: [] as number[] },
  };
  const watchRuns = Math.max(RUNS, 1000);
  for (let run = 0; run < watchRuns; run += 1) {
    const random = mulberry32(0xba5e + run * 104729);
    const replaced: AggregatableInvocation[] = [];
    for (let index = 0; index < BASELINE_CALLS; index += 1) {
      replaced.unshift(call(random() < profile.before, around(100, random), index));
    }
    const failures = replaced.filter((entry) => !entry.success).length;
    const previousScore = scoreSummary(
      summaryOf('simulated', 1, aggregateInvocations(replaced.slice(0, 20))),
      {
        policy: 'window',
      },
    ).score;
    const watched: AggregatableInvocation[] = [];
    let decided = false;
    for (let index = 0; index < Math.max(WATCH.maxCalls, OLD_WATCH_CALLS); index += 1) {
      watched.unshift(call(random() < profile.after, around(100, random), BASELINE_CALLS + index));
      if (!decided && watched.length <= WATCH.maxCalls) {
        const { outcome } = sequentialRollbackTest(watched, { calls: BASELINE_CALLS, failures }, WATCH);
        if (outcome !== 'continue') {
          decided = true;
          if (outcome === 'rollback') {
            outcomes.sequential.rolledBack += 1;
            outcomes.sequential.calls.push(watched.length);
          }
        }
      }
      if (watched.length === OLD_WATCH_CALLS) {
        const score = scoreSummary(summaryOf('simulated', 2, aggregateInvocations(watched)), {
          policy: 'window',
          window: OLD_WATCH_CALLS,
        }).score;
        if (score < previousScore - OLD_MARGIN) {
          outcomes.old.rolledBack += 1;
          outcomes.old.calls.push(OLD_WATCH_CALLS);
        }
      }
    }
    if (run === watchRuns - 1) {
      for (const [name, outcome] of [
        ['sequential watch (≤ 40 calls)', outcomes.sequential],
        ['0.1 watch (score over 20 calls, margin 0.1)', outcomes.old],
      ] as const) {
        watchRows.push([
          profile.name,
          name,
          percent(outcome.rolledBack, watchRuns),
          outcome.calls.length > 0 ? `${median(outcome.calls)} / ${nearestRankP90(outcome.calls)}` : '',
        ]);
      }
    }
  }
}

printRows(
  `Rollbacks after a promotion (${Math.max(RUNS, 1000)} seeded promotions; the replaced version measured over its last ${BASELINE_CALLS} calls)`,
  ['promotion', 'watch', 'rolled back', 'calls to the rollback, median / p90'],
  watchRows,
);

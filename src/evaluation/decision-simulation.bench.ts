/**
 * How often the rewrite decision acts on noise, and how fast it sees a real change
 * (`npm run bench decision`): simulated tools whose behaviour is known, evaluated at the agent's
 * cadence (every 5 calls of the version, over its recent calls), 200 seeded runs of 1000 calls
 * per profile. Policies side by side: today's default `Evaluator` (the article's score plus
 * `LOW_SUCCESS` and `DEGRADED`) and the article's score-only rule (`LOW_SCORE` alone).
 *
 * Per profile: the share of runs with at least one rewrite request (for a tool that never
 * changes, every one is a false alarm), the share of all evaluations that request one, and for a
 * change at call 500 the calls from the change to the first request at or after it (median and
 * p90 over the runs that saw it; "missed" counts the others).
 *
 * `node src/evaluation/decision-simulation.bench.ts [runs]` (default 200).
 */

import { printRows } from '../../test/support/benchmark.ts';
import { mulberry32 } from '../../test/support/mulberry32.ts';
import { median } from '../core/median.ts';
import { summaryOf } from '../memory/performance-memory.ts';
import { type AggregatableInvocation, aggregateInvocations } from '../storage/aggregate-invocations.ts';
import { Evaluator } from './evaluator.ts';

const RUNS = Number(process.argv[2] ?? 200);
const CALLS = 1000;
const CHANGE_AT = 500;
const EVALUATE_EVERY = 5;

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
  readonly behaviour: Behaviour;
  /** Whether the profile changes at CHANGE_AT (detection delay is then reported). */
  readonly changes: boolean;
}

const profiles: Profile[] = [
  { name: 'steady, 1% failures', behaviour: steady(0.01), changes: false },
  { name: 'steady, 5% failures', behaviour: steady(0.05), changes: false },
  { name: 'steady, 10% failures', behaviour: steady(0.1), changes: false },
  { name: 'steady, 25% failures (below 0.8)', behaviour: steady(0.25), changes: false },
  {
    name: 'flawless 3 ms tool, ±1 ms jitter',
    behaviour: (_call, random) => ({ success: true, latencyMs: 2 + 2 * random() }),
    changes: false,
  },
  {
    name: 'bursty: 2% chance of 5 failures in a row',
    behaviour: (() => {
      let burst = 0;
      return (call: number, random: () => number) => {
        if (call === 0) burst = 0;
        if (burst === 0 && random() < 0.02) burst = 5;
        const failed = burst > 0;
        if (burst > 0) burst -= 1;
        return { success: !failed, latencyMs: around(100, random) };
      };
    })(),
    changes: false,
  },
  {
    name: 'latency drift 100 → 900 ms, 2% failures',
    behaviour: (call, random) => ({
      success: random() >= 0.02,
      latencyMs: around(100 + (800 * call) / CALLS, random),
    }),
    changes: false,
  },
  { name: 'change: 2% → 40% failures', behaviour: change(steady(0.02), steady(0.4)), changes: true },
  { name: 'change: 2% → 20% failures', behaviour: change(steady(0.02), steady(0.2)), changes: true },
  {
    name: 'change: latency 100 → 4000 ms',
    behaviour: change(steady(0.02), steady(0.02, 4000)),
    changes: true,
  },
];

const policies: Array<[string, Evaluator]> = [
  ['default Evaluator (score, LOW_SUCCESS, DEGRADED)', new Evaluator({ clock: () => 0 })],
  ['article: score < 0.6 only', new Evaluator({ minSuccessRate: 0, degradation: false, clock: () => 0 })],
];

const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}%`;
const nearestRankP90 = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil(0.9 * values.length) - 1)] as number;

const rows: string[][] = [];
for (const profile of profiles) {
  for (const [policyName, evaluator] of policies) {
    let runsWithRequest = 0;
    let evaluations = 0;
    let requests = 0;
    const delays: number[] = [];
    let missed = 0;
    for (let run = 0; run < RUNS; run += 1) {
      const random = mulberry32(0x5eed + run * 7919);
      const calls: AggregatableInvocation[] = []; // newest first
      let requested = false;
      let detectedAt: number | undefined;
      for (let call = 0; call < CALLS; call += 1) {
        const { success, latencyMs } = profile.behaviour(call, random);
        calls.unshift({
          startedAt: call,
          latencyMs,
          success,
          ...(success ? {} : { errorCode: 'TOOL_ERROR', errorMessage: 'failed' }),
        });
        if ((call + 1) % EVALUATE_EVERY !== 0) continue;
        const evaluation = await evaluator.evaluate(
          {
            summary: async (_tool, { window }) =>
              summaryOf('simulated', 1, aggregateInvocations(calls.slice(0, window))),
            recent: async (_tool, { limit }) => calls.slice(0, limit),
          },
          'simulated',
          { version: 1 },
        );
        evaluations += 1;
        if (!evaluation.needsRewrite) continue;
        requests += 1;
        requested = true;
        if (profile.changes && call >= CHANGE_AT && detectedAt === undefined) detectedAt = call;
      }
      if (requested) runsWithRequest += 1;
      if (profile.changes) {
        if (detectedAt === undefined) missed += 1;
        else delays.push(detectedAt - CHANGE_AT + 1);
      }
    }
    rows.push([
      profile.name,
      policyName,
      percent(runsWithRequest, RUNS),
      percent(requests, evaluations),
      profile.changes && delays.length > 0 ? `${median(delays)} / ${nearestRankP90(delays)}` : '',
      profile.changes ? String(missed) : '',
    ]);
  }
}

printRows(
  `Rewrite decisions on simulated tools (${RUNS} seeded runs × ${CALLS} calls, evaluated every ${EVALUATE_EVERY} calls; changes at call ${CHANGE_AT})`,
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

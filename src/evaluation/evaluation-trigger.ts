/**
 * When to evaluate a version without waiting for the cadence: after a call that could
 * strengthen the evidence of a rewrite request. A success as fast as usual can only weaken it
 * (the success-rate test's p-value and the failure CUSUM both move away from their bounds), so
 * only a failed call or one much slower than usual can newly flag the version.
 */

import { LATENCY_FLOOR_MS } from './evaluator-options.ts';

/** What a call's trigger keeps per tool: its usual latency. */
export interface LatencyTracker {
  /** An exponentially weighted mean of the latencies seen, ms; `null` before the first call. */
  usualMs: number | null;
}

/** Weight of one call in the usual latency (about the last 20 calls count). */
const USUAL_WEIGHT = 1 / 20;

/**
 * Whether a call should be evaluated at once: it failed, or it took more than twice the usual
 * latency and at least `LATENCY_FLOOR_MS` (100 ms) more. Updates `tracker` with the call.
 */
export function callNeedsEvaluation(tracker: LatencyTracker, success: boolean, latencyMs: number): boolean {
  const usual = tracker.usualMs;
  const slow = usual !== null && latencyMs > Math.max(2 * usual, usual + LATENCY_FLOOR_MS);
  tracker.usualMs = usual === null ? latencyMs : usual + (latencyMs - usual) * USUAL_WEIGHT;
  return !success || slow;
}

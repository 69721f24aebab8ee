import { describe, expect, it } from 'vitest';
import { callNeedsEvaluation, type LatencyTracker } from './evaluation-trigger.ts';
import { LATENCY_FLOOR_MS } from './evaluator-options.ts';

describe('callNeedsEvaluation', () => {
  it('asks for an evaluation after a failure, never after a success as fast as usual', () => {
    const tracker: LatencyTracker = { usualMs: null };
    expect(callNeedsEvaluation(tracker, true, 100)).toBe(false);
    expect(tracker.usualMs).toBe(100);
    for (let call = 0; call < 50; call += 1)
      expect(callNeedsEvaluation(tracker, true, 90 + (call % 20))).toBe(false);
    expect(callNeedsEvaluation(tracker, false, 100)).toBe(true);
  });

  it('asks after a call more than twice as slow as usual and at least the floor slower', () => {
    const fast: LatencyTracker = { usualMs: 3 };
    // 3 ms → 60 ms is 20× but only +57 ms: jitter below the floor.
    expect(callNeedsEvaluation(fast, true, 60)).toBe(false);
    const usual: LatencyTracker = { usualMs: 3 };
    expect(callNeedsEvaluation(usual, true, 3 + LATENCY_FLOOR_MS + 1)).toBe(true);
    const slowTool: LatencyTracker = { usualMs: 1000 };
    expect(callNeedsEvaluation(slowTool, true, 1900)).toBe(false);
    expect(callNeedsEvaluation({ usualMs: 1000 }, true, 2100)).toBe(true);
  });

  it('follows the usual latency: after a lasting change, the new latency is usual', () => {
    const tracker: LatencyTracker = { usualMs: 100 };
    let triggered = 0;
    for (let call = 0; call < 200; call += 1) if (callNeedsEvaluation(tracker, true, 4000)) triggered += 1;
    expect(triggered).toBeGreaterThan(0);
    expect(triggered).toBeLessThan(30);
    expect(tracker.usualMs).toBeGreaterThan(3900);
  });
});

import { describe, expect, it } from 'vitest';
import { shadowGate } from './shadow-gate.ts';

const ok = (latencyMs: number) => ({ success: true, latencyMs });
const failed = (latencyMs: number, denied?: string) => ({
  success: false,
  latencyMs,
  ...(denied === undefined ? {} : { denied }),
});

describe('shadowGate', () => {
  it('promotes a candidate that failed no more often than the active version, with medians', () => {
    const verdict = shadowGate([ok(10), failed(30), ok(20)], [ok(4), ok(6), failed(8)]);
    expect(verdict).toEqual({
      verdict: 'promote',
      result: { calls: 3, candidateFailures: 1, activeFailures: 1, candidateMedianMs: 6, activeMedianMs: 20 },
    });
  });

  it('rejects a candidate that failed more often, naming every host it was refused once', () => {
    const verdict = shadowGate(
      [ok(1), ok(1)],
      [failed(1, 'evil.example:443'), failed(1, 'evil.example:443'), failed(1, 'other.example:80')],
    );
    expect(verdict.verdict).toBe('reject');
    if (verdict.verdict !== 'reject') return;
    expect(verdict.codes).toEqual(['SHADOW_WORSE', 'CAPABILITY_DENIED']);
    expect(verdict.reasons[0]).toBe(
      'SHADOW_WORSE: in shadow on 3 live inputs the candidate failed 3 times, the active version 0',
    );
    expect(verdict.reasons[1]).toBe(
      'CAPABILITY_DENIED: in shadow the candidate was denied network access to "evil.example:443", "other.example:80"',
    );
  });

  it('rejects without a capability reason when nothing was denied', () => {
    const verdict = shadowGate([ok(1)], [failed(1)]);
    expect(verdict.verdict === 'reject' && verdict.codes).toEqual(['SHADOW_WORSE']);
  });
});

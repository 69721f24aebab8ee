import { median } from '../core/median.ts';

/** How one live call went, for the shadow comparison. */
export interface CallOutcome {
  /** Whether the call succeeded. */
  readonly success: boolean;
  /** Its latency, ms, without sandbox start-up. */
  readonly latencyMs: number;
  /** A shadow call only: the first network target the candidate was refused (caught or not). */
  readonly denied?: string;
}

/** A candidate's shadow run beside the active version on live inputs. */
export interface ShadowResult {
  /** Live inputs both ran on. */
  calls: number;
  /** The candidate's failures among them. */
  candidateFailures: number;
  /** The active version's failures on the same inputs. */
  activeFailures: number;
  /** Median latency of the candidate on those inputs, ms. */
  candidateMedianMs: number;
  /** Median latency of the active version on those inputs, ms. */
  activeMedianMs: number;
}

/** The shadow gate's verdict: promote, or reject with one code per reason. */
export type ShadowVerdict =
  | { readonly verdict: 'promote'; readonly result: ShadowResult }
  | {
      readonly verdict: 'reject';
      readonly result: ShadowResult;
      /** Why, each starting with its code. */
      readonly reasons: string[];
      /** One stable code per reason: `SHADOW_WORSE`, then `CAPABILITY_DENIED`. */
      readonly codes: string[];
    };

/**
 * The second promotion gate: a candidate that passed the regression gate ran beside the active
 * version on the same live inputs (its results were never returned). It may be promoted when it
 * failed no more often than the active version did; a network target it was refused (even one
 * it caught) counts as a failure and is named in the reasons.
 *
 * Pure: it compares the outcomes it is given. Collecting them (which calls, which sandbox) is
 * the caller's job.
 * @example
 * const { verdict } = shadowGate(activeOutcomes, candidateOutcomes);
 */
export function shadowGate(active: readonly CallOutcome[], candidate: readonly CallOutcome[]): ShadowVerdict {
  const result: ShadowResult = {
    calls: candidate.length,
    candidateFailures: candidate.filter((call) => !call.success).length,
    activeFailures: active.filter((call) => !call.success).length,
    candidateMedianMs: median(candidate.map((call) => call.latencyMs)),
    activeMedianMs: median(active.map((call) => call.latencyMs)),
  };
  if (result.candidateFailures <= result.activeFailures) return { verdict: 'promote', result };
  const targets = [...new Set(candidate.flatMap((call) => (call.denied === undefined ? [] : [call.denied])))];
  const denied =
    targets.length === 0
      ? []
      : [
          `CAPABILITY_DENIED: in shadow the candidate was denied network access to ${targets.map((target) => JSON.stringify(target)).join(', ')}`,
        ];
  return {
    verdict: 'reject',
    result,
    reasons: [
      `SHADOW_WORSE: in shadow on ${result.calls} live inputs the candidate failed ${result.candidateFailures} times, the active version ${result.activeFailures}`,
      ...denied,
    ],
    codes: ['SHADOW_WORSE', ...denied.map(() => 'CAPABILITY_DENIED')],
  };
}

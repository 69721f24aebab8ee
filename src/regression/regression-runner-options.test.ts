import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { memoryStorage } from '../storage/memory-storage.ts';
import { type RegressionSandbox, resolveRegressionRunnerOptions } from './regression-runner-options.ts';

const sandbox: RegressionSandbox = {
  runDetailed: async () => {
    throw new Error('not run in these tests');
  },
};

function refusal(options: unknown): [string, unknown] {
  try {
    resolveRegressionRunnerOptions(options as never);
  } catch (error) {
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    return [(error as InvalidOptionError).field, (error as InvalidOptionError).value];
  }
  throw new Error('expected the options to be refused');
}

describe('resolveRegressionRunnerOptions', () => {
  it('applies every default once and returns a frozen copy without touching the input', () => {
    const options = { storage: memoryStorage(), sandbox };
    const resolved = resolveRegressionRunnerOptions(options);
    expect(resolved).toEqual({
      repeats: 3,
      maxRepeats: 12,
      alpha: 0.05,
      latencyMargin: 0.5,
      latencyMarginMs: 100,
      heldOutFraction: 0.2,
      timeoutMs: undefined,
      concurrency: 1,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(Object.keys(options)).toEqual(['storage', 'sandbox']);
  });

  it('keeps the values given', () => {
    const resolved = resolveRegressionRunnerOptions({
      storage: memoryStorage(),
      sandbox,
      repeats: 1,
      maxRepeats: 1,
      alpha: 0.5,
      latencyMargin: 0,
      latencyMarginMs: 0,
      heldOutFraction: 0,
      timeoutMs: 250,
      concurrency: 4,
    });
    expect(resolved).toEqual({
      repeats: 1,
      maxRepeats: 1,
      alpha: 0.5,
      latencyMargin: 0,
      latencyMarginMs: 0,
      heldOutFraction: 0,
      timeoutMs: 250,
      concurrency: 4,
    });
  });

  it('raises the default maxRepeats to repeats when repeats is larger than 12', () => {
    const storage = memoryStorage();
    expect(resolveRegressionRunnerOptions({ storage, sandbox, repeats: 20 }).maxRepeats).toBe(20);
    expect(resolveRegressionRunnerOptions({ storage, sandbox, repeats: 2, maxRepeats: 5 }).maxRepeats).toBe(
      5,
    );
  });

  it('runs as many cases at once as the sandbox runs calls, 1 when it does not say', () => {
    const storage = memoryStorage();
    const concurrency = (capacity: number | undefined) =>
      resolveRegressionRunnerOptions({ storage, sandbox: { ...sandbox, capacity } }).concurrency;
    expect(concurrency(undefined)).toBe(1);
    expect(concurrency(1)).toBe(1);
    expect(concurrency(6)).toBe(6);
    expect(concurrency(10_000)).toBe(256);
    expect(
      resolveRegressionRunnerOptions({ storage, sandbox: { ...sandbox, capacity: 6 }, concurrency: 2 })
        .concurrency,
    ).toBe(2);
  });

  it('refuses an invalid option, naming it and the value received', () => {
    const storage = memoryStorage();
    expect(refusal(null)).toEqual(['options', null]);
    expect(refusal({ sandbox })).toEqual(['storage', undefined]);
    expect(refusal({ storage, sandbox: {} })).toEqual(['sandbox', {}]);
    expect(refusal({ storage, sandbox, repeats: 0 })).toEqual(['repeats', 0]);
    expect(refusal({ storage, sandbox, repeats: 4, maxRepeats: 3 })).toEqual(['maxRepeats', 3]);
    expect(refusal({ storage, sandbox, maxRepeats: 101 })).toEqual(['maxRepeats', 101]);
    expect(refusal({ storage, sandbox, alpha: 0 })).toEqual(['alpha', 0]);
    expect(refusal({ storage, sandbox, alpha: 0.6 })).toEqual(['alpha', 0.6]);
    expect(refusal({ storage, sandbox, alpha: '0.05' })).toEqual(['alpha', '0.05']);
    expect(refusal({ storage, sandbox, latencyMargin: -0.1 })).toEqual(['latencyMargin', -0.1]);
    expect(refusal({ storage, sandbox, latencyMarginMs: Number.NaN })).toEqual([
      'latencyMarginMs',
      Number.NaN,
    ]);
    expect(refusal({ storage, sandbox, heldOutFraction: 1 })).toEqual(['heldOutFraction', 1]);
    expect(refusal({ storage, sandbox, timeoutMs: 0 })).toEqual(['timeoutMs', 0]);
    expect(refusal({ storage, sandbox, concurrency: 0 })).toEqual(['concurrency', 0]);
    expect(refusal({ storage, sandbox, concurrency: 2.5 })).toEqual(['concurrency', 2.5]);
    expect(refusal({ storage, sandbox, concurrency: 257 })).toEqual(['concurrency', 257]);
    expect(refusal({ storage, sandbox, concurrency: '2' })).toEqual(['concurrency', '2']);
    expect(refusal({ storage, sandbox: { ...sandbox, capacity: 0 } })).toEqual(['sandbox.capacity', 0]);
    expect(refusal({ storage, sandbox, secrets: 'API_KEY' })).toEqual(['secrets', 'API_KEY']);
    expect(refusal({ storage, sandbox, capabilities: {} })).toEqual(['capabilities', {}]);
  });
});

import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { QuickJsSandbox } from './quickjs-sandbox.ts';
import { resolveSandboxCall } from './sandbox-call.ts';
import { type QuickJsSandboxOptions, resolveSandboxOptions } from './sandbox-options.ts';

function invalidOption(action: () => unknown): InvalidOptionError {
  try {
    action();
  } catch (error) {
    if (InvalidOptionError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected an InvalidOptionError');
}

describe('QuickJsSandbox options', () => {
  it('applies documented defaults once and keeps a frozen copy', () => {
    const sandbox = new QuickJsSandbox();
    expect(sandbox.options).toEqual({
      timeoutMs: 5_000,
      memoryLimitBytes: 64 * 1024 * 1024,
      maxStackBytes: 256 * 1024,
      maxOutputBytes: 1024 * 1024,
      maxLogBytes: 64 * 1024,
      network: { allow: [], timeoutMs: 10_000, maxResponseBytes: 5 * 1024 * 1024, maxRequests: 20 },
      deterministic: false,
      isolation: 'realm',
      workers: availableParallelism(),
      compileCacheSize: 64,
      instancesPerWorker: 16,
      logger: undefined,
    });
    expect(Object.isFrozen(sandbox.options)).toBe(true);
    expect(Object.isFrozen(sandbox.options.network)).toBe(true);
    expect(Object.isFrozen(sandbox.options.network.allow)).toBe(true);
  });

  it('reports its capacity: one call at a time per worker', () => {
    expect(new QuickJsSandbox().capacity).toBe(availableParallelism());
    expect(new QuickJsSandbox({ workers: 3 }).capacity).toBe(3);
  });

  it('copies the caller’s options instead of keeping or mutating them', () => {
    const allow = ['api.example.com'];
    const options = { timeoutMs: 50, network: { allow } };
    const resolved = resolveSandboxOptions(options);
    allow.push('evil.example.com');
    expect(resolved.network.allow).toEqual(['api.example.com']);
    expect(options).toEqual({ timeoutMs: 50, network: { allow } });
  });

  it.each<[string, QuickJsSandboxOptions, unknown]>([
    ['timeoutMs', { timeoutMs: 0 }, 0],
    ['timeoutMs', { timeoutMs: 1.5 }, 1.5],
    ['memoryLimitBytes', { memoryLimitBytes: 1024 }, 1024],
    ['maxStackBytes', { maxStackBytes: 512 * 1024 }, 512 * 1024],
    ['maxStackBytes', { maxStackBytes: 16 * 1024 }, 16 * 1024],
    ['maxOutputBytes', { maxOutputBytes: -1 }, -1],
    ['maxLogBytes', { maxLogBytes: Number.NaN }, Number.NaN],
    ['workers', { workers: 0 }, 0],
    ['compileCacheSize', { compileCacheSize: 0 }, 0],
    ['instancesPerWorker', { instancesPerWorker: 0 }, 0],
    ['instancesPerWorker', { instancesPerWorker: 1.5 }, 1.5],
    ['isolation', { isolation: 'process' as never }, 'process'],
    ['network.allow', { network: { allow: 'api.example.com' as never } }, 'api.example.com'],
    [
      'network.allow[1]',
      { network: { allow: ['ok.example.com', 'https://bad.example.com'] } },
      'https://bad.example.com',
    ],
    ['network.timeoutMs', { network: { timeoutMs: -5 } }, -5],
    ['network.maxResponseBytes', { network: { maxResponseBytes: 0.5 } }, 0.5],
    ['network.maxRequests', { network: { maxRequests: -1 } }, -1],
    [
      'deterministic.now',
      { deterministic: { now: Number.POSITIVE_INFINITY, seed: 1 } },
      Number.POSITIVE_INFINITY,
    ],
    ['deterministic.seed', { deterministic: { now: 0, seed: -1 } }, -1],
    ['logger', { logger: 'console' as never }, 'console'],
  ])('rejects an invalid %s at construction, naming it and the value', (option, options, value) => {
    const error = invalidOption(() => new QuickJsSandbox(options));
    expect(error.option).toBe(option);
    expect(error.value).toBe(value);
    expect(error.message).toContain(`"${option}"`);
  });
});

describe('per-call settings', () => {
  const defaults = resolveSandboxOptions({
    timeoutMs: 100,
    network: { allow: ['api.example.com'], maxRequests: 3 },
    deterministic: { now: 1_700_000_000_000, seed: 7 },
  });
  const call = { source: 'function main() { return 1 }', entry: 'main' };

  it('falls back to the sandbox settings field by field', () => {
    const resolved = resolveSandboxCall({ ...call, network: { maxRequests: 9 } }, { a: 1 }, defaults);
    expect(resolved.network).toEqual({
      allow: ['api.example.com'],
      timeoutMs: 10_000,
      maxResponseBytes: 5 * 1024 * 1024,
      maxRequests: 9,
    });
    expect(resolved.timeoutMs).toBe(100);
    expect(resolved.deterministic).toEqual({ now: 1_700_000_000_000, seed: 7 });
    expect(resolved.inputJson).toBe('{"a":1}');
  });

  it('lets a call replace the allow-list, turn determinism off and set its own deadline', () => {
    const resolved = resolveSandboxCall(
      {
        ...call,
        network: { allow: ['127.0.0.1:9'] },
        deterministic: false,
        timeoutMs: 250,
        isolation: 'context',
      },
      {},
      defaults,
    );
    expect(resolved.network.allow).toEqual(['127.0.0.1:9']);
    expect(resolved.deterministic).toBe(false);
    expect(resolved.timeoutMs).toBe(250);
    expect(resolved.isolation).toBe('context');
  });

  it.each<[string, Record<string, unknown>, unknown]>([
    ['call.source', { source: '   ' }, '   '],
    ['call.source', { source: 42 }, 42],
    ['call.entry', { entry: 'not-an-identifier' }, 'not-an-identifier'],
    ['call.entry', { entry: 'constructor(){}' }, 'constructor(){}'],
    ['call.entry', { entry: 'return' }, 'return'],
    ['call.timeoutMs', { timeoutMs: 0 }, 0],
    ['call.network.allow[0]', { network: { allow: ['file:///etc'] } }, 'file:///etc'],
    ['call.deterministic.seed', { deterministic: { now: 0, seed: 1.5 } }, 1.5],
    ['call.isolation', { isolation: 'none' }, 'none'],
    ['call.isolationKey', { isolationKey: '' }, ''],
    ['call.isolationKey', { isolationKey: 7 }, 7],
  ])('rejects an invalid %s', (option, override, value) => {
    const error = invalidOption(() => resolveSandboxCall({ ...call, ...override } as never, {}, defaults));
    expect(error.option).toBe(option);
    expect(error.value).toBe(value);
  });

  it('rejects inputs that are not one JSON object', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const input of [null, 3, 'text', [1, 2], cyclic, { big: 1n }]) {
      expect(invalidOption(() => resolveSandboxCall(call, input, defaults)).option).toBe('input');
    }
  });
});

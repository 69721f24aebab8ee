import { describe, expect, it } from 'vitest';
import { jsonEqual } from './json-equal.ts';

describe('jsonEqual', () => {
  it('compares nested objects regardless of key order, arrays in order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(jsonEqual({ a: 1 }, { b: 1 })).toBe(false);
  });

  it('keeps JSON types apart', () => {
    expect(jsonEqual(true, 1)).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
    expect(jsonEqual(null, null)).toBe(true);
  });

  it('compares numbers exactly unless a tolerance is given', () => {
    expect(jsonEqual(0.1 + 0.2, 0.3)).toBe(false);
    expect(jsonEqual(0.1 + 0.2, 0.3, { relTol: 1e-12 })).toBe(true);
    expect(jsonEqual(100, 101, { relTol: 0.005 })).toBe(false);
    expect(jsonEqual(100, 101, { relTol: 0.01 })).toBe(true);
    expect(jsonEqual(0, 0.001, { absTol: 0.001 })).toBe(true);
    expect(jsonEqual(0, 0.0011, { absTol: 0.001 })).toBe(false);
    expect(jsonEqual(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(true);
    expect(jsonEqual(Number.POSITIVE_INFINITY, 1e308, { relTol: 1 })).toBe(false);
  });
});

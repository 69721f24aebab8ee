import { describe, expect, it } from 'vitest';
import { PLAIN_JSON_LIMITS, plainJsonProblem } from './plain-json.ts';

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}

describe('plainJsonProblem', () => {
  it('accepts plain JSON data, null-prototype objects and shared (non-cyclic) references', () => {
    const shared = { x: 1 };
    const bare = Object.create(null) as Record<string, unknown>;
    bare.k = 'v';
    expect(plainJsonProblem({ a: [1, 'two', true, null, { b: -0.5 }], shared, again: shared, bare })).toBe(
      null,
    );
    expect(plainJsonProblem(nested(PLAIN_JSON_LIMITS.maxDepth - 1))).toBe(null);
  });

  it.each([
    [
      'a cycle',
      (() => {
        const value: Record<string, unknown> = { items: [] };
        (value.items as unknown[]).push({ back: value });
        return value;
      })(),
      'input.items[0].back',
      'a cycle',
    ],
    ['a BigInt', { n: 1n }, 'input.n', 'a BigInt is not JSON'],
    [
      'Infinity',
      { items: [{}, {}, {}, { n: Number.POSITIVE_INFINITY }] },
      'input.items[3].n',
      'Infinity is not a finite number',
    ],
    ['NaN', { n: Number.NaN }, 'input.n', 'NaN is not a finite number'],
    ['a function', { f: () => 1 }, 'input.f', 'a function is not JSON'],
    ['a symbol value', { s: Symbol('x') }, 'input.s', 'a symbol is not JSON'],
    ['a symbol key', { [Symbol('k')]: 1 }, 'input', 'a symbol-keyed property'],
    ['undefined in an array', { list: [1, undefined] }, 'input.list[1]', 'undefined is not JSON'],
    ['an undefined property', { limit: undefined }, 'input.limit', 'undefined is not JSON'],
    [
      'a hole',
      { list: Object.assign(new Array(3), { 0: 1, 2: 3 }) },
      'input.list[1]',
      'a hole in a sparse array',
    ],
    ['a Date', { when: new Date(0) }, 'input.when', 'a Date is not plain JSON data; pass date.toISOString()'],
    ['a Map', { m: new Map() }, 'input.m', 'a Map is not plain JSON data'],
    ['a typed array', { b: new Uint8Array(2) }, 'input.b', 'a Uint8Array is not plain JSON data'],
    ['a class instance', { money: new (class Money {})() }, 'input.money', 'an instance of Money'],
    [
      'a getter',
      {
        get n() {
          return 1;
        },
      },
      'input.n',
      'a getter or setter',
    ],
    ['a proxy', { p: new Proxy({}, {}) }, 'input.p', 'a Proxy is not plain JSON data'],
    ['an odd key', { 'a b': { c: 1n } }, 'input["a b"].c', 'a BigInt'],
  ])('refuses %s, naming its path', (_kind, value, path, message) => {
    const problem = plainJsonProblem(value);
    expect(problem?.path).toBe(path);
    expect(problem?.message).toContain(message);
  });

  it('refuses input nested 100 000 levels deep without a RangeError, and names the level', () => {
    const problem = plainJsonProblem(nested(100_000));
    expect(problem?.message).toBe(`nested deeper than ${PLAIN_JSON_LIMITS.maxDepth} levels`);
    expect(problem?.path).toBe(`input${'.a'.repeat(PLAIN_JSON_LIMITS.maxDepth)}`);
    expect(plainJsonProblem(nested(5), 'input', { maxDepth: 3 })?.path).toBe('input.a.a.a');
  });

  it('refuses values longer than maxLength characters of JSON', () => {
    expect(plainJsonProblem({ text: 'x'.repeat(100) }, 'input', { maxLength: 50 })?.message).toBe(
      'more than 50 characters of JSON (the limit)',
    );
    expect(plainJsonProblem({ text: 'x'.repeat(PLAIN_JSON_LIMITS.maxLength) })?.message).toContain(
      'characters of JSON',
    );
    expect(plainJsonProblem({ text: 'x'.repeat(30) }, 'input', { maxLength: 50 })).toBe(null);
  });

  it('calls no getter, proxy trap or toJSON of the value', () => {
    let calls = 0;
    const trap = new Proxy(
      {},
      {
        ownKeys: () => {
          calls += 1;
          return [];
        },
      },
    );
    const withGetter = Object.defineProperty({}, 'x', {
      get: () => {
        calls += 1;
        return 1;
      },
      enumerable: true,
    });
    plainJsonProblem({ trap });
    plainJsonProblem({ withGetter });
    expect(calls).toBe(0);
  });

  it('omits undefined properties on request, never undefined array items', () => {
    expect(plainJsonProblem({ a: undefined }, 'x', { undefinedProperties: 'omit' })).toBe(null);
    expect(plainJsonProblem([undefined], 'x', { undefinedProperties: 'omit' })?.path).toBe('x[0]');
  });
});

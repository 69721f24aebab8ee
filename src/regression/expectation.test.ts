import { describe, expect, it } from 'vitest';
import { SchemaCache } from '../core/json-schema.ts';
import { checkExpectation, type Expectation, parseExpectation } from './expectation.ts';
import { InvalidExpectationError } from './regression-errors.ts';

const noBaseline = { hasBaseline: false } as const;

function check(expectation: Expectation, output: unknown, context = noBaseline) {
  return checkExpectation(parseExpectation(expectation), output, context);
}

function parseError(value: unknown): InvalidExpectationError {
  try {
    parseExpectation(value);
  } catch (error) {
    if (InvalidExpectationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('parseExpectation accepted the value');
}

describe('parseExpectation', () => {
  it('returns a detached copy of a valid expectation', () => {
    const input = {
      type: 'object',
      schema: { type: 'object', required: ['rate'] },
      equals: { rate: 1 },
      approx: { value: 1, relTol: 0.1 },
      matchesBaseline: true,
    };
    const parsed = parseExpectation(input);
    expect(parsed).toEqual(input);
    (input.equals as { rate: number }).rate = 2;
    input.schema.required.push('other');
    expect(parsed.equals).toEqual({ rate: 1 });
    expect(parsed.schema).toEqual({ type: 'object', required: ['rate'] });
  });

  it.each([
    [null, 'expect', 'an object with one or more of type, schema, equals, approx, matchesBaseline'],
    [[{ type: 'number' }], 'expect', 'an object with one or more of'],
    [{}, 'expect', 'at least one of type, schema, equals, approx, matchesBaseline'],
    [{ equals: undefined }, 'expect', 'at least one of'],
    [
      { type: 'number', exact: 1 },
      'expect.exact',
      'no such key (allowed: type, schema, equals, approx, matchesBaseline)',
    ],
    [{ type: 'float' }, 'expect.type', 'one of number, integer, string, boolean, object, array, null'],
    [{ schema: 'number' }, 'expect.schema', 'a JSON Schema object'],
    [{ schema: [] }, 'expect.schema', 'a JSON Schema object'],
    [
      { schema: { type: 'foo' } },
      'expect.schema',
      'a valid JSON Schema (draft 2020-12); /type: Instance does not match any of',
    ],
    [
      { schema: { type: 'number', minimum: 'x' } },
      'expect.schema',
      '/minimum: Instance type "string" is invalid. Expected "number"',
    ],
    [
      { schema: { required: 'a' } },
      'expect.schema',
      '/required: Instance type "string" is invalid. Expected "array"',
    ],
    [{ schema: { pattern: '(' } }, 'expect.schema', '/pattern: String does not match format "regex"'],
    [{ schema: { items: [{}] } }, 'expect.schema', '/items: Instance type "array" is invalid'],
    [
      { schema: { properties: { a: { $ref: '#/$defs/missing' } } } },
      'expect.schema',
      '/properties/a/$ref: $ref "#/$defs/missing" points to nothing in this schema',
    ],
    [
      { schema: { $dynamicRef: '#node' } },
      'expect.schema',
      '/$dynamicRef: $dynamicRef is not supported by the validator',
    ],
    [{ equals: Number.NaN }, 'expect.equals', 'a JSON value (NaN is not a finite number'],
    [{ equals: { when: new Date(0) } }, 'expect.equals.when', 'a JSON value (a Date is not plain JSON data'],
    [{ equals: [1, undefined] }, 'expect.equals[1]', 'a JSON value (undefined is not JSON'],
    [{ approx: 3 }, 'expect.approx', 'an object { value, relTol?, absTol? } with at least one tolerance'],
    [{ approx: { value: 3 } }, 'expect.approx', 'relTol or absTol (or both)'],
    [{ approx: { value: '3', relTol: 0.1 } }, 'expect.approx.value', 'a finite number'],
    [{ approx: { value: Number.POSITIVE_INFINITY, relTol: 0.1 } }, 'expect.approx.value', 'a finite number'],
    [{ approx: { value: 3, relTol: -0.1 } }, 'expect.approx.relTol', 'a finite number ≥ 0'],
    [{ approx: { value: 3, absTol: Number.NaN } }, 'expect.approx.absTol', 'a finite number ≥ 0'],
    [
      { approx: { value: 3, absTol: 1, tol: 1 } },
      'expect.approx.tol',
      'no such key (allowed: value, relTol, absTol)',
    ],
    [{ matchesBaseline: false }, 'expect.matchesBaseline', 'true (omit the key otherwise)'],
    [{ matchesBaseline: 'yes' }, 'expect.matchesBaseline', 'true'],
  ])('rejects %j at %s', (value, field, expected) => {
    const error = parseError(value);
    expect(error.code).toBe('INVALID_EXPECTATION');
    expect(error.field).toBe(field);
    expect(error.message).toContain(`Invalid expectation "${field}": expected `);
    expect(error.message).toContain(expected);
    expect(error.message).toContain(`fix "${field}"`);
  });

  it('names a custom field path and quotes the value', () => {
    try {
      parseExpectation({ type: 'float' }, 'cases[2].expect');
      expect.unreachable();
    } catch (error) {
      expect((error as InvalidExpectationError).message).toBe(
        'Invalid expectation "cases[2].expect.type": expected one of number, integer, string, boolean, object, array, null, received "float". An expectation is an object with one or more of type, schema, equals, approx and matchesBaseline (all must hold); fix "cases[2].expect.type".',
      );
      expect((error as InvalidExpectationError).value).toBe('float');
    }
  });

  it('accepts local $refs that resolve, and a schema that is frozen', () => {
    const schema = Object.freeze({
      $defs: Object.freeze({ rate: Object.freeze({ type: 'number', exclusiveMinimum: 0 }) }),
      type: 'object',
      properties: Object.freeze({ rate: Object.freeze({ $ref: '#/$defs/rate' }) }),
    });
    const parsed = parseExpectation({ schema });
    expect(checkExpectation(parsed, { rate: 0.9 }, noBaseline)).toEqual({ passed: true, reason: null });
    expect(checkExpectation(parsed, { rate: 0 }, noBaseline).passed).toBe(false);
  });
});

describe('checkExpectation: type', () => {
  it.each([
    ['number', 1, true],
    ['number', 1.5, true],
    ['number', true, false],
    ['number', '1', false],
    ['integer', 1, true],
    ['integer', -0, true],
    ['integer', 1.5, false],
    ['string', '', true],
    ['string', 1, false],
    ['boolean', false, true],
    ['boolean', 0, false],
    ['object', {}, true],
    ['object', [], false],
    ['object', null, false],
    ['array', [], true],
    ['array', {}, false],
    ['null', null, true],
    ['null', undefined, false],
    ['null', {}, false],
  ] as const)('type %s on %j → %s', (type, output, passed) => {
    expect(check({ type }, output).passed).toBe(passed);
  });

  it('quotes the expected type and the actual value', () => {
    expect(check({ type: 'integer' }, 1.5)).toEqual({
      passed: false,
      reason: 'expected type integer, got number 1.5',
    });
    expect(check({ type: 'object' }, [1, 2]).reason).toBe('expected type object, got array [1,2]');
    expect(check({ type: 'number' }, true).reason).toBe('expected type number, got boolean true');
    expect(check({ type: 'string' }, undefined).reason).toBe('expected type string, got undefined undefined');
  });
});

describe('checkExpectation: schema', () => {
  const schema = {
    type: 'object',
    required: ['rate', 'currency'],
    properties: {
      rate: { type: 'number' },
      currency: { type: 'string' },
      history: { type: 'array', items: { type: 'number' } },
    },
    additionalProperties: false,
  };

  it('passes a matching output', () => {
    expect(check({ schema }, { rate: 0.9, currency: 'EUR', history: [1, 2] })).toEqual({
      passed: true,
      reason: null,
    });
  });

  it('reports the first three violations with their paths, and how many more', () => {
    const result = check({ schema }, { rate: '0.9', history: [1, 'x', 'y'], extra: true });
    expect(result.passed).toBe(false);
    expect(result.reason).toBe(
      'does not match the schema: (output root): Instance does not have required property "currency"; ' +
        '/rate: Instance type "string" is invalid. Expected "number"; ' +
        '/history/1: Instance type "string" is invalid. Expected "number" (and 2 more); ' +
        'got {"rate":"0.9","history":[1,"x","y"],"extra":true}',
    );
  });

  it('says a property is not allowed under additionalProperties: false', () => {
    const result = check({ schema }, { rate: 1, currency: 'EUR', extra: 1 });
    expect(result.reason).toBe(
      'does not match the schema: /extra: not allowed by the schema; got {"rate":1,"currency":"EUR","extra":1}',
    );
  });

  it('uses draft 2020-12 (prefixItems)', () => {
    const tuple = { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }] };
    expect(check({ schema: tuple }, ['EUR', 0.9]).passed).toBe(true);
    expect(check({ schema: tuple }, ['EUR', '0.9']).reason).toContain(
      '/1: Instance type "string" is invalid',
    );
  });

  it('compiles each distinct schema once per cache, whatever its key order', () => {
    const schemas = new SchemaCache({ maxEntries: 2 });
    const context = { hasBaseline: false, schemas };
    const a = parseExpectation({ schema: { type: 'number', minimum: 0 } });
    const b = parseExpectation({ schema: { minimum: 0, type: 'number' } });
    expect(checkExpectation(a, 1, context).passed).toBe(true);
    expect(checkExpectation(b, -1, context).passed).toBe(false);
    expect(schemas.size).toBe(1);
    expect(schemas.compile({ type: 'number', minimum: 0 })).toBe(schemas.compile(a.schema as object));
    // The bound evicts the least recently used schema.
    schemas.compile({ type: 'string' });
    schemas.compile({ type: 'boolean' });
    expect(schemas.size).toBe(2);
  });

  it('reports a schema that fails while validating instead of throwing', () => {
    // Built without parseExpectation: a remote $ref is only found when validation reaches it.
    const expectation: Expectation = {
      schema: { properties: { a: { $ref: 'https://example.com/x.json' } } },
    };
    const result = checkExpectation(expectation, { a: 1 }, noBaseline);
    expect(result.passed).toBe(false);
    expect(result.reason).toMatch(/^the schema could not be evaluated: Unresolved \$ref/);
  });
});

describe('checkExpectation: equals', () => {
  it('compares deeply, ignoring key order but not array order or types', () => {
    expect(check({ equals: { a: 1, b: [1, 2] } }, { b: [1, 2], a: 1 }).passed).toBe(true);
    expect(check({ equals: [1, 2] }, [2, 1]).passed).toBe(false);
    expect(check({ equals: 1 }, true).passed).toBe(false);
    expect(check({ equals: null }, null).passed).toBe(true);
    expect(check({ equals: null }, undefined).passed).toBe(false);
  });

  it('names the first difference', () => {
    expect(
      check({ equals: { rates: { EUR: 0.9, GBP: [1, 2] } } }, { rates: { EUR: 0.9, GBP: [1, 3] } }).reason,
    ).toBe(
      'expected {"rates":{"EUR":0.9,"GBP":[1,2]}}, got {"rates":{"EUR":0.9,"GBP":[1,3]}} (first difference at /rates/GBP/1: expected 2, got 3)',
    );
    expect(check({ equals: { a: 1 } }, { a: 1, b: 2 }).reason).toBe(
      'expected {"a":1}, got {"a":1,"b":2} (first difference at /b: expected no such key, got 2)',
    );
    expect(check({ equals: { a: 1, 'x/y': 2 } }, { a: 1 }).reason).toContain(
      '(first difference at /x~1y: expected 2, got no such key)',
    );
    expect(check({ equals: [1] }, [1, 2]).reason).toBe('expected [1], got [1,2]');
    expect(check({ equals: 'a' }, 'b').reason).toBe('expected "a", got "b"');
  });

  it('cuts long values at about 200 characters', () => {
    const long = 'x'.repeat(1000);
    const reason = check({ equals: long }, 'y').reason as string;
    expect(reason.startsWith(`expected "${'x'.repeat(198)}…, got "y"`)).toBe(true);
    expect(reason.length).toBeLessThan(230);
  });
});

describe('checkExpectation: approx', () => {
  it('passes within an absolute or a relative tolerance', () => {
    expect(check({ approx: { value: 3.7, absTol: 0.01 } }, 3.705).passed).toBe(true);
    expect(check({ approx: { value: 3.7, absTol: 0.01 } }, 3.72).passed).toBe(false);
    expect(check({ approx: { value: 100, relTol: 0.05 } }, 104.9).passed).toBe(true);
    expect(check({ approx: { value: 100, relTol: 0.05 } }, 94).passed).toBe(false);
    // Either tolerance is enough.
    expect(check({ approx: { value: 100, relTol: 0.01, absTol: 5 } }, 104).passed).toBe(true);
    expect(check({ approx: { value: 0, absTol: 0 } }, 0).passed).toBe(true);
  });

  it('requires a finite number and quotes the distance', () => {
    expect(check({ approx: { value: 3.7, absTol: 0.01 } }, 3.8).reason).toBe(
      'expected ≈ 3.7 (absTol 0.01), got 3.8 (off by 0.1)',
    );
    expect(check({ approx: { value: 3.7, relTol: 0.1, absTol: 0.01 } }, '3.7').reason).toBe(
      'expected a number ≈ 3.7 (absTol 0.01 or relTol 0.1), got string "3.7"',
    );
    expect(check({ approx: { value: 1, relTol: 1 } }, null).passed).toBe(false);
  });
});

describe('checkExpectation: matchesBaseline', () => {
  it('passes when the output deep-equals the baseline output, including null', () => {
    expect(
      check({ matchesBaseline: true }, { b: 1, a: 2 }, {
        hasBaseline: true,
        baselineOutput: { a: 2, b: 1 },
      } as never),
    ).toEqual({
      passed: true,
      reason: null,
    });
    expect(
      check({ matchesBaseline: true }, null, { hasBaseline: true, baselineOutput: null } as never).passed,
    ).toBe(true);
  });

  it('fails with the difference when the outputs differ', () => {
    expect(
      check({ matchesBaseline: true }, { rate: 0.91 }, {
        hasBaseline: true,
        baselineOutput: { rate: 0.9 },
      } as never).reason,
    ).toBe(
      'differs from the baseline: baseline {"rate":0.9}, got {"rate":0.91} (first difference at /rate: expected 0.9, got 0.91)',
    );
  });

  it('fails closed without a baseline version, or when the baseline produced no output', () => {
    expect(check({ matchesBaseline: true }, 1).reason).toBe(
      'matchesBaseline: there is no baseline version to compare with (a new tool), so the case cannot pass',
    );
    expect(check({ matchesBaseline: true }, 1, { hasBaseline: true } as never).reason).toBe(
      'matchesBaseline: the baseline returned no output for this input (it failed), so there is nothing to compare with',
    );
  });
});

describe('checkExpectation: several keys', () => {
  it('requires all of them and reports every failure in a fixed order', () => {
    const expectation = { type: 'integer', approx: { value: 10, absTol: 0.5 }, equals: 10 } as const;
    expect(check(expectation, 10)).toEqual({ passed: true, reason: null });
    expect(check(expectation, 10.4)).toEqual({
      passed: false,
      reason: 'expected type integer, got number 10.4; expected 10, got 10.4',
    });
    expect(check(expectation, 12).reason).toBe(
      'expected 10, got 12; expected ≈ 10 (absTol 0.5), got 12 (off by 2)',
    );
  });
});

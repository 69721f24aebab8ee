import { describe, expect, it } from 'vitest';
import { InvalidToolError } from '../registry/registry-errors.ts';
import { InvalidExpectationError, InvalidTestCaseError } from '../regression/regression-errors.ts';
import { StorageInputError } from '../storage/storage-errors.ts';
import { InvalidOptionError } from './invalid-option-error.ts';
import { describeValue, InvalidValueError } from './invalid-value-error.ts';
import { integerOption, numberOption, objectOption, stringOption } from './options.ts';
import { SiaError } from './sia-error.ts';

describe('InvalidOptionError and option validators', () => {
  it('names the option, the expectation and the received value', () => {
    const error = (() => {
      try {
        integerOption('batch.maxRecords', -3, 1);
      } catch (caught) {
        return caught;
      }
    })();
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    const invalid = error as InvalidOptionError;
    expect(invalid.code).toBe('INVALID_OPTION');
    expect(invalid.field).toBe('batch.maxRecords');
    expect(invalid.option).toBe('batch.maxRecords'); // the deprecated alias of `field`
    expect(invalid.expected).toBe('an integer ≥ 1');
    expect(invalid.value).toBe(-3);
    expect(InvalidValueError.isInstance(error)).toBe(true);
    expect(invalid.message).toContain('"batch.maxRecords"');
    expect(invalid.message).toContain('an integer ≥ 1');
    expect(invalid.message).toContain('received -3');
  });

  it('accepts valid values and rejects wrong types', () => {
    expect(integerOption('a', 5, 1, 10)).toBe(5);
    expect(() => integerOption('a', 1.5, 1)).toThrow(/an integer ≥ 1, received 1.5/);
    expect(() => integerOption('a', 11, 1, 10)).toThrow(/between 1 and 10/);
    expect(numberOption('b', 0.5, 0, 1)).toBe(0.5);
    expect(() => numberOption('b', Number.NaN, 0)).toThrow(/received NaN/);
    expect(stringOption('c', 'x')).toBe('x');
    expect(() => stringOption('c', '')).toThrow(/received ""/);
    expect(objectOption('d', { a: 1 })).toEqual({ a: 1 });
    expect(() => objectOption('d', [1])).toThrow(/received an array of 1/);
  });

  it('is one family: every invalid-value error has field, expected and value, and its own code', () => {
    const errors = [
      new InvalidOptionError({ field: 'window', expected: 'an integer ≥ 1', value: 0 }),
      new InvalidTestCaseError({ field: 'case.input', expected: 'a JSON object', value: 'x' }),
      new InvalidExpectationError({
        field: 'expect.type',
        expected: 'one of number, string',
        value: 'float',
      }),
      new InvalidToolError({ field: 'name', expected: 'a snake_case name', value: 'AddNumbers' }),
      new StorageInputError({
        field: 'records[0].latencyMs',
        expected: 'a finite number ≥ 0',
        value: Number.NaN,
      }),
    ];
    expect(errors.map((error) => error.code)).toEqual([
      'INVALID_OPTION',
      'INVALID_TEST_CASE',
      'INVALID_EXPECTATION',
      'INVALID_TOOL',
      'STORAGE_INPUT',
    ]);
    for (const error of errors) {
      expect(InvalidValueError.isInstance(error)).toBe(true);
      expect(SiaError.isInstance(error)).toBe(true);
      expect(error.message).toContain(`"${error.field}": expected ${error.expected}, received `);
    }
    expect(errors.map((error) => error.message)).toEqual([
      'Invalid option "window": expected an integer ≥ 1, received 0. Fix the value passed as "window".',
      'Invalid test case field "case.input": expected a JSON object, received "x". Fix the case; nothing was written.',
      'Invalid expectation "expect.type": expected one of number, string, received "float". An expectation is an object with one or more of type, schema, equals, approx and matchesBaseline (all must hold); fix "expect.type".',
      'Invalid "name": expected a snake_case name, received "AddNumbers". Fix "name"; nothing was written.',
      'Cannot store "records[0].latencyMs": expected a finite number ≥ 0, received NaN. Fix the value before storing it; nothing was written.',
    ]);
    // Each subclass still answers only for itself.
    expect(InvalidOptionError.isInstance(errors[1])).toBe(false);
    expect(InvalidToolError.isInstance(errors[0])).toBe(false);
    expect(InvalidValueError.isInstance(new Error('x'))).toBe(false);
  });

  it('renders values briefly', () => {
    expect(describeValue('x'.repeat(200))).toHaveLength(82);
    expect(describeValue(10n)).toBe('10n');
    expect(describeValue(() => 1)).toBe('a function');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe('an object');
  });
});

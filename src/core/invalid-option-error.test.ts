import { describe, expect, it } from 'vitest';
import { describeValue, InvalidOptionError } from './invalid-option-error.ts';
import { integerOption, numberOption, objectOption, stringOption } from './options.ts';

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
    expect(invalid.option).toBe('batch.maxRecords');
    expect(invalid.value).toBe(-3);
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

  it('renders values briefly', () => {
    expect(describeValue('x'.repeat(200))).toHaveLength(82);
    expect(describeValue(10n)).toBe('10n');
    expect(describeValue(() => 1)).toBe('a function');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe('an object');
  });
});

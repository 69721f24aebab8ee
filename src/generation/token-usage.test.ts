import { describe, expect, it } from 'vitest';
import { addUsage, emptyUsage, usageFromModel } from './token-usage.ts';

describe('token usage', () => {
  it('starts at zero and adds field by field', () => {
    expect(emptyUsage()).toEqual({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });
    const sum = addUsage(
      { inputTokens: 10, outputTokens: 2, totalTokens: 12 },
      { inputTokens: 5, outputTokens: 1, totalTokens: 7 },
    );
    expect(sum).toEqual({ inputTokens: 15, outputTokens: 3, totalTokens: 19 });
  });

  it('keeps the provider total and counts missing numbers as 0', () => {
    expect(usageFromModel({ inputTokens: 100, outputTokens: 20, totalTokens: 150 })).toEqual({
      inputTokens: 100,
      outputTokens: 20,
      totalTokens: 150,
    });
    expect(usageFromModel({ inputTokens: 100, outputTokens: undefined, totalTokens: undefined })).toEqual({
      inputTokens: 100,
      outputTokens: 0,
      totalTokens: 100,
    });
    expect(usageFromModel(undefined)).toEqual(emptyUsage());
    expect(
      usageFromModel({ inputTokens: Number.NaN, outputTokens: -1, totalTokens: Number.POSITIVE_INFINITY }),
    ).toEqual(emptyUsage());
  });
});

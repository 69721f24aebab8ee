import type { LanguageModelUsage } from 'ai';

/**
 * Tokens spent on model calls, summed over attempts. Numbers a provider did not report count
 * as 0, so totals are lower bounds when a provider reports nothing.
 */
export interface TokenUsage {
  /** Prompt tokens. */
  readonly inputTokens: number;
  /** Completion tokens (including reasoning tokens when the provider counts them there). */
  readonly outputTokens: number;
  /** What the provider reported as the total, or `inputTokens + outputTokens` when it did not. */
  readonly totalTokens: number;
}

/** A usage of zero tokens, the starting point of a sum. */
export function emptyUsage(): TokenUsage {
  return { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
}

/** The sum of two usages. */
export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  };
}

/**
 * Converts the AI SDK's usage of one `generateText` result. Missing or non-finite numbers count
 * as 0; the total is `inputTokens + outputTokens` when the provider omits it.
 */
export function usageFromModel(usage: Partial<LanguageModelUsage> | undefined): TokenUsage {
  const inputTokens = count(usage?.inputTokens);
  const outputTokens = count(usage?.outputTokens);
  const reported = usage?.totalTokens;
  const totalTokens =
    typeof reported === 'number' && Number.isFinite(reported) && reported >= 0
      ? reported
      : inputTokens + outputTokens;
  return { inputTokens, outputTokens, totalTokens };
}

function count(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

import type { LanguageModelV4GenerateResult } from '@ai-sdk/provider';

/** A mock model's plain-text answer with the given token usage, for `MockLanguageModelV4`. */
export function textAnswer(text: string, input: number, output: number): LanguageModelV4GenerateResult {
  return {
    content: [{ type: 'text', text }],
    finishReason: { unified: 'stop', raw: 'stop' },
    usage: {
      inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
      outputTokens: { total: output, text: output, reasoning: undefined },
    },
    warnings: [],
  };
}

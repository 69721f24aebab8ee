/**
 * Stands in for `@ai-sdk/openai` when the README quickstart runs in a test: `createOpenAI()`
 * returns a provider whose `chat()` model is scripted (it answers every task with text), so
 * the quickstart's own code runs unchanged without a network or an API key.
 */
import { scriptedModel } from '../../src/testing/scripted-model.ts';

/** The part of the OpenAI provider the quickstart uses. */
export function createOpenAI(_options: { apiKey?: string }) {
  return {
    chat: (_modelId: string) => scriptedModel(() => ({ text: '5000 USD is about 18,500 ILS.' })),
  };
}

import { generateText, streamText } from 'ai';
import type { MockLanguageModelV4 } from 'ai/test';
import { describe, expect, it } from 'vitest';
import { modelWithDeadline } from './model-deadline.ts';

/** A provider model the way real ones are written: its methods read its own fields. */
class FieldReadingModel {
  readonly specificationVersion = 'v4';
  readonly provider = 'fields';
  readonly modelId = 'field-reader';
  readonly supportedUrls = {};
  readonly #answer: string;
  constructor(answer: string) {
    this.#answer = answer;
  }
  // Methods on the prototype, reading `this`: called unbound they throw.
  async doGenerate(): Promise<Awaited<ReturnType<MockLanguageModelV4['doGenerate']>>> {
    return this.#generated();
  }
  async doStream(): Promise<Awaited<ReturnType<MockLanguageModelV4['doStream']>>> {
    return this.#streamed();
  }
  #generated(): Awaited<ReturnType<MockLanguageModelV4['doGenerate']>> {
    return {
      content: [{ type: 'text', text: this.#answer }],
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: {
        inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: 1, text: 1, reasoning: 0 },
      },
      warnings: [],
    } as never;
  }
  #streamed(): Awaited<ReturnType<MockLanguageModelV4['doStream']>> {
    const answer = this.#answer;
    return {
      stream: new ReadableStream({
        start(controller) {
          controller.enqueue({ type: 'stream-start', warnings: [] });
          controller.enqueue({ type: 'text-start', id: 't' });
          controller.enqueue({ type: 'text-delta', id: 't', delta: answer });
          controller.enqueue({ type: 'text-end', id: 't' });
          controller.enqueue({
            type: 'finish',
            finishReason: { unified: 'stop', raw: 'stop' },
            usage: {
              inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
              outputTokens: { total: 1, text: 1, reasoning: 0 },
            },
          });
          controller.close();
        },
      }),
    } as never;
  }
}

describe('modelWithDeadline', () => {
  it('calls the provider’s doGenerate and doStream as methods (a provider reads its own fields)', async () => {
    const model = modelWithDeadline(new FieldReadingModel('from the field') as never, 5_000);
    expect((await generateText({ model, prompt: 'hi' })).text).toBe('from the field');
    expect(await streamText({ model, prompt: 'hi' }).text).toBe('from the field');
  });
});

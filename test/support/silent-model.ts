import { MockLanguageModelV4 } from 'ai/test';

/**
 * A model whose calls never answer. With `honoursAbort` a call rejects when its abort signal
 * fires (like a well-behaved provider); without, it stays pending forever. `started` resolves
 * on the first call; `aborted()` tells whether a call's signal was aborted.
 */
export function silentModel(honoursAbort: boolean): {
  model: MockLanguageModelV4;
  started: Promise<void>;
  aborted: () => boolean;
  calls: () => number;
} {
  let wasAborted = false;
  let calls = 0;
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    markStarted = resolve;
  });
  const model = new MockLanguageModelV4({
    modelId: 'silent-model',
    doGenerate: (options) => {
      calls += 1;
      markStarted();
      return new Promise((_resolve, reject) => {
        options.abortSignal?.addEventListener('abort', () => {
          wasAborted = true;
          if (honoursAbort) reject(options.abortSignal?.reason);
        });
      });
    },
  });
  return { model, started, aborted: () => wasAborted, calls: () => calls };
}

import type { LanguageModel } from 'ai';
import { integerOption } from '../core/options.ts';
import { AbortedError, ModelTimeoutError } from './generation-errors.ts';

/** Default deadline of one model call (the AI SDK's retries included), ms. */
export const DEFAULT_MODEL_TIMEOUT_MS = 120_000;
/** Largest accepted `modelTimeoutMs`: one hour. */
export const MAX_MODEL_TIMEOUT_MS = 3_600_000;

/** Validates a `modelTimeoutMs` option: an integer from 1 ms to one hour. */
export function modelTimeoutOption(field: string, value: unknown): number {
  return integerOption(field, value, 1, MAX_MODEL_TIMEOUT_MS);
}

/** Options of {@link withDeadline}. */
export interface DeadlineOptions {
  /** Reject with {@link ModelTimeoutError} after this many ms; no deadline when undefined. */
  readonly timeoutMs?: number | undefined;
  /** Reject with {@link AbortedError} as soon as this aborts. */
  readonly abortSignal?: AbortSignal | undefined;
  /** Named in the timeout error. */
  readonly modelId?: string | undefined;
  /** Named in the abort error, e.g. `the model call`. */
  readonly operation: string;
}

/**
 * Runs `work` with a signal that aborts when `options.abortSignal` aborts or `timeoutMs` passes,
 * and stops waiting for it at that moment: the returned promise rejects with
 * {@link AbortedError} or {@link ModelTimeoutError} even when `work` ignores its signal (a
 * provider that never answers). A later rejection of `work` is ignored.
 */
export async function withDeadline<T>(
  work: (signal: AbortSignal) => PromiseLike<T>,
  options: DeadlineOptions,
): Promise<T> {
  const { abortSignal, timeoutMs } = options;
  if (abortSignal?.aborted === true) throw abortedError(options.operation, abortSignal.reason);
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    const stop = (error: Error) => {
      controller.abort(error);
      reject(error);
    };
    onAbort = () => stop(abortedError(options.operation, abortSignal?.reason));
    abortSignal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(
        () =>
          stop(
            new ModelTimeoutError({
              timeoutMs,
              ...(options.modelId === undefined ? {} : { modelId: options.modelId }),
            }),
          ),
        timeoutMs,
      );
    }
  });
  const running = Promise.resolve().then(() => work(controller.signal));
  // It may still reject after the deadline, when nobody listens any more.
  running.then(undefined, () => undefined);
  try {
    return await Promise.race([running, stopped]);
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(timer);
    if (onAbort) abortSignal?.removeEventListener('abort', onAbort);
  }
}

function abortedError(operation: string, reason: unknown): Error {
  // A signal aborted by an outer deadline already carries the typed error: keep it.
  if (AbortedError.isInstance(reason) || ModelTimeoutError.isInstance(reason)) return reason;
  return new AbortedError(operation, reason);
}

type ModelMethod = (options: { abortSignal?: AbortSignal }) => PromiseLike<unknown>;

/**
 * The same model, with a deadline on each of its calls: a `doGenerate` that does not answer
 * within `timeoutMs`, or whose `abortSignal` aborts, rejects at once with
 * {@link ModelTimeoutError} / {@link AbortedError}, even when the provider ignores the signal. A
 * `doStream` has the same deadline for the whole stream, not only its start: a stream still
 * open at `timeoutMs` (a provider that stalls mid-answer) errors with {@link ModelTimeoutError}
 * and the provider's stream is cancelled. A model id string is returned as is (the AI SDK
 * resolves it; its provider honours signals).
 */
export function modelWithDeadline(model: LanguageModel, timeoutMs: number): LanguageModel {
  if (typeof model === 'string') return model;
  const inner = model as unknown as Record<string, unknown> & {
    readonly modelId: string;
    readonly doGenerate: ModelMethod;
    readonly doStream: ModelMethod;
  };
  const doGenerate = (callOptions: { abortSignal?: AbortSignal }): Promise<unknown> =>
    withDeadline((signal) => inner.doGenerate({ ...callOptions, abortSignal: signal }), {
      timeoutMs,
      abortSignal: callOptions.abortSignal,
      modelId: inner.modelId,
      operation: 'the model call',
    });
  return {
    specificationVersion: inner.specificationVersion,
    provider: inner.provider,
    modelId: inner.modelId,
    get supportedUrls() {
      return inner.supportedUrls;
    },
    doGenerate,
    // Called as a method: providers read their own fields (`this.getArgs`).
    doStream: (callOptions: { abortSignal?: AbortSignal }) =>
      streamWithDeadline((options) => inner.doStream(options), callOptions, timeoutMs, inner.modelId),
  } as unknown as LanguageModel;
}

/** `doStream` with one deadline from the call to the stream's end (see {@link modelWithDeadline}). */
async function streamWithDeadline(
  doStream: ModelMethod,
  callOptions: { abortSignal?: AbortSignal },
  timeoutMs: number,
  modelId: string,
): Promise<unknown> {
  const outer = callOptions.abortSignal;
  const controller = new AbortController();
  const onOuter = () => controller.abort(abortedError('the model call', outer?.reason));
  if (outer?.aborted === true) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  const timer = setTimeout(() => controller.abort(new ModelTimeoutError({ timeoutMs, modelId })), timeoutMs);
  const cleanup = () => {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  };
  let result: { stream: ReadableStream<unknown> } & Record<string, unknown>;
  try {
    result = (await withDeadline((signal) => doStream({ ...callOptions, abortSignal: signal }), {
      abortSignal: controller.signal,
      operation: 'the model call',
    })) as typeof result;
  } catch (error) {
    cleanup();
    throw error;
  }
  // Rejects when the deadline passes or the caller aborts, while the stream is still open.
  const stopped = new Promise<never>((_resolve, reject) => {
    if (controller.signal.aborted) reject(controller.signal.reason);
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  stopped.catch(() => undefined);
  const reader = result.stream.getReader();
  const stream = new ReadableStream<unknown>({
    async pull(streamController) {
      try {
        const next = await Promise.race([reader.read(), stopped]);
        if (next.done) {
          cleanup();
          streamController.close();
        } else {
          streamController.enqueue(next.value);
        }
      } catch (error) {
        cleanup();
        reader.cancel(error).catch(() => undefined);
        streamController.error(error);
      }
    },
    cancel(reason) {
      cleanup();
      return reader.cancel(reason);
    },
  });
  return { ...result, stream };
}

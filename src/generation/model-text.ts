import { APICallError, generateText, type LanguageModel, RetryError, type TelemetryOptions } from 'ai';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { integerOption, numberOption } from '../core/options.ts';
import { AbortedError, ModelCallError, ModelTimeoutError } from './generation-errors.ts';
import { DEFAULT_MODEL_TIMEOUT_MS, modelTimeoutOption, withDeadline } from './model-deadline.ts';
import { type TokenUsage, usageFromModel } from './token-usage.ts';

/** One plain-text request to a model, see {@link generateCodeText}. */
export interface CodeTextRequest {
  /** Instructions (the system prompt). */
  readonly system: string;
  /** The user prompt. */
  readonly prompt: string;
  /** Sampling temperature; the provider's default when omitted. */
  readonly temperature?: number;
  /** Cap on the answer's length; the provider's default when omitted. */
  readonly maxOutputTokens?: number;
  /**
   * Retries the AI SDK makes on transient failures (429, 5xx, network), with exponential
   * back-off that honours `retry-after`.
   * @default 2
   */
  readonly maxRetries?: number;
  /** Cancels the call: it rejects at once with {@link AbortedError} (code `ABORTED`). */
  readonly abortSignal?: AbortSignal;
  /**
   * Deadline of the call (retries included), ms: past it the call is aborted and rejects with
   * {@link ModelTimeoutError} (code `MODEL_TIMEOUT`), even when the provider ignores the abort.
   * @default 120_000
   */
  readonly timeoutMs?: number;
  /**
   * The AI SDK's telemetry settings of the call (`functionId`, `integrations`, `recordInputs`, …),
   * passed to `generateText` as given. @default none (the AI SDK's registered integrations, if any)
   */
  readonly telemetry?: TelemetryOptions;
}

/** The model's answer and what it cost. */
export interface CodeTextResult {
  /** The answer's text (may be empty). */
  readonly text: string;
  /** Tokens used by the call. */
  readonly usage: TokenUsage;
}

/**
 * Asks `model` for one plain-text answer (no tools, one step) with the AI SDK's `generateText`.
 * Provider failures that survive the SDK's retries become a {@link ModelCallError} whose message
 * says what failed and what to check; the SDK's error is its `cause`.
 *
 * @example
 * ```ts
 * const { text, usage } = await generateCodeText(openai('gpt-4o-mini'), { system, prompt });
 * ```
 */
export async function generateCodeText(
  model: LanguageModel,
  request: CodeTextRequest,
): Promise<CodeTextResult> {
  try {
    const result = await withDeadline(
      (abortSignal) =>
        generateText({
          model,
          instructions: request.system,
          prompt: request.prompt,
          ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
          ...(request.maxOutputTokens === undefined ? {} : { maxOutputTokens: request.maxOutputTokens }),
          maxRetries: request.maxRetries ?? 2,
          ...(request.telemetry === undefined ? {} : { telemetry: request.telemetry }),
          abortSignal,
        }),
      {
        timeoutMs: request.timeoutMs ?? DEFAULT_MODEL_TIMEOUT_MS,
        abortSignal: request.abortSignal,
        modelId: typeof model === 'string' ? model : model.modelId,
        operation: 'the model call',
      },
    );
    return { text: result.text, usage: usageFromModel(result.usage) };
  } catch (error) {
    if (AbortedError.isInstance(error) || ModelTimeoutError.isInstance(error)) throw error;
    if (request.abortSignal?.aborted === true) {
      throw new AbortedError('the model call', request.abortSignal.reason);
    }
    // A provider-side AbortError/TimeoutError nobody asked for is a failed call, not a cancel.
    throw toModelCallError(model, error);
  }
}

/** Wraps whatever `generateText` threw into a {@link ModelCallError}. */
export function toModelCallError(model: LanguageModel, error: unknown): ModelCallError {
  const modelId = typeof model === 'string' ? model : model.modelId;
  const attempts = RetryError.isInstance(error) ? error.errors.length : 1;
  const last = RetryError.isInstance(error) ? error.lastError : error;
  const statusCode = APICallError.isInstance(last) ? last.statusCode : undefined;
  const message = (last instanceof Error ? last.message : String(last)).trim().replace(/\.$/, '');
  const detail = `${statusCode === undefined ? '' : `HTTP ${statusCode}: `}${message || 'no error message'}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`;
  return new ModelCallError({
    detail,
    modelId,
    ...(statusCode === undefined ? {} : { statusCode }),
    isRetryable: APICallError.isInstance(last) ? last.isRetryable : false,
    cause: error,
  });
}

/**
 * Throws `InvalidOptionError` naming `field` unless `model` looks like an AI SDK language model
 * (an object with `doGenerate` and a `specificationVersion`) or a model id string.
 */
export function checkLanguageModel(model: unknown, field = 'model'): asserts model is LanguageModel {
  if (typeof model === 'string' && model.length > 0) return;
  if (
    typeof model === 'object' &&
    model !== null &&
    typeof (model as { doGenerate?: unknown }).doGenerate === 'function' &&
    typeof (model as { specificationVersion?: unknown }).specificationVersion === 'string'
  ) {
    return;
  }
  throw new InvalidOptionError({
    field,
    expected: 'an AI SDK LanguageModel (e.g. openai("gpt-4o-mini")) or a model id string',
    value: model,
  });
}

/** The model-call settings shared by the generator and the LLM rewriter. */
export interface ModelCallSettings {
  readonly temperature: number | undefined;
  readonly maxOutputTokens: number | undefined;
  readonly maxRetries: number;
  readonly modelTimeoutMs: number;
}

/**
 * Validates `temperature` (0–2), `maxOutputTokens` (≥ 1), `maxRetries` (0–10, default 2) and
 * `modelTimeoutMs` (1 ms to 1 hour, default 120 000).
 */
export function resolveModelCallSettings(options: {
  readonly temperature?: number;
  readonly maxOutputTokens?: number;
  readonly maxRetries?: number;
  readonly modelTimeoutMs?: number;
}): ModelCallSettings {
  return {
    temperature:
      options.temperature === undefined ? undefined : numberOption('temperature', options.temperature, 0, 2),
    maxOutputTokens:
      options.maxOutputTokens === undefined
        ? undefined
        : integerOption('maxOutputTokens', options.maxOutputTokens, 1),
    maxRetries: options.maxRetries === undefined ? 2 : integerOption('maxRetries', options.maxRetries, 0, 10),
    modelTimeoutMs:
      options.modelTimeoutMs === undefined
        ? DEFAULT_MODEL_TIMEOUT_MS
        : modelTimeoutOption('modelTimeoutMs', options.modelTimeoutMs),
  };
}

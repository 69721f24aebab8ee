import { SiaError } from '../core/sia-error.ts';
import type { GenerationAttempt } from './generation-attempt.ts';

const modelCallMarker = Symbol.for('self-improving-agent.error.ModelCallError');
const generationFailedMarker = Symbol.for('self-improving-agent.error.GenerationFailedError');

/** Options of {@link ModelCallError}. */
export interface ModelCallErrorOptions {
  /** What the provider said, e.g. `HTTP 401: Incorrect API key provided`. */
  readonly detail: string;
  /** The provider's model id, when known. */
  readonly modelId?: string;
  /** The HTTP status of the last failed request, when there was one. */
  readonly statusCode?: number;
  /** Whether the AI SDK considered the failure transient (it retried those already). */
  readonly isRetryable?: boolean;
  /** The error the AI SDK threw. */
  readonly cause?: unknown;
}

/**
 * A call to the language model failed (after the AI SDK's own retries): bad API key, wrong base
 * URL or model id, rate limits or quota, a provider outage, or a network error. `cause` is the
 * AI SDK's error (`APICallError`, `RetryError`, …).
 */
export class ModelCallError extends SiaError {
  readonly [modelCallMarker] = true;
  /** The provider's model id, when known. */
  readonly modelId: string | undefined;
  /** The HTTP status of the last failed request, when there was one. */
  readonly statusCode: number | undefined;
  /** Whether the failure looked transient (rate limit, 5xx, network). */
  readonly isRetryable: boolean;

  constructor(options: ModelCallErrorOptions) {
    super({ code: 'MODEL_CALL_FAILED', message: modelCallMessage(options), cause: options.cause });
    this.name = 'ModelCallError';
    this.modelId = options.modelId;
    this.statusCode = options.statusCode;
    this.isRetryable = options.isRetryable ?? false;
  }

  /** True when `error` is a {@link ModelCallError} (from any copy of the package). */
  static override isInstance(error: unknown): error is ModelCallError {
    return SiaError.hasMarker(error, modelCallMarker);
  }
}

function modelCallMessage(options: ModelCallErrorOptions): string {
  const model = options.modelId === undefined ? 'the language model' : `model "${options.modelId}"`;
  const status = options.statusCode;
  const advice =
    status === 401 || status === 403
      ? 'Check the API key (and that it may use this model).'
      : status === 404
        ? 'Check the base URL and the model id.'
        : status === 429
          ? 'The provider is rate limiting: wait, lower the request rate, raise maxRetries, or check the quota.'
          : status !== undefined && status >= 500
            ? 'The provider failed: retry later or raise maxRetries.'
            : 'Check the API key, the base URL, the model id, rate limits and the network.';
  return `Calling ${model} failed: ${options.detail}. ${advice}`;
}

/** Options of {@link GenerationFailedError}. */
export interface GenerationFailedErrorOptions {
  /** The tool that was being generated. */
  readonly toolName: string;
  /** Every attempt, in order, with its reasons. */
  readonly attempts: readonly GenerationAttempt[];
  /** The last error, e.g. a {@link ModelCallError}. */
  readonly cause?: unknown;
}

/**
 * `ToolGenerator.generate` used all its attempts without producing code that passes the validator
 * and the spec's examples. `attempts` holds every attempt's code and reasons.
 */
export class GenerationFailedError extends SiaError {
  readonly [generationFailedMarker] = true;
  /** The tool that was being generated. */
  readonly toolName: string;
  /** Every attempt, in order, with its code and the reasons it failed. */
  readonly attempts: readonly GenerationAttempt[];
  /**
   * The distinct rejection codes of all attempts, in order of first appearance (see
   * {@link GenerationAttempt.codes}): e.g. `['EXAMPLE_MISMATCH', 'SYNTAX']` or `['MODEL_TIMEOUT']`.
   */
  readonly codes: readonly string[];

  constructor(options: GenerationFailedErrorOptions) {
    super({ code: 'GENERATION_FAILED', message: generationFailedMessage(options), cause: options.cause });
    this.name = 'GenerationFailedError';
    this.toolName = options.toolName;
    this.attempts = options.attempts;
    this.codes = [...new Set(options.attempts.flatMap((attempt) => attempt.codes ?? []))];
  }

  /** True when `error` is a {@link GenerationFailedError} (from any copy of the package). */
  static override isInstance(error: unknown): error is GenerationFailedError {
    return SiaError.hasMarker(error, generationFailedMarker);
  }
}

function generationFailedMessage({ toolName, attempts }: GenerationFailedErrorOptions): string {
  const lines = attempts.map(
    (attempt) => `attempt ${attempt.attempt}: ${attempt.reasons.join('; ') || 'no reason recorded'}`,
  );
  const modelFailed = attempts.some((attempt) => attempt.source === null);
  const advice = modelFailed
    ? 'Fix the model configuration named above (API key, base URL, model id, rate limits) and try again.'
    : 'Make the description and examples more precise (input shape, return shape, edge cases), use a stronger model, or raise maxAttempts.';
  return `Could not generate tool "${toolName}" in ${attempts.length} attempt${attempts.length === 1 ? '' : 's'}:\n${lines.map((line) => `- ${line}`).join('\n')}\n${advice}`;
}

const modelTimeoutMarker = Symbol.for('self-improving-agent.error.ModelTimeoutError');
const abortedMarker = Symbol.for('self-improving-agent.error.AbortedError');

/**
 * A model call did not answer within its deadline (`modelTimeoutMs`). The call was aborted; a
 * provider that ignores the abort is no longer waited for.
 */
export class ModelTimeoutError extends SiaError {
  readonly [modelTimeoutMarker] = true;
  /** The provider's model id, when known. */
  readonly modelId: string | undefined;
  /** The deadline that passed, ms. */
  readonly timeoutMs: number;

  constructor(options: { readonly timeoutMs: number; readonly modelId?: string }) {
    const model = options.modelId === undefined ? 'the language model' : `model "${options.modelId}"`;
    super({
      code: 'MODEL_TIMEOUT',
      message: `Calling ${model} did not finish within ${options.timeoutMs} ms and was aborted. Check the provider's status, or raise modelTimeoutMs.`,
    });
    this.name = 'ModelTimeoutError';
    this.modelId = options.modelId;
    this.timeoutMs = options.timeoutMs;
  }

  /** True when `error` is a {@link ModelTimeoutError} (from any copy of the package). */
  static override isInstance(error: unknown): error is ModelTimeoutError {
    return SiaError.hasMarker(error, modelTimeoutMarker);
  }
}

/**
 * Work was cancelled through an `AbortSignal` (the caller's `abortSignal`, or `agent.close()`).
 * `cause` is the signal's reason.
 */
export class AbortedError extends SiaError {
  readonly [abortedMarker] = true;
  /** What was cancelled, e.g. `the model call` or `the improvement of "fetch_rate"`. */
  readonly operation: string;

  constructor(operation: string, reason?: unknown) {
    const detail = reason instanceof Error ? `: ${reason.message}` : '';
    super({
      code: 'ABORTED',
      message: `${operation.charAt(0).toUpperCase()}${operation.slice(1)} was aborted${detail}. Nothing more will happen for it; start it again if it is still needed.`,
      cause: reason,
    });
    this.name = 'AbortedError';
    this.operation = operation;
  }

  /** True when `error` is an {@link AbortedError} (from any copy of the package). */
  static override isInstance(error: unknown): error is AbortedError {
    return SiaError.hasMarker(error, abortedMarker);
  }
}

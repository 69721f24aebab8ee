import type { LanguageModel, TelemetryOptions } from 'ai';
import { InvalidOptionError } from '../core/invalid-option-error.ts';
import { objectOption } from '../core/options.ts';
import { CodeValidator } from '../generation/code-validator.ts';
import { checkLanguageModel, resolveModelCallSettings } from '../generation/model-text.ts';
import {
  TELEMETRY_FUNCTION_IDS,
  telemetryOption,
  telemetrySettings,
} from '../generation/telemetry-settings.ts';
import type { GenerationValidator } from '../generation/tool-generator.ts';

/** Options of `LlmRewriter`. */
export interface LlmRewriterOptions {
  /**
   * Any AI SDK language model (`openai('gpt-4o-mini')`, a gateway model id string, a mock).
   * @default none: required
   */
  readonly model: LanguageModel;
  /**
   * Sampling temperature (0–2).
   * @default the provider's default
   */
  readonly temperature?: number;
  /**
   * Cap on the answer's tokens.
   * @default the provider's default
   */
  readonly maxOutputTokens?: number;
  /**
   * Retries the AI SDK makes on transient provider failures (429, 5xx, network), honouring
   * `retry-after`.
   * @default 2
   */
  readonly maxRetries?: number;
  /**
   * Deadline of the model call (the AI SDK's retries included), ms. Past it the call is aborted
   * and `rewrite` rejects with `ModelTimeoutError` (code `MODEL_TIMEOUT`), even when the
   * provider ignores the abort.
   * @default 120_000
   */
  readonly modelTimeoutMs?: number;
  /**
   * Tells a refusal (an answer with no code) from code. It does not filter proposals: invalid
   * code is still proposed, and the caller's validation rejects it with precise reasons that
   * reach the next attempt.
   * @default new CodeValidator()
   */
  readonly validator?: GenerationValidator;
  /**
   * The AI SDK's telemetry settings of every rewrite's model call (`integrations`,
   * `recordInputs`, …); `functionId` is `sia.rewrite-tool` unless given here.
   * @default none (the AI SDK's registered integrations, if any, with functionId `sia.rewrite-tool`)
   */
  readonly telemetry?: TelemetryOptions;
}

/** The options of an `LlmRewriter` with every default applied. */
export interface ResolvedLlmRewriterOptions {
  /** The language model. */
  readonly model: LanguageModel;
  /** Sampling temperature; `undefined` leaves the provider's default. */
  readonly temperature: number | undefined;
  /** Cap on the answer's tokens; `undefined` leaves the provider's default. */
  readonly maxOutputTokens: number | undefined;
  /** Retries the AI SDK makes on transient provider failures. */
  readonly maxRetries: number;
  /** Deadline of the model call, ms. */
  readonly modelTimeoutMs: number;
  /** Tells a refusal from code. */
  readonly validator: GenerationValidator;
  /** The telemetry settings of each rewrite's model call (`functionId` set). */
  readonly telemetry: TelemetryOptions;
}

/**
 * Validates `options` and applies the defaults once, returning a frozen copy (the caller's
 * object is not touched). Throws `InvalidOptionError` naming the field and the received value.
 */
export function resolveLlmRewriterOptions(options: LlmRewriterOptions): ResolvedLlmRewriterOptions {
  objectOption('options', options);
  checkLanguageModel(options.model);
  if (options.validator !== undefined && typeof options.validator?.validate !== 'function') {
    throw new InvalidOptionError({
      field: 'validator',
      expected: 'an object with a validate(source, options) method (e.g. a CodeValidator)',
      value: options.validator,
    });
  }
  return Object.freeze({
    model: options.model,
    ...resolveModelCallSettings(options),
    validator: options.validator ?? new CodeValidator(),
    telemetry: telemetrySettings(
      TELEMETRY_FUNCTION_IDS.rewriteTool,
      telemetryOption('telemetry', options.telemetry),
    ),
  });
}

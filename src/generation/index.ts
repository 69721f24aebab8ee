/**
 * Tool generation: turning an LLM's answer into a valid tool (or a precise rejection), and
 * writing new tools from a spec with any AI SDK model.
 */
export {
  CodeValidator,
  type CodeValidatorOptions,
  type FormatIssueOptions,
  formatIssue,
  VALIDATION_ISSUE_CODES,
  type ValidateOptions,
  type ValidationIssue,
  type ValidationIssueCode,
  type ValidationResult,
} from './code-validator.ts';
export { extractCode } from './extract-code.ts';
export type { GenerationAttempt } from './generation-attempt.ts';
export {
  AbortedError,
  GenerationFailedError,
  type GenerationFailedErrorOptions,
  ModelCallError,
  type ModelCallErrorOptions,
  ModelTimeoutError,
} from './generation-errors.ts';
export {
  buildGenerationPrompt,
  buildGenerationSystemPrompt,
  fence,
  type PreviousAttempt,
} from './generation-prompt.ts';
export { DEFAULT_MODEL_TIMEOUT_MS } from './model-deadline.ts';
export {
  type CodeTextRequest,
  type CodeTextResult,
  generateCodeText,
  toModelCallError,
} from './model-text.ts';
export { TELEMETRY_FUNCTION_IDS, telemetrySettings } from './telemetry-settings.ts';
export { addUsage, emptyUsage, type TokenUsage, usageFromModel } from './token-usage.ts';
export {
  type GenerateOptions,
  type GenerationResult,
  type GenerationSandbox,
  type GenerationValidator,
  ToolGenerator,
  type ToolGeneratorOptions,
} from './tool-generator.ts';
export { type SpecCapabilities, type SpecExample, type ToolSpec, validateToolSpec } from './tool-spec.ts';

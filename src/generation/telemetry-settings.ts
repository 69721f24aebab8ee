import type { TelemetryOptions } from 'ai';
import { InvalidOptionError } from '../core/invalid-option-error.ts';

/** The `functionId`s the library gives its model calls when the app names none. */
export const TELEMETRY_FUNCTION_IDS = Object.freeze({
  /** The tool loop of `agent.run()` and `agent.stream()`. */
  run: 'sia.run',
  /** One attempt of `ToolGenerator.generate` (a tool `request_new_tool` asked for). */
  generateTool: 'sia.generate-tool',
  /** One `LlmRewriter.rewrite` (an improvement proposal). */
  rewriteTool: 'sia.rewrite-tool',
});

/**
 * Validates a `telemetry` option: undefined or an object (the AI SDK's `TelemetryOptions`,
 * passed on as given). Throws {@link InvalidOptionError} naming `field`.
 */
export function telemetryOption(field: string, value: unknown): TelemetryOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError({
      field,
      expected: "the AI SDK's TelemetryOptions, an object like { functionId, integrations, recordInputs }",
      value,
    });
  }
  return value as TelemetryOptions;
}

/**
 * The AI SDK `telemetry` setting of one model call: the app's layers merged in order (a later
 * layer's fields override an earlier one's, nothing else is dropped), with `functionId` set to
 * `functionId` when no layer names one, so traces say what each call is.
 * @example
 * telemetrySettings('sia.run', agentTelemetry, runTelemetry); // { ...agent, ...run, functionId }
 */
export function telemetrySettings(
  functionId: string,
  ...layers: readonly (TelemetryOptions | undefined)[]
): TelemetryOptions {
  const merged: TelemetryOptions = {};
  for (const layer of layers) if (layer !== undefined) Object.assign(merged, layer);
  merged.functionId ??= functionId;
  return merged;
}

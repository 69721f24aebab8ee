import type { ToolVersion } from '../storage/records.ts';

/** The default of the agent's `creation.maxTools`, shown when the caller names no limit. */
export const DEFAULT_MAX_TOOLS = 50;

/**
 * Whether a tool counts against `creation.maxTools`: its version 1 was written by the generator
 * (the count the agent keeps in storage, so `sia` and the report see the same number).
 */
export function createdByModel(versions: readonly ToolVersion[]): boolean {
  return versions[0]?.author === 'generator';
}

/**
 * The line that shows the model-created tools against `creation.maxTools`: the limit the caller
 * named, or the default (the CLI sees only storage, not the app's options).
 */
export function maxToolsLine(created: number, maxTools: number | undefined): string {
  return maxTools === undefined
    ? `created by the model: ${created} (limit: creation.maxTools, ${DEFAULT_MAX_TOOLS} by default; pass --max-tools to compare)`
    : `created by the model: ${created} of ${maxTools} (creation.maxTools)`;
}

import type { JsonValue } from '../storage/records.ts';
import { CliUsageError } from './cli-errors.ts';

/** A positive integer option or argument (`--to 2`, `<a>`), or undefined when not given. */
export function positiveInteger(value: unknown, name: string, command?: string): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (!/^[1-9][0-9]{0,14}$/.test(text)) {
    throw new CliUsageError(`${name} must be a positive integer, got "${text}"`, command);
  }
  return Number(text);
}

/** A whole number ≥ 0 option (`--max-tools 0`), or undefined when not given. */
export function countOption(value: unknown, name: string, command?: string): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  if (!/^(0|[1-9][0-9]{0,14})$/.test(text)) {
    throw new CliUsageError(`${name} must be a whole number ≥ 0, got "${text}"`, command);
  }
  return Number(text);
}

/** A version argument: `2` or `v2`. */
export function versionNumber(value: string, name: string, command?: string): number {
  return positiveInteger(value.replace(/^v/i, ''), name, command) as number;
}

/** A JSON option value, or a usage error naming the flag and what the parser said. */
export function jsonArgument(value: string, name: string, command?: string): JsonValue {
  try {
    return JSON.parse(value) as JsonValue;
  } catch (error) {
    throw new CliUsageError(
      `${name} is not valid JSON (${error instanceof Error ? error.message : String(error)}); quote it for the shell, e.g. ${name} '{"a":1}'`,
      command,
    );
  }
}

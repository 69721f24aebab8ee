import { type $ZodType, toJSONSchema } from 'zod/v4/core';
import { schemaProblem } from '../core/json-schema.ts';
import type { InvalidValueFactory } from '../core/options.ts';
import { outputSchemaProblem } from '../core/output-schema.ts';
import { plainJsonProblem } from '../core/plain-json.ts';
import { checkProviderSchema } from '../core/provider-schema.ts';
import { parseAllowEntry } from '../sandbox/network-policy.ts';
import { SECRET_NAME_PATTERN } from '../sandbox/sandbox-secrets.ts';
import type { JsonObject, JsonValue, ToolCapabilities, VersionAuthor } from '../storage/records.ts';
import { InvalidToolError } from './registry-errors.ts';

/** Tool names: snake_case, starting with a letter, 1–64 characters. */
export const TOOL_NAME_PATTERN: RegExp = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * A zod 4 schema, recognised structurally (zod 4 schemas carry a `_zod` property), so that a
 * schema from any copy of zod 4 is accepted and converted with zod's own `toJSONSchema`.
 */
export interface ZodSchemaLike {
  readonly _zod: unknown;
}

/**
 * An input example for a new tool. `exampleCases` (or `RegressionRunner.prepareCases`) turns it
 * into a regression case (origin `example`); the agent's `addTool` and `request_new_tool` do.
 */
export interface ToolExample {
  /** The input passed to the tool. */
  input: JsonValue;
  /** The output the tool must return for it (compared with deep equality). */
  output: JsonValue;
}

/** What {@link ToolRegistry.create} needs to register a tool. */
export interface ToolDefinition {
  /** snake_case, 1–64 characters, unique. */
  name: string;
  /** What the tool does, for the model and for people. */
  description: string;
  /** JSON Schema (an object schema) of the tool's single input, or a zod 4 object schema. */
  inputSchema: JsonObject | ZodSchemaLike;
  /**
   * JSON Schema (draft 2020-12, the same provider subset as `inputSchema`; any root type) of the
   * tool's result. A call whose result does not match it fails with error code
   * `INVALID_OUTPUT` (recorded as a failure, like a throw), and every later version of the tool
   * keeps it. @default none (any JSON result is accepted)
   */
  outputSchema?: JsonObject;
  /** JavaScript source defining `function <name>(input)` (async allowed). */
  source: string;
  /**
   * What the tool may do: `network` hosts its `fetch` may reach, and the names of the app's
   * `secrets` it may read with `secrets.get(name)`. @default { network: [] }
   */
  capabilities?: { network?: string[]; secrets?: string[] };
  /** Who wrote the source. @default 'human' */
  author?: VersionAuthor;
  /**
   * The tool changes things outside itself (sends mail, writes records): it is never run in
   * shadow beside another version. Kept in the creation's audit entry.
   * @default false
   */
  sideEffects?: boolean;
  /**
   * Input/output examples, counted in the creation's audit entry. Store them as regression cases
   * by passing `exampleCases(examples)` as `testCases` (the agent does).
   */
  examples?: ToolExample[];
}

const fail: InvalidValueFactory = (field, expected, value) =>
  new InvalidToolError({ field, expected, value });

/** Returns `name` if it is a valid tool name, else throws {@link InvalidToolError}. */
export function checkToolName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !TOOL_NAME_PATTERN.test(name)) {
    throw fail(field, 'snake_case (a-z, 0-9, _), starting with a letter, 1 to 64 characters', name);
  }
  return name;
}

/** Returns `value` if it is a non-empty string, else throws {@link InvalidToolError}. */
export function checkText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw fail(field, 'a non-empty string', value);
  return value;
}

/** True for zod 4 schemas (from any copy of zod 4). */
export function isZodSchema(value: unknown): value is ZodSchemaLike {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

/**
 * Normalises an input schema to a JSON Schema object: zod 4 schemas are converted with zod's
 * own `toJSONSchema`; JSON Schemas must be plain JSON objects whose `type`, when present, is
 * `"object"` (a tool takes one object argument). Throws {@link InvalidToolError}, or
 * `UnsupportedSchemaError` for a keyword model providers reject (see `checkProviderSchema`).
 */
export function toInputSchema(value: unknown, field = 'inputSchema'): JsonObject {
  let schema: unknown = value;
  if (isZodSchema(value)) {
    try {
      schema = toJSONSchema(value as unknown as $ZodType);
    } catch (error) {
      throw fail(
        field,
        `a zod schema that zod can convert to JSON Schema (${error instanceof Error ? error.message : String(error)})`,
        '(zod schema)',
      );
    }
  }
  const json = checkJson(schema, field);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw fail(field, 'a JSON Schema object (or a zod 4 schema)', value);
  }
  if (json.type !== undefined && json.type !== 'object') {
    throw fail(`${field}.type`, '"object" (a tool takes a single object argument)', json.type);
  }
  const problem = schemaProblem(json);
  if (problem !== null) throw fail(field, `a valid JSON Schema (draft 2020-12): ${problem}`, value);
  // Keywords a provider rejects outright are refused now (UnsupportedSchemaError), not on every
  // later run; the others are adapted in the view the model gets (ToolCatalog).
  checkProviderSchema(json, field);
  return json;
}

/**
 * Checks an output schema (see `outputSchemaProblem`: a plain JSON object within
 * `OUTPUT_SCHEMA_LIMITS`, a valid draft 2020-12 schema, no keyword model providers reject) and
 * returns a detached copy, or `undefined` when there is none. Throws {@link InvalidToolError}
 * naming `outputSchema` and, for a problem inside it, the JSON Pointer (`outputSchema/properties/a`).
 */
export function toOutputSchema(value: unknown, field = 'outputSchema'): JsonObject | undefined {
  if (value === undefined) return undefined;
  const problem = outputSchemaProblem(value, field);
  if (problem !== null) throw fail(problem.field, problem.expected, value);
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

/** Validates `network` entries (`host[:port]`) the way the sandbox will read them, and `secrets` names. */
export function toCapabilities(value: unknown, field = 'capabilities'): ToolCapabilities {
  if (value === undefined) return { network: [] };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail(field, 'an object like { network: ["api.example.com"] }', value);
  }
  const network = (value as { network?: unknown }).network ?? [];
  if (!Array.isArray(network)) throw fail(`${field}.network`, 'an array of "host[:port]" strings', network);
  network.forEach((entry, index) => {
    try {
      parseAllowEntry(entry, `${field}.network[${index}]`);
    } catch {
      throw fail(
        `${field}.network[${index}]`,
        'a "host", "host:port" or "*.domain" entry, optionally followed by " allow-private"',
        entry,
      );
    }
  });
  const secrets = (value as { secrets?: unknown }).secrets ?? [];
  if (!Array.isArray(secrets)) throw fail(`${field}.secrets`, 'an array of secret names', secrets);
  secrets.forEach((name, index) => {
    if (typeof name !== 'string' || !SECRET_NAME_PATTERN.test(name)) {
      throw fail(`${field}.secrets[${index}]`, 'a secret name like API_TOKEN (letters, digits, _)', name);
    }
  });
  const unique = [...new Set(secrets as string[])];
  return unique.length === 0
    ? { network: [...(network as string[])] }
    : { network: [...(network as string[])], secrets: unique };
}

/**
 * Returns a detached copy of `value` if it is plain JSON (see `plainJsonProblem`: no functions,
 * BigInt, `NaN`, cycles, class instances, getters, proxies, holes; at most 100 levels deep),
 * else throws {@link InvalidToolError} naming the path. Object properties set to `undefined`
 * are left out, as `JSON.stringify` does. The check is iterative: deep input is refused, never
 * a `RangeError`.
 */
export function checkJson(value: unknown, field: string): JsonValue {
  const problem = plainJsonProblem(value, field, { undefinedProperties: 'omit' });
  if (problem !== null) throw fail(problem.path, `a JSON value (${problem.message})`, value);
  return JSON.parse(JSON.stringify(value)) as JsonValue;
}

/** Validates the examples of a tool definition. */
export function toExamples(value: unknown, field = 'examples'): ToolExample[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw fail(field, 'an array of { input, output }', value);
  return value.map((example: unknown, index) => {
    const path = `${field}[${index}]`;
    if (typeof example !== 'object' || example === null || !('input' in example) || !('output' in example)) {
      throw fail(path, 'an object { input, output }', example);
    }
    const { input, output } = example as { input: unknown; output: unknown };
    return { input: checkJson(input, `${path}.input`), output: checkJson(output, `${path}.output`) };
  });
}

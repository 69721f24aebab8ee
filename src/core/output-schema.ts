// A tool version's output schema: what its result must look like. It comes from the app
// (`addTool`) or from a model (`request_new_tool`), so it is checked like an input schema
// (plain JSON, a valid draft 2020-12 schema, the provider subset) and bounded in size, but its
// root may be any type: a tool may return a number.
import { type CompiledSchema, describeViolations, schemaProblem } from './json-schema.ts';
import { plainJsonProblem } from './plain-json.ts';
import { toProviderSchema } from './provider-schema.ts';

/** Bounds of an output schema (frozen). Stores refuse a longer one too. */
export const OUTPUT_SCHEMA_LIMITS: Readonly<{ maxLength: number; maxDepth: number }> = Object.freeze({
  /** Most characters of JSON text. */
  maxLength: 64 * 1024,
  /** Deepest nesting of the JSON text (objects and arrays). */
  maxDepth: 100,
});

/** Why a value is not a usable output schema, and where. */
export interface OutputSchemaProblem {
  /** The field with a JSON Pointer into the schema when the problem is inside it: `outputSchema/properties/a`. */
  readonly field: string;
  /** What is expected instead, for `InvalidToolError`/`InvalidOptionError`'s `expected`. */
  readonly expected: string;
}

/**
 * Why `value` cannot be a tool's output schema, or null: not a JSON object, not plain JSON
 * (checked without recursion), longer than {@link OUTPUT_SCHEMA_LIMITS} `maxLength` characters,
 * not a valid JSON Schema (draft 2020-12), or using a keyword model providers reject (see
 * `toProviderSchema`: the same subset as input schemas). `field` names the schema (`outputSchema`,
 * `spec.outputSchema`). Never throws.
 */
export function outputSchemaProblem(value: unknown, field = 'outputSchema'): OutputSchemaProblem | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { field, expected: 'a JSON Schema object, e.g. { "type": "object", "properties": { … } }' };
  }
  const notJson = plainJsonProblem(value, field, {
    maxLength: OUTPUT_SCHEMA_LIMITS.maxLength,
    maxDepth: OUTPUT_SCHEMA_LIMITS.maxDepth,
    undefinedProperties: 'omit',
  });
  if (notJson !== null) {
    return {
      field: notJson.path,
      expected: `plain JSON of at most ${OUTPUT_SCHEMA_LIMITS.maxLength} characters and ${OUTPUT_SCHEMA_LIMITS.maxDepth} levels (${notJson.message})`,
    };
  }
  const schema = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  const invalid = schemaProblem(schema);
  if (invalid !== null) return { field, expected: `a valid JSON Schema (draft 2020-12): ${invalid}` };
  // The root type adaptation does not apply (a result may be a number); refused keywords do.
  const [refused] = toProviderSchema(schema).problems;
  if (refused !== undefined) {
    return {
      field: `${field}${refused.path}`,
      expected: `a schema without "${refused.keyword}" here, which model providers reject: ${refused.reason}`,
    };
  }
  return null;
}

/**
 * The error code of a call whose result does not match its version's output schema: recorded
 * as a failed invocation, in `tool:invoked`, as `ToolInvocationError.errorCode`, and as a
 * failed run in the regression gate and the shadow phase.
 */
export const INVALID_OUTPUT = 'INVALID_OUTPUT';

/** At most this many violations are named in an `INVALID_OUTPUT` message. */
export const MAX_OUTPUT_VIOLATIONS = 3;
const MAX_VIOLATION_MESSAGE = 160;

/**
 * The `INVALID_OUTPUT` message for a result that does not match its version's output schema,
 * or null when it matches. Names the first {@link MAX_OUTPUT_VIOLATIONS} paths and what is
 * wrong there, each clipped: the value is tool output (hostile), so it is never quoted beyond
 * what the validator says about a part of it.
 */
export function outputViolation(schema: CompiledSchema, value: unknown): string | null {
  let violations: ReturnType<CompiledSchema['validate']>;
  try {
    violations = schema.validate(value);
  } catch (error) {
    // A schema that cannot be evaluated (a stored one written by hand) fails the call, clearly.
    return `the output schema could not be evaluated (${clip(String((error as Error)?.message ?? error))})`;
  }
  if (violations.length === 0) return null;
  const clipped = violations.map((violation) => ({
    path: clip(violation.path),
    message: clip(violation.message),
  }));
  return `the output does not match the tool's output schema: ${describeViolations(clipped, 'output', MAX_OUTPUT_VIOLATIONS)}`;
}

function clip(text: string): string {
  return text.length <= MAX_VIOLATION_MESSAGE ? text : `${text.slice(0, MAX_VIOLATION_MESSAGE - 1)}…`;
}

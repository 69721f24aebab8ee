import { jsonEqual } from '../core/json-equal.ts';
import { compileSchema, describeViolations, type SchemaCache, schemaProblem } from '../core/json-schema.ts';
import { isPlainObject } from '../core/json-value.ts';
import { plainJsonProblem } from '../core/plain-json.ts';
import type { JsonObject, JsonValue } from '../storage/records.ts';
import { InvalidExpectationError } from './regression-errors.ts';

/** The JSON types an {@link Expectation} can ask for. `integer` is a number with no fraction. */
export type JsonType = 'number' | 'integer' | 'string' | 'boolean' | 'object' | 'array' | 'null';

/** A number within a tolerance: passes when `|output − value| ≤ absTol` or `≤ relTol · max(|output|, |value|)`. */
export interface ApproxExpectation {
  /** The expected number. */
  value: number;
  /** Relative tolerance, e.g. `1e-6`. */
  relTol?: number;
  /** Absolute tolerance, e.g. `0.01`. */
  absTol?: number;
}

/**
 * What a regression case expects of a tool's output. One or more keys; every key given must
 * hold (AND). Build it with {@link parseExpectation}, which rejects anything else.
 *
 * @example
 * ```ts
 * { type: 'number' }
 * { schema: { type: 'object', required: ['rate'], properties: { rate: { type: 'number' } } } }
 * { equals: { sum: 3 } }
 * { approx: { value: 0.92, relTol: 0.05 } }
 * { matchesBaseline: true } // same output as the current version for the same input, same run
 * ```
 */
export interface Expectation {
  /** The output's JSON type. `1` is a number and an integer, `1.5` is not an integer, `true` is not a number, `[]` is an array (not an object), `null` is null (not an object). */
  type?: JsonType;
  /** A JSON Schema (draft 2020-12) the output must match. */
  schema?: JsonObject;
  /** The output must deep-equal this (object key order does not matter, array order does). */
  equals?: JsonValue;
  /** The output must be a finite number within a tolerance of `value`. */
  approx?: ApproxExpectation;
  /**
   * The output must deep-equal what the baseline (the current version) returned for the same
   * input in the same run. Fails when there is no baseline output.
   */
  matchesBaseline?: true;
}

/** What {@link checkExpectation} needs besides the output. */
export interface ExpectationContext {
  /** Whether a baseline version ran for this case (false for a brand-new tool). */
  hasBaseline: boolean;
  /** What the baseline returned; `undefined` when it failed or did not run. JSON `null` is an output. */
  baselineOutput?: unknown;
  /** Reuse compiled schemas across checks; without it each check compiles its schema again. */
  schemas?: SchemaCache;
}

/** The verdict of {@link checkExpectation}. */
export interface ExpectationResult {
  /** True when every key of the expectation holds. */
  passed: boolean;
  /** Why it failed (every failing key, `; `-separated, expected vs actual), or null when it passed. */
  reason: string | null;
}

const JSON_TYPES: readonly JsonType[] = ['number', 'integer', 'string', 'boolean', 'object', 'array', 'null'];
const KEYS = ['type', 'schema', 'equals', 'approx', 'matchesBaseline'] as const;
const APPROX_KEYS = ['value', 'relTol', 'absTol'] as const;
/** Longest rendering of a value inside a reason. */
const PREVIEW_CHARS = 200;

/**
 * Validates an expectation (as written by a user, stored, or harvested) and returns a clean
 * copy, detached from `value`. Throws {@link InvalidExpectationError} naming the field path.
 *
 * @example
 * ```ts
 * const expect = parseExpectation({ approx: { value: 0.92, relTol: 0.05 } });
 * checkExpectation(expect, 0.93, { hasBaseline: false }); // { passed: true, reason: null }
 * parseExpectation({}); // throws: expected at least one of type, schema, equals, approx, matchesBaseline
 * ```
 */
export function parseExpectation(value: unknown, field = 'expect'): Expectation {
  if (!isPlainObject(value)) {
    throw new InvalidExpectationError({
      field,
      expected: `an object with one or more of ${KEYS.join(', ')}`,
      value,
    });
  }
  for (const key of Object.keys(value)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new InvalidExpectationError({
        field: `${field}.${key}`,
        expected: `no such key (allowed: ${KEYS.join(', ')})`,
        value: key,
      });
    }
  }
  if (!KEYS.some((key) => value[key] !== undefined)) {
    throw new InvalidExpectationError({ field, expected: `at least one of ${KEYS.join(', ')}`, value });
  }
  const expectation: Expectation = {};
  if (value.type !== undefined) {
    if (!(JSON_TYPES as readonly unknown[]).includes(value.type)) {
      throw new InvalidExpectationError({
        field: `${field}.type`,
        expected: `one of ${JSON_TYPES.join(', ')}`,
        value: value.type,
      });
    }
    expectation.type = value.type as JsonType;
  }
  if (value.schema !== undefined) {
    const path = `${field}.schema`;
    if (!isPlainObject(value.schema))
      throw new InvalidExpectationError({
        field: path,
        expected: 'a JSON Schema object',
        value: value.schema,
      });
    expectation.schema = jsonCopy(value.schema, path) as JsonObject;
    const problem = schemaProblem(expectation.schema);
    if (problem !== null) {
      throw new InvalidExpectationError({
        field: path,
        expected: `a valid JSON Schema (draft 2020-12); ${problem}`,
        value: value.schema,
      });
    }
  }
  if (value.equals !== undefined) expectation.equals = jsonCopy(value.equals, `${field}.equals`);
  if (value.approx !== undefined) expectation.approx = parseApprox(value.approx, `${field}.approx`);
  if (value.matchesBaseline !== undefined) {
    if (value.matchesBaseline !== true) {
      throw new InvalidExpectationError({
        field: `${field}.matchesBaseline`,
        expected: 'true (omit the key otherwise)',
        value: value.matchesBaseline,
      });
    }
    expectation.matchesBaseline = true;
  }
  return expectation;
}

/**
 * Checks one output against an expectation. Every key is checked (in the order type, schema,
 * equals, approx, matchesBaseline) and every failure is reported, each quoting expected vs
 * actual (long values cut at about 200 characters).
 *
 * `matchesBaseline` fails closed: with no baseline output (a new tool, or a baseline that
 * failed on this input) there is nothing to compare with, so it does not pass. The promotion
 * gate always has a baseline when it judges a rewrite, so only a first version's harvested
 * cases are affected, and those have nothing to be compared with anyway.
 *
 * @example
 * ```ts
 * checkExpectation({ type: 'integer' }, 1.5, { hasBaseline: false });
 * // { passed: false, reason: 'expected type integer, got number 1.5' }
 * ```
 */
export function checkExpectation(
  expectation: Expectation,
  output: unknown,
  context: ExpectationContext,
): ExpectationResult {
  const failures: string[] = [];
  if (expectation.type !== undefined && !hasType(output, expectation.type)) {
    failures.push(`expected type ${expectation.type}, got ${describeType(output)} ${preview(output)}`);
  }
  if (expectation.schema !== undefined) {
    const failure = checkSchema(expectation.schema, output, context.schemas);
    if (failure !== null) failures.push(failure);
  }
  if (expectation.equals !== undefined && !jsonEqual(output, expectation.equals)) {
    failures.push(
      `expected ${preview(expectation.equals)}, got ${preview(output)}${difference(expectation.equals, output)}`,
    );
  }
  if (expectation.approx !== undefined) {
    const failure = checkApprox(expectation.approx, output);
    if (failure !== null) failures.push(failure);
  }
  if (expectation.matchesBaseline) {
    if (!context.hasBaseline) {
      failures.push(
        'matchesBaseline: there is no baseline version to compare with (a new tool), so the case cannot pass',
      );
    } else if (context.baselineOutput === undefined) {
      failures.push(
        'matchesBaseline: the baseline returned no output for this input (it failed), so there is nothing to compare with',
      );
    } else if (!jsonEqual(output, context.baselineOutput)) {
      failures.push(
        `differs from the baseline: baseline ${preview(context.baselineOutput)}, got ${preview(output)}${difference(context.baselineOutput, output)}`,
      );
    }
  }
  return failures.length === 0
    ? { passed: true, reason: null }
    : { passed: false, reason: failures.join('; ') };
}

function hasType(value: unknown, type: JsonType): boolean {
  switch (type) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'null':
      return value === null;
    case 'object':
      return isPlainObject(value);
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function checkSchema(schema: JsonObject, output: unknown, schemas: SchemaCache | undefined): string | null {
  try {
    const violations = (schemas ? schemas.compile(schema) : compileSchema(schema)).validate(output);
    if (violations.length === 0) return null;
    return `does not match the schema: ${describeViolations(violations, 'output', 3)}; got ${preview(output)}`;
  } catch (error) {
    // A $ref below the root that points nowhere is only found when validation reaches it.
    return `the schema could not be evaluated: ${String((error as Error)?.message ?? error).split('\n')[0]}`;
  }
}

function checkApprox(approx: ApproxExpectation, output: unknown): string | null {
  const tolerance = [
    approx.absTol === undefined ? null : `absTol ${approx.absTol}`,
    approx.relTol === undefined ? null : `relTol ${approx.relTol}`,
  ]
    .filter((part) => part !== null)
    .join(' or ');
  if (typeof output !== 'number' || !Number.isFinite(output)) {
    return `expected a number ≈ ${approx.value} (${tolerance}), got ${describeType(output)} ${preview(output)}`;
  }
  if (jsonEqual(output, approx.value, { ...pick(approx, 'absTol'), ...pick(approx, 'relTol') })) return null;
  return `expected ≈ ${approx.value} (${tolerance}), got ${output} (off by ${Number(Math.abs(output - approx.value).toPrecision(3))})`;
}

function pick(approx: ApproxExpectation, key: 'absTol' | 'relTol'): { absTol?: number; relTol?: number } {
  return approx[key] === undefined ? {} : { [key]: approx[key] };
}

function parseApprox(value: unknown, field: string): ApproxExpectation {
  if (!isPlainObject(value)) {
    throw new InvalidExpectationError({
      field,
      expected: 'an object { value, relTol?, absTol? } with at least one tolerance',
      value,
    });
  }
  for (const key of Object.keys(value)) {
    if (!(APPROX_KEYS as readonly string[]).includes(key)) {
      throw new InvalidExpectationError({
        field: `${field}.${key}`,
        expected: `no such key (allowed: ${APPROX_KEYS.join(', ')})`,
        value: key,
      });
    }
  }
  if (typeof value.value !== 'number' || !Number.isFinite(value.value)) {
    throw new InvalidExpectationError({
      field: `${field}.value`,
      expected: 'a finite number',
      value: value.value,
    });
  }
  if (value.relTol === undefined && value.absTol === undefined) {
    throw new InvalidExpectationError({ field, expected: 'relTol or absTol (or both)', value });
  }
  const approx: ApproxExpectation = { value: value.value };
  for (const key of ['relTol', 'absTol'] as const) {
    const tolerance = value[key];
    if (tolerance === undefined) continue;
    if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
      throw new InvalidExpectationError({
        field: `${field}.${key}`,
        expected: 'a finite number ≥ 0',
        value: tolerance,
      });
    }
    approx[key] = tolerance;
  }
  return approx;
}

/**
 * A detached copy of a JSON value; throws naming the path of anything JSON cannot hold. The
 * iterative check comes first, so cycles and deep nesting are refused before the copy recurses.
 */
function jsonCopy(value: unknown, field: string): JsonValue {
  const problem = plainJsonProblem(value, field);
  if (problem !== null)
    throw new InvalidExpectationError({
      field: problem.path,
      expected: `a JSON value (${problem.message})`,
      value,
    });
  return copyJson(value, field);
}

function copyJson(value: unknown, field: string): JsonValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new InvalidExpectationError({ field, expected: 'a JSON value (finite numbers only)', value });
    return value;
  }
  if (Array.isArray(value)) return value.map((item, index) => copyJson(item, `${field}[${index}]`));
  if (isPlainObject(value)) {
    const copy: JsonObject = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === '__proto__')
        throw new InvalidExpectationError({ field, expected: 'no "__proto__" key', value });
      copy[key] = copyJson(item, `${field}.${key}`);
    }
    return copy;
  }
  throw new InvalidExpectationError({
    field,
    expected: 'a JSON value (null, boolean, number, string, array or plain object)',
    value,
  });
}

/** JSON of a value for a reason, cut at {@link PREVIEW_CHARS}. */
function preview(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? 'undefined' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1)}…` : text;
}

/** " (first difference at /a/0: expected 1, got 2)" when the values differ below the root. */
function difference(expected: unknown, actual: unknown): string {
  const found = firstDifference(expected, actual, '');
  if (found === null || found.path === '') return '';
  return ` (first difference at ${found.path}: expected ${found.expected}, got ${found.actual})`;
}

function firstDifference(
  expected: unknown,
  actual: unknown,
  path: string,
): { path: string; expected: string; actual: string } | null {
  if (jsonEqual(expected, actual)) return null;
  const here = { path, expected: preview(expected), actual: preview(actual) };
  if (Array.isArray(expected) && Array.isArray(actual)) {
    for (let index = 0; index < Math.min(expected.length, actual.length); index += 1) {
      const found = firstDifference(expected[index], actual[index], `${path}/${index}`);
      if (found) return found;
    }
    return { path, expected: `${expected.length} items`, actual: `${actual.length} items` };
  }
  if (isPlainObject(expected) && isPlainObject(actual)) {
    for (const key of Object.keys(expected)) {
      const childPath = `${path}/${escapePointer(key)}`;
      if (!Object.hasOwn(actual, key))
        return { path: childPath, expected: preview(expected[key]), actual: 'no such key' };
      const found = firstDifference(expected[key], actual[key], childPath);
      if (found) return found;
    }
    const extra = Object.keys(actual).find((key) => !Object.hasOwn(expected, key));
    if (extra !== undefined) {
      return {
        path: `${path}/${escapePointer(extra)}`,
        expected: 'no such key',
        actual: preview(actual[extra]),
      };
    }
  }
  return here;
}

function escapePointer(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

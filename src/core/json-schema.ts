// @cfworker/json-schema interprets a schema as data: it generates no code. ajv compiles every
// schema to JavaScript with `new Function`, which is exactly what this library refuses to do
// with text it did not write (schemas come from cases, tool definitions and LLM rewrites).
import { type OutputUnit, Validator } from '@cfworker/json-schema';
import { integerOption, objectOption } from '../core/options.ts';
import { canonicalJson } from './hash-value.ts';

/** One reason a value does not match a schema. */
export interface SchemaViolation {
  /** JSON Pointer of the offending part of the value; `''` is the value itself. */
  path: string;
  /** What is wrong, from the validator, e.g. `Instance type "string" is invalid. Expected "number".` */
  message: string;
}

/** A JSON Schema prepared once for repeated validation (draft 2020-12). */
export interface CompiledSchema {
  /** The violations of `value`, most specific first within each branch; empty when it matches. */
  validate(value: unknown): SchemaViolation[];
}

/** Options of {@link SchemaCache}. */
export interface SchemaCacheOptions {
  /** Distinct schemas kept; the least recently used goes first. @default 256 */
  maxEntries?: number;
}

/**
 * Compiled schemas keyed by their canonical JSON (key order does not matter), so the same
 * schema loaded again from storage is not compiled again. Owned by whoever checks many values
 * (a regression runner), never module-global.
 *
 * @example
 * ```ts
 * const schemas = new SchemaCache();
 * schemas.compile({ type: 'number', minimum: 0 }).validate(-1); // [{ path: '', message: … }]
 * ```
 */
export class SchemaCache {
  /** The options in force (frozen). */
  readonly options: Readonly<Required<SchemaCacheOptions>>;
  readonly #byObject = new WeakMap<object, CompiledSchema>();
  readonly #byJson = new Map<string, CompiledSchema>();

  constructor(options: SchemaCacheOptions = {}) {
    objectOption('options', options);
    this.options = Object.freeze({
      maxEntries: integerOption('maxEntries', options.maxEntries ?? 256, 1, 1_000_000),
    });
  }

  /** The compiled form of `schema` (see {@link compileSchema}), from the cache when possible. */
  compile(schema: object): CompiledSchema {
    const known = this.#byObject.get(schema);
    if (known) return known;
    const key = canonicalJson(schema);
    let compiled = this.#byJson.get(key);
    if (compiled) {
      // Re-insert: a Map iterates in insertion order, so the first key is the least recently used.
      this.#byJson.delete(key);
    } else {
      compiled = compileSchema(JSON.parse(key) as object);
      if (this.#byJson.size >= this.options.maxEntries) {
        const oldest = this.#byJson.keys().next();
        if (!oldest.done) this.#byJson.delete(oldest.value);
      }
    }
    this.#byJson.set(key, compiled);
    this.#byObject.set(schema, compiled);
    return compiled;
  }

  /** How many distinct schemas are cached. */
  get size(): number {
    return this.#byJson.size;
  }
}

/**
 * Prepares `schema` (JSON Schema draft 2020-12) for validation. The validator annotates the
 * schema objects it is given, so it works on a private copy: the caller's object is untouched
 * (and may be frozen). Call {@link schemaProblem} first for schemas you did not write.
 */
export function compileSchema(schema: object): CompiledSchema {
  const validator = new Validator(JSON.parse(JSON.stringify(schema)) as object, '2020-12', false);
  return {
    validate(value) {
      const result = validator.validate(value);
      return result.valid ? [] : leafViolations(result.errors);
    },
  };
}

/**
 * Why `schema` is not a usable JSON Schema, or null. Checks the keywords the validator knows
 * against their allowed shapes (a `type` it has never heard of, `minimum: "x"`, `required: "a"`,
 * a `pattern` that is not a regular expression, `items` as an array instead of `prefixItems`),
 * refuses `$dynamicRef`/`$dynamicAnchor` (the validator would silently ignore them), and runs
 * the schema once so a `$ref` at its root that points nowhere is found now, not at check time.
 */
export function schemaProblem(schema: unknown): string | null {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return 'a schema must be a JSON object';
  }
  const meta = new Validator(metaSchema(), '2020-12', false);
  const problems = leafViolations(meta.validate(schema).errors);
  if (problems.length > 0) return describeViolations(problems, 'schema', 3);
  const unsupported = unsupportedKeyword(schema, '') ?? unresolvedPointer(schema);
  if (unsupported !== null) return unsupported;
  try {
    compileSchema(schema).validate(null);
  } catch (error) {
    return String((error as Error)?.message ?? error).split('\n')[0] ?? 'the schema cannot be evaluated';
  }
  return null;
}

/**
 * "/a: message; (output root): message (and 2 more)": the first `max` violations with their
 * paths. `noun` names what the paths point into ("schema", "output").
 */
export function describeViolations(violations: readonly SchemaViolation[], noun: string, max = 3): string {
  const shown = violations
    .slice(0, max)
    .map((violation) => `${violation.path === '' ? `(${noun} root)` : violation.path}: ${violation.message}`);
  const more = violations.length > max ? ` (and ${violations.length - max} more)` : '';
  return `${shown.join('; ')}${more}`;
}

/** Keywords whose failure only says "a part below did not match"; that part is reported too. */
const WRAPPER_KEYWORDS = new Set([
  'properties',
  'patternProperties',
  'additionalProperties',
  'unevaluatedProperties',
  'dependentSchemas',
  'propertyNames',
  'items',
  'prefixItems',
  'unevaluatedItems',
  'additionalItems',
  '$ref',
  '$recursiveRef',
  'allOf',
  'anyOf',
  'oneOf',
  'then',
  'else',
]);

/**
 * The validator reports every enclosing keyword too ("Property "a" does not match schema."
 * above the real reason). With `shortCircuit` off it always reports the part below as well, so
 * a wrapper with any deeper error is dropped; duplicates are dropped.
 */
function leafViolations(errors: readonly OutputUnit[]): SchemaViolation[] {
  const seen = new Set<string>();
  const leaves: SchemaViolation[] = [];
  for (const error of errors) {
    if (WRAPPER_KEYWORDS.has(error.keyword)) {
      const refined = errors.some(
        (other) =>
          other !== error &&
          (other.instanceLocation.startsWith(`${error.instanceLocation}/`) ||
            other.keywordLocation.startsWith(`${error.keywordLocation}/`)),
      );
      if (refined) continue;
    }
    const violation = {
      path: error.instanceLocation.replace(/^#/, ''),
      // A `false` schema (e.g. under `additionalProperties: false`) admits nothing.
      message: error.keyword === 'false' ? 'not allowed by the schema' : error.error.replace(/\.$/, ''),
    };
    const key = `${violation.path}\u0000${violation.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    leaves.push(violation);
  }
  return leaves;
}

/** `$dynamicRef`/`$dynamicAnchor` anywhere in the schema, which the validator would ignore. */
function unsupportedKeyword(value: unknown, path: string): string | null {
  if (typeof value !== 'object' || value === null) return null;
  for (const [key, item] of Object.entries(value)) {
    const itemPath = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (!Array.isArray(value) && (key === '$dynamicRef' || key === '$dynamicAnchor')) {
      return `${itemPath}: ${key} is not supported by the validator (@cfworker/json-schema); use $ref`;
    }
    const found = unsupportedKeyword(item, itemPath);
    if (found !== null) return found;
  }
  return null;
}

/**
 * A `$ref` that is a JSON Pointer into this schema ("#/$defs/x") and points nowhere. Only for
 * schemas without `$id` (whose base changes what a reference means); others are caught when
 * validation reaches the reference.
 */
function unresolvedPointer(root: object): string | null {
  if (JSON.stringify(root).includes('"$id"')) return null;
  const refs: { path: string; ref: string }[] = [];
  const collect = (value: unknown, path: string): void => {
    if (typeof value !== 'object' || value === null) return;
    for (const [key, item] of Object.entries(value)) {
      const itemPath = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (key === '$ref' && typeof item === 'string' && !Array.isArray(value))
        refs.push({ path: itemPath, ref: item });
      else collect(item, itemPath);
    }
  };
  collect(root, '');
  for (const { path, ref } of refs) {
    if (ref === '#' || !ref.startsWith('#/')) continue;
    let target: unknown = root;
    for (const token of ref.slice(2).split('/')) {
      let key: string;
      try {
        key = decodeURIComponent(token).replaceAll('~1', '/').replaceAll('~0', '~');
      } catch {
        return `${path}: $ref "${ref}" is not a valid URI fragment`;
      }
      target =
        typeof target === 'object' && target !== null && Object.hasOwn(target, key)
          ? (target as Record<string, unknown>)[key]
          : undefined;
      if (target === undefined) return `${path}: $ref "${ref}" points to nothing in this schema`;
    }
  }
  return null;
}

/**
 * The shapes of the keywords @cfworker/json-schema evaluates in draft 2020-12 (a subset of the
 * official meta-schema, which is split over vocabularies and uses $dynamicRef that the
 * validator does not support). A fresh object each call: the validator annotates it.
 */
function metaSchema(): object {
  const schema = { $ref: '#' };
  const schemaArray = { type: 'array', minItems: 1, items: schema };
  const schemaMap = { type: 'object', additionalProperties: schema };
  const nonNegativeInteger = { type: 'integer', minimum: 0 };
  const stringArray = { type: 'array', items: { type: 'string' }, uniqueItems: true };
  const simpleType = { enum: ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'] };
  const string = { type: 'string' };
  const number = { type: 'number' };
  return {
    type: ['object', 'boolean'],
    properties: {
      $id: string,
      $schema: string,
      $ref: string,
      $anchor: string,
      $comment: string,
      $recursiveRef: { const: '#' },
      $recursiveAnchor: { type: 'boolean' },
      $defs: schemaMap,
      definitions: schemaMap,
      type: {
        anyOf: [simpleType, { type: 'array', items: simpleType, minItems: 1, uniqueItems: true }],
      },
      enum: { type: 'array' },
      required: stringArray,
      not: schema,
      if: schema,
      // biome-ignore lint/suspicious/noThenProperty: the JSON Schema keyword, never awaited
      then: schema,
      else: schema,
      allOf: schemaArray,
      anyOf: schemaArray,
      oneOf: schemaArray,
      properties: schemaMap,
      patternProperties: { ...schemaMap, propertyNames: { format: 'regex' } },
      additionalProperties: schema,
      unevaluatedProperties: schema,
      propertyNames: schema,
      dependentSchemas: schemaMap,
      dependentRequired: { type: 'object', additionalProperties: stringArray },
      prefixItems: schemaArray,
      items: schema,
      unevaluatedItems: schema,
      contains: schema,
      minContains: nonNegativeInteger,
      maxContains: nonNegativeInteger,
      minItems: nonNegativeInteger,
      maxItems: nonNegativeInteger,
      uniqueItems: { type: 'boolean' },
      minProperties: nonNegativeInteger,
      maxProperties: nonNegativeInteger,
      minLength: nonNegativeInteger,
      maxLength: nonNegativeInteger,
      minimum: number,
      maximum: number,
      exclusiveMinimum: number,
      exclusiveMaximum: number,
      multipleOf: { type: 'number', exclusiveMinimum: 0 },
      pattern: { type: 'string', format: 'regex' },
      format: string,
    },
  };
}

// What model providers accept in a function tool's input schema, and the view of a tool's
// schema that the model is given. The full schema stays what the agent validates calls with;
// the provider's view only leaves out or fills in what providers reject, so dropping a
// constraint from the view never lets a call through that the full schema refuses.
//
// Sources, read from the installed packages and from the errors OpenAI answers with:
// - @ai-sdk/openai (`normalizeOpenAIJsonSchema`, applied to every function tool of the chat and
//   responses models) removes `propertyNames` and `pattern`s with regex lookaround, logging a
//   "compatibility" warning each time (on every step of every run), and throws
//   UnsupportedFunctionalityError, failing the whole request, for a boolean `propertyNames` or one
//   whose `type` is not "string". It also rewrites a singleton `allOf: [{ $ref }]`, silently.
// - OpenAI's function calling answers HTTP 400 `invalid_function_parameters` for parameters whose
//   root is not `type: "object"`, for an object schema without `properties` and for an array
//   schema without `items`.
// The library does not set `strict` on its tools, so OpenAI's strict-mode subset (every object
// closed, every property required) does not apply.

import { UnsupportedSchemaError } from './unsupported-schema-error.ts';

/** One change made in the provider's view of a schema (never in the schema the agent validates with). */
export interface SchemaAdaptation {
  /** The keyword removed or added, e.g. `propertyNames`. */
  readonly keyword: string;
  /** JSON Pointer of the schema object that held (or received) the keyword; `''` is the root. */
  readonly path: string;
  /** `removed` from the view (the agent still enforces it), or `added` (it changes nothing). */
  readonly action: 'removed' | 'added';
  /** Why, in one sentence. */
  readonly reason: string;
}

/** A keyword that is refused at creation: it cannot be adapted without changing the tool. */
export interface ProviderSchemaProblem {
  /** The refused keyword, e.g. `$ref`. */
  readonly keyword: string;
  /** JSON Pointer of the schema object holding it; `''` is the root. */
  readonly path: string;
  /** Why it is refused and what to write instead. */
  readonly reason: string;
}

/** The provider's view of a tool input schema, from {@link toProviderSchema}. */
export interface ProviderSchema {
  /** The schema to give the model: a new object; the input is not changed. */
  readonly schema: Record<string, unknown>;
  /** What was changed, in document order. Empty when the schema is sent as written. */
  readonly adaptations: readonly SchemaAdaptation[];
  /**
   * Keywords a new tool may not use ({@link checkProviderSchema} throws for the first). They are
   * left out of `schema` too, so a tool stored before this check still reaches the model.
   */
  readonly problems: readonly ProviderSchemaProblem[];
}

/** Schema objects nested deeper than this are refused (flatten with `$defs`/`$ref`). */
export const MAX_SCHEMA_DEPTH = 64;

// Keywords whose value is one subschema, a map of subschemas, or a list of subschemas.
const SINGLE = [
  'additionalProperties',
  'unevaluatedProperties',
  'items',
  'additionalItems',
  'unevaluatedItems',
  'contains',
  'not',
  'if',
  'then',
  'else',
] as const;
const MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'] as const;
const LISTS = ['prefixItems', 'allOf', 'anyOf', 'oneOf'] as const;

const REASONS = {
  propertyNames:
    'OpenAI does not support "propertyNames" (@ai-sdk/openai drops it and logs a warning on every request); the agent still checks property names when the tool is called.',
  lookaround:
    'OpenAI does not support regex lookaround in "pattern" (@ai-sdk/openai drops it and logs a warning on every request); the agent still checks the pattern when the tool is called.',
  rootType: 'OpenAI requires function parameters to be `type: "object"` at the root.',
  properties:
    'OpenAI rejects an object schema without "properties" (HTTP 400 "object schema missing properties"); an empty "properties" accepts the same values.',
  items:
    'OpenAI rejects an array schema without "items" (HTTP 400 "array schema missing items"); "items": {} accepts the same values.',
  propertyNamesType:
    '@ai-sdk/openai fails every request carrying a boolean "propertyNames" or one whose "type" is not "string", and property names are always strings, so this schema only accepts {}. Remove "propertyNames" or give it a string schema such as { "pattern": "^[a-z_]+$" }; for an object without properties write "additionalProperties": false.',
  depth: `Schemas nested deeper than ${MAX_SCHEMA_DEPTH} levels are refused. Flatten the schema: put repeated parts in "$defs" and point to them with "$ref".`,
} as const;

/**
 * The view of a tool input schema that model providers accept (OpenAI function calling, as
 * @ai-sdk/openai sends it), with every change listed. Never throws; the input is not changed.
 *
 * Adapted (the agent keeps validating calls against the full schema):
 * - `propertyNames` (a string schema or `true`): removed.
 * - `pattern` with regex lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`): removed.
 * - no `type` at the root: `type: "object"` added.
 * - an object schema (`type` is or includes `"object"`) without `properties`: `properties: {}` added.
 * - an array schema (`type` is or includes `"array"`) without `items`: `items: {}` added.
 *
 * Refused (listed in `problems`, also left out of `schema`):
 * - `propertyNames: false`, or with a `type` other than `"string"`.
 * - `$ref` that does not start with `#` (a reference outside the schema).
 * - schema objects nested deeper than {@link MAX_SCHEMA_DEPTH} levels.
 *
 * Sent as written: everything else, including `allOf`/`anyOf`/`oneOf`/`not`, `if`/`then`/`else`,
 * `patternProperties`, `additionalProperties` schemas, `format`, `$defs` with local `$ref`.
 *
 * @example
 * ```ts
 * const view = toProviderSchema({
 *   type: 'object',
 *   properties: { tags: { type: 'object', propertyNames: { pattern: '^[a-z]+$' } } },
 * });
 * view.schema; // { type: 'object', properties: { tags: { type: 'object', properties: {} } } }
 * view.adaptations.map((change) => `${change.action} ${change.keyword} at ${change.path}`);
 * // ['removed propertyNames at /properties/tags', 'added properties at /properties/tags']
 * ```
 */
export function toProviderSchema(schema: Record<string, unknown>): ProviderSchema {
  const adaptations: SchemaAdaptation[] = [];
  const problems: ProviderSchemaProblem[] = [];
  const root =
    typeof schema === 'object' && schema !== null && !Array.isArray(schema)
      ? (visit(schema, '', 0, true, adaptations, problems) as Record<string, unknown>)
      : { type: 'object', properties: {} };
  return { schema: root, adaptations, problems };
}

/**
 * Like {@link toProviderSchema}, for a schema about to become a tool's: throws
 * {@link UnsupportedSchemaError} (code `UNSUPPORTED_SCHEMA_KEYWORD`) naming the first refused
 * keyword and its JSON Pointer; otherwise returns the provider's view and its adaptations.
 * `field` names the schema in the message (`inputSchema`, `spec.inputSchema`).
 */
export function checkProviderSchema(schema: Record<string, unknown>, field = 'inputSchema'): ProviderSchema {
  const view = toProviderSchema(schema);
  const [first] = view.problems;
  if (first !== undefined)
    throw new UnsupportedSchemaError({
      field,
      keyword: first.keyword,
      path: first.path,
      reason: first.reason,
    });
  return view;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pointer(path: string, ...tokens: readonly string[]): string {
  return tokens.reduce(
    (result, token) => `${result}/${token.replaceAll('~', '~0').replaceAll('/', '~1')}`,
    path,
  );
}

/** True for a regex with a lookahead or lookbehind group, outside character classes. */
function hasRegexLookaround(pattern: string): boolean {
  let inClass = false;
  for (let index = 0; index < pattern.length; index += 1) {
    const character = pattern[index];
    if (character === '\\') {
      index += 1;
    } else if (inClass) {
      if (character === ']') inClass = false;
    } else if (character === '[') {
      inClass = true;
    } else if (character === '(' && pattern[index + 1] === '?') {
      const next = pattern[index + 2];
      const after = pattern[index + 3];
      if (next === '=' || next === '!' || (next === '<' && (after === '=' || after === '!'))) return true;
    }
  }
  return false;
}

function typesOf(node: Record<string, unknown>): readonly unknown[] {
  return Array.isArray(node.type) ? node.type : [node.type];
}

function visit(
  node: unknown,
  path: string,
  depth: number,
  isRoot: boolean,
  adaptations: SchemaAdaptation[],
  problems: ProviderSchemaProblem[],
): unknown {
  if (!isObject(node)) return node;
  const copy: Record<string, unknown> = { ...node };

  if ('propertyNames' in copy) {
    const names = copy.propertyNames;
    delete copy.propertyNames;
    if (names === false || (isObject(names) && names.type !== undefined && names.type !== 'string')) {
      problems.push({ keyword: 'propertyNames', path, reason: REASONS.propertyNamesType });
    } else {
      adaptations.push({ keyword: 'propertyNames', path, action: 'removed', reason: REASONS.propertyNames });
    }
  }
  if (typeof copy.pattern === 'string' && hasRegexLookaround(copy.pattern)) {
    delete copy.pattern;
    adaptations.push({ keyword: 'pattern', path, action: 'removed', reason: REASONS.lookaround });
  }
  if (typeof copy.$ref === 'string' && !copy.$ref.startsWith('#')) {
    problems.push({
      keyword: '$ref',
      path,
      reason: `Only references inside the schema ("#/$defs/<name>") can be resolved; neither the provider nor the agent fetches ${JSON.stringify(copy.$ref)}. Copy the referenced schema into "$defs" and point "$ref" at it.`,
    });
    delete copy.$ref;
  }
  if (isRoot && copy.type === undefined) {
    copy.type = 'object';
    adaptations.push({ keyword: 'type', path, action: 'added', reason: REASONS.rootType });
  }
  const types = typesOf(copy);
  if (types.includes('object') && copy.properties === undefined) {
    copy.properties = {};
    adaptations.push({ keyword: 'properties', path, action: 'added', reason: REASONS.properties });
  }
  if (types.includes('array') && copy.items === undefined) {
    copy.items = {};
    adaptations.push({ keyword: 'items', path, action: 'added', reason: REASONS.items });
  }

  const child = (value: unknown, keyword: string, childPath: string): unknown => {
    if (!isObject(value)) return value;
    if (depth + 1 > MAX_SCHEMA_DEPTH) {
      problems.push({ keyword, path, reason: REASONS.depth });
      return {};
    }
    return visit(value, childPath, depth + 1, false, adaptations, problems);
  };
  // Subschemas are visited in the order their keywords appear, so the lists read top to bottom.
  for (const keyword of Object.keys(copy)) {
    const value = copy[keyword];
    if ((SINGLE as readonly string[]).includes(keyword)) {
      copy[keyword] = Array.isArray(value)
        ? value.map((item, index) => child(item, keyword, pointer(path, keyword, String(index))))
        : child(value, keyword, pointer(path, keyword));
    } else if ((LISTS as readonly string[]).includes(keyword) && Array.isArray(value)) {
      copy[keyword] = value.map((item, index) => child(item, keyword, pointer(path, keyword, String(index))));
    } else if ((MAPS as readonly string[]).includes(keyword) && isObject(value)) {
      copy[keyword] = Object.fromEntries(
        Object.entries(value).map(([name, item]) => [
          name,
          child(item, keyword, pointer(path, keyword, name)),
        ]),
      );
    } else if (keyword === 'dependencies' && isObject(value)) {
      // Draft 7: a dependency is a list of property names or a subschema.
      copy[keyword] = Object.fromEntries(
        Object.entries(value).map(([name, item]) => [
          name,
          child(item, keyword, pointer(path, keyword, name)),
        ]),
      );
    }
  }
  return copy;
}

import { type CallToolResult, type Tool, ToolSchema } from '@modelcontextprotocol/sdk/types.js';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { isPlainObject, type JsonObject } from '../core/json-value.ts';
import type { ManagedTool } from '../runtime/tool-catalog.ts';
import { toolErrorAnswer } from '../runtime/tool-error-answer.ts';

/**
 * Whether a tool's MCP output is its value wrapped as `{ result }`: when its version declares an
 * output schema that is not an object schema (MCP's `outputSchema` and `structuredContent` are
 * objects), so the advertised schema is the wrapper's.
 */
function wrapsBySchema(tool: ManagedTool): boolean {
  const schema = tool.version.outputSchema;
  return schema !== undefined && schema.type !== 'object';
}

/**
 * Keywords of JSON Schema 2019-09 / 2020-12 that draft-07 validators (the MCP SDK client's Ajv)
 * do not know or read differently (`items` beside `prefixItems`): a client would refuse results
 * the tool's own check accepts, so such an output schema is not advertised.
 */
const NEWER_KEYWORDS = new Set([
  'prefixItems',
  '$dynamicRef',
  '$dynamicAnchor',
  '$recursiveRef',
  '$recursiveAnchor',
  'unevaluatedItems',
  'unevaluatedProperties',
  'dependentSchemas',
  'dependentRequired',
  'minContains',
  'maxContains',
]);

/** Keywords whose value is a map of names to subschemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose value is a subschema (or, for `items`, a list of them in draft-07). */
const SCHEMA_ONE = new Set([
  'items',
  'additionalItems',
  'additionalProperties',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
]);
/** Keywords whose value is a list of subschemas. */
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf']);

/** How {@link forClients} rewrites a schema, and what it reports. */
interface ClientSchemaOptions {
  /** Leave `format` out (output schemas). */
  readonly dropFormat: boolean;
  /** Where local `$ref`s move to (`/properties/result` in a wrapper), or `''`. */
  readonly refPrefix: string;
  /** Receives each keyword of {@link NEWER_KEYWORDS} met at a keyword position. */
  readonly newer?: string[];
}

/**
 * A schema as MCP clients read it, in one walk over its keyword positions: boolean subschemas
 * written as objects (`true` → `{}`, `false` → `{ not: {} }`: MCP's tool schema wants objects),
 * `format` left out of output schemas when `dropFormat` (clients check formats differently from
 * the tool's own check, and would refuse results it accepted), local `$ref`s moved under
 * `refPrefix` when the schema is wrapped, and the newer keywords met listed in `newer`.
 */
function forClients(schema: unknown, options: ClientSchemaOptions): unknown {
  if (schema === true) return {};
  if (schema === false) return { not: {} };
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (NEWER_KEYWORDS.has(key)) options.newer?.push(key);
    if (key === 'format' && options.dropFormat) continue;
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#') && options.refPrefix !== '') {
      out[key] = `#${options.refPrefix}${value.slice(1)}`;
    } else if (SCHEMA_MAPS.has(key) && isPlainObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, inner]) => [name, forClients(inner, options)]),
      );
    } else if (SCHEMA_ONE.has(key) || SCHEMA_LISTS.has(key)) {
      out[key] = Array.isArray(value)
        ? value.map((inner) => forClients(inner, options))
        : forClients(value, options);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/**
 * The output schema a client is given: the tool's own when it is an object schema, else the
 * wrapper `{ type: 'object', properties: { result: schema }, required: ['result'] }` with the
 * schema's local references moved under `/properties/result`; undefined when clients would read it
 * differently from the tool's own check (see {@link NEWER_KEYWORDS}).
 */
function advertisedOutput(tool: ManagedTool): JsonObject | undefined {
  const schema = tool.version.outputSchema;
  if (schema === undefined) return undefined;
  const wraps = wrapsBySchema(tool);
  const { $schema, $id, ...inner } = schema;
  const newer: string[] = [];
  const written = forClients(wraps ? inner : schema, {
    dropFormat: true,
    refPrefix: wraps ? '/properties/result' : '',
    newer,
  }) as JsonObject;
  if (newer.length > 0) return undefined;
  if (!wraps) return written;
  return {
    ...($schema === undefined ? {} : { $schema }),
    type: 'object',
    properties: { result: written },
    required: ['result'],
  };
}

const clientValidator = new AjvJsonSchemaValidator();

/** Whether the SDK client's validator (Ajv, as the client uses it) compiles `schema`. */
function clientCompiles(schema: unknown): boolean {
  try {
    clientValidator.getValidator(schema as never);
    return true;
  } catch {
    return false;
  }
}

/** Listings already built, per version (a version never changes). */
const listed = new WeakMap<object, Tool | null>();

/**
 * A managed tool as MCP lists it: its name, description, its input schema (with `type:
 * 'object'` stated, which MCP requires, and boolean subschemas as objects), and its output schema
 * when its version declares one a client can use (see `advertisedOutput`; left out when the SDK
 * client's validator cannot compile it). `_meta['self-improving-agent/version']` is the active
 * version. Every listing is checked against the MCP SDK's tool schema, so one tool cannot make
 * a client refuse the whole list: undefined when even the listing without output schema fails
 * (the server leaves that tool out and logs why).
 */
export function mcpToolOf(tool: ManagedTool): Tool | undefined {
  const cached = listed.get(tool.version);
  if (cached !== undefined) return cached ?? undefined;
  const inputSchema = {
    ...(forClients(tool.version.inputSchema, { dropFormat: false, refPrefix: '' }) as JsonObject),
    type: 'object',
  } as Tool['inputSchema'];
  const base: Tool = {
    name: tool.name,
    description: tool.description,
    inputSchema,
    _meta: { 'self-improving-agent/version': tool.version.version },
  };
  const output = advertisedOutput(tool);
  const withOutput =
    output !== undefined && clientCompiles(output)
      ? { ...base, outputSchema: output as Tool['outputSchema'] }
      : base;
  const result = ToolSchema.safeParse(withOutput).success
    ? withOutput
    : ToolSchema.safeParse(base).success
      ? base
      : null;
  listed.set(tool.version, result);
  return result ?? undefined;
}

/**
 * A tool's value as an MCP result: `structuredContent` is the value when it is an object, else
 * `{ result: value }` (always so when the declared output schema is not an object schema), and a
 * text block carries the value as JSON for clients that read only text.
 */
export function mcpValueResult(tool: ManagedTool, value: unknown): CallToolResult {
  const json = value === undefined ? null : value;
  const structuredContent = wrapsBySchema(tool) || !isPlainObject(json) ? { result: json } : json;
  return { content: [{ type: 'text', text: JSON.stringify(json) }], structuredContent };
}

/**
 * A failed or refused call as an MCP result (`isError: true`, so the model sees it and can
 * correct itself, as the MCP specification asks for tool and input errors): one text block
 * holding `{ error: { code, message } }`, the same answer `agent.tools()` gives a model.
 */
export function mcpErrorResult(error: Error): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: JSON.stringify({ error: toolErrorAnswer(error) }) }],
  };
}

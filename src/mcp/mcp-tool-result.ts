import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { JsonObject } from '../core/json-value.ts';
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

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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

function usesNewerKeywords(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(usesNewerKeywords);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, inner]) => NEWER_KEYWORDS.has(key) || usesNewerKeywords(inner));
}

/**
 * The wrapper `{ type: 'object', properties: { result: schema }, required: ['result'] }`, with the
 * schema's root-only members (`$defs`, `definitions`, `$schema`, `$id`) kept at the root, so its
 * `#/$defs/…` references still resolve.
 */
function wrapped(schema: JsonObject): JsonObject {
  const { $defs, definitions, $schema, $id, ...inner } = schema;
  return {
    ...($schema === undefined ? {} : { $schema }),
    ...($id === undefined ? {} : { $id }),
    type: 'object',
    properties: { result: inner },
    required: ['result'],
    ...($defs === undefined ? {} : { $defs }),
    ...(definitions === undefined ? {} : { definitions }),
  };
}

/**
 * A managed tool as MCP lists it: its name, description, its real input schema (with
 * `type: 'object'` stated, which MCP requires), and its output schema when its version declares
 * one (wrapped as `{ result }` when it is not an object schema; left out when it uses keywords
 * newer than draft-07, see `NEWER_KEYWORDS`). `_meta['self-improving-agent/version']` is the
 * active version.
 */
export function mcpToolOf(tool: ManagedTool): Tool {
  const outputSchema = tool.version.outputSchema;
  const advertised =
    outputSchema === undefined || usesNewerKeywords(outputSchema)
      ? undefined
      : wrapsBySchema(tool)
        ? wrapped(outputSchema)
        : outputSchema;
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: { ...tool.version.inputSchema, type: 'object' } as Tool['inputSchema'],
    ...(advertised === undefined ? {} : { outputSchema: advertised as Tool['outputSchema'] }),
    _meta: { 'self-improving-agent/version': tool.version.version },
  };
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

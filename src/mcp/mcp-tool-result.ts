import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
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
 * A managed tool as MCP lists it: its name, description, its real input schema, and its output
 * schema when its version declares one (wrapped as `{ result }` when it is not an object schema).
 */
export function mcpToolOf(tool: ManagedTool): Tool {
  const outputSchema = tool.version.outputSchema;
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: tool.version.inputSchema as Tool['inputSchema'],
    ...(outputSchema === undefined
      ? {}
      : {
          outputSchema: (wrapsBySchema(tool)
            ? { type: 'object', properties: { result: outputSchema }, required: ['result'] }
            : outputSchema) as Tool['outputSchema'],
        }),
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
